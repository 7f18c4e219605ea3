#include "calibration/split_batch.h"

#include <algorithm>
#include <string>

namespace onnxq {
namespace {

int64_t SamplesIn(const Feeds& feeds) { return feeds.empty() || feeds[0].shape.empty() ? 1 : feeds[0].shape[0]; }

// Consecutive pieces of `piece` samples, the last one holding what remains.
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
  if (batch <= 0 || n == batch) return std::vector<Feeds>{std::move(feeds)};
  if (n % batch != 0) {
    return InvalidArgument("calibration batch of " + std::to_string(n) +
                           " samples cannot be split into the model's fixed batch of " + std::to_string(batch));
  }
  return Cut(feeds, n, batch);
}

std::vector<Feeds> SplitBatchAtMost(Feeds feeds, int64_t max_batch) {
  const int64_t n = SamplesIn(feeds);
  if (max_batch <= 0 || n <= max_batch || feeds.empty() || feeds[0].shape.empty()) {
    return std::vector<Feeds>{std::move(feeds)};
  }
  return Cut(feeds, n, max_batch);
}

}  // namespace onnxq
