#include "algorithms/percentile.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace onnxq {
namespace {

// Rank (1-based) of the value at which the CDF reaches `fraction`: ceil(fraction * total), at least
// 1, with products within rounding noise of an integer (0.95 * 100 = 95.00000000000001) taken as
// that integer.
int64_t RankAt(double fraction, int64_t total) {
  const double rank = fraction * static_cast<double>(total);
  const double nearest = std::nearbyint(rank);
  const double rounded = std::fabs(rank - nearest) <= 1e-9 * std::max(1.0, rank) ? nearest : std::ceil(rank);
  return std::clamp(static_cast<int64_t>(rounded), int64_t{1}, total);
}

// Index of the bin holding the rank-th smallest value.
std::size_t BinOfRank(const std::vector<int64_t>& counts, int64_t rank) {
  int64_t cumulative = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    if (cumulative >= rank) return i;
  }
  return counts.size() - 1;
}

}  // namespace

ValueRange PercentileRange(const Histogram& histogram, const PercentileOptions& options) {
  if (histogram.empty()) return {};
  const double keep = std::clamp(options.percentile, 0.0, 100.0) / 100.0;
  const int64_t total = histogram.total_count();
  const float lo = histogram.min();
  const float hi = histogram.max();

  if (options.symmetric) {
    const AbsHistogram folded = histogram.FoldedAbs();
    const std::size_t j = BinOfRank(folded.counts, RankAt(keep, total));
    const double edge = static_cast<double>(folded.first_bin_index + static_cast<int64_t>(j) + 1) * folded.bin_width;
    const float threshold = std::min(static_cast<float>(edge), folded.max_abs);
    return {std::max(lo, -threshold), std::min(hi, threshold)};
  }

  const double cut = (1.0 - keep) / 2.0;
  const std::vector<int64_t>& counts = histogram.counts();
  const std::size_t low_bin = BinOfRank(counts, RankAt(cut, total));
  const std::size_t high_bin = BinOfRank(counts, RankAt(1.0 - cut, total));
  const auto rmin = static_cast<float>(histogram.BinLowerEdge(low_bin));
  const auto rmax = static_cast<float>(histogram.BinUpperEdge(high_bin));
  return {std::clamp(rmin, lo, hi), std::clamp(rmax, lo, hi)};
}

}  // namespace onnxq
