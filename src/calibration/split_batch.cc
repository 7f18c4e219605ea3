#include "calibration/split_batch.h"

#include <algorithm>
#include <string>

namespace onnxq {
namespace {

// Whether every tensor of `feeds` can be cut along axis 0. A tensor fed whole cannot: its feed holds
// one sample (or several that only run together).
bool CanCut(const Feeds& feeds) {
  return !feeds.empty() &&
         std::all_of(feeds.begin(), feeds.end(), [](const Tensor& t) { return t.batch_axis && !t.shape.empty(); });
}

// Consecutive pieces of `piece` samples, the last one holding what remains. Every tensor has a batch
// axis of `n` samples.
std::vector<Feeds> Cut(const Feeds& feeds, int64_t n, int64_t piece) {
  std::vector<Feeds> pieces(static_cast<size_t>((n + piece - 1) / piece));
  for (const Tensor& t : feeds) {
    const size_t sample_bytes = t.bytes.size() / static_cast<size_t>(n);
    for (size_t p = 0; p < pieces.size(); ++p) {
      const int64_t first = static_cast<int64_t>(p) * piece;
      const int64_t count = std::min(piece, n - first);
      Tensor part{t.name, t.type, t.shape, {}};
      part.shape[0] = count;
      const auto begin = t.bytes.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(first) * sample_bytes);
      part.bytes.assign(begin, begin + static_cast<std::ptrdiff_t>(static_cast<size_t>(count) * sample_bytes));
      pieces[p].push_back(std::move(part));
    }
  }
  return pieces;
}

}  // namespace

Result<std::vector<Feeds>> SplitBatch(Feeds feeds, int64_t batch) {
  const int64_t n = SamplesIn(feeds);
  if (batch <= 0 || n == batch || !CanCut(feeds)) return std::vector<Feeds>{std::move(feeds)};
  if (n % batch != 0) {
    return InvalidArgument("calibration batch of " + std::to_string(n) +
                           " samples cannot be split into the model's fixed batch of " + std::to_string(batch));
  }
  return Cut(feeds, n, batch);
}

std::vector<Feeds> SplitBatchAtMost(Feeds feeds, int64_t max_batch) {
  const int64_t n = SamplesIn(feeds);
  if (max_batch <= 0 || n <= max_batch || !CanCut(feeds)) {
    return std::vector<Feeds>{std::move(feeds)};
  }
  return Cut(feeds, n, max_batch);
}

Feeds FirstSamples(const Feeds& feeds, int64_t count) {
  const int64_t n = SamplesIn(feeds);
  if (count <= 0 || n <= count || !CanCut(feeds)) return feeds;
  Feeds first;
  for (const Tensor& t : feeds) {
    const size_t bytes = t.bytes.size() / static_cast<size_t>(n) * static_cast<size_t>(count);
    Tensor part{t.name, t.type, t.shape, {}};
    part.shape[0] = count;
    part.bytes.assign(t.bytes.begin(), t.bytes.begin() + static_cast<std::ptrdiff_t>(bytes));
    first.push_back(std::move(part));
  }
  return first;
}

}  // namespace onnxq
