#include "calibration/split_batch.h"

#include <string>

namespace onnxq {

Result<std::vector<Feeds>> SplitBatch(Feeds feeds, int64_t batch) {
  const int64_t n = feeds.empty() || feeds[0].shape.empty() ? 1 : feeds[0].shape[0];
  if (batch <= 0 || n == batch) return std::vector<Feeds>{std::move(feeds)};
  if (n % batch != 0) {
    return InvalidArgument("calibration batch of " + std::to_string(n) +
                           " samples cannot be split into the model's fixed batch of " + std::to_string(batch));
  }
  std::vector<Feeds> pieces(static_cast<size_t>(n / batch));
  for (const Tensor& t : feeds) {
    const size_t piece_bytes = t.bytes.size() / pieces.size();
    for (size_t p = 0; p < pieces.size(); ++p) {
      Tensor piece{t.name, t.type, t.shape, {}};
      piece.shape[0] = batch;
      piece.bytes.assign(t.bytes.begin() + static_cast<std::ptrdiff_t>(p * piece_bytes),
                         t.bytes.begin() + static_cast<std::ptrdiff_t>((p + 1) * piece_bytes));
      pieces[p].push_back(std::move(piece));
    }
  }
  return pieces;
}

}  // namespace onnxq
