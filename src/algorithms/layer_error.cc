#include "algorithms/layer_error.h"

#include "algorithms/qparams.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>

namespace onnxq {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

ValueRange DequantizedRange(int64_t qmin, int64_t qmax, float scale, int64_t zero_point) {
  return {.rmin = static_cast<float>(static_cast<double>(qmin - zero_point) * scale),
          .rmax = static_cast<float>(static_cast<double>(qmax - zero_point) * scale)};
}

void ClipCounts::Add(std::span<const float> x, const ValueRange& range) {
  for (const float v : x) {
    below += v < range.rmin ? 1 : 0;
    above += v > range.rmax ? 1 : 0;
  }
  values += static_cast<int64_t>(x.size());
}

double ClipCounts::Fraction() const {
  return values == 0 ? 0.0 : static_cast<double>(clipped()) / static_cast<double>(values);
}

BinnedValues Rebin(const Histogram& histogram, double lo, double hi, int bins) {
  BinnedValues out{.lo = lo, .hi = hi, .counts = std::vector<double>(static_cast<size_t>(std::max(bins, 1)), 0.0)};
  const auto last = static_cast<double>(out.counts.size() - 1);
  const double width = hi > lo ? (hi - lo) / static_cast<double>(out.counts.size()) : 0.0;
  // The display bin of a value, clamped to [0, last].
  const auto index_of = [&](double x) { return width > 0 ? std::clamp(std::floor((x - lo) / width), 0.0, last) : 0.0; };
  const auto& counts = histogram.counts();
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    const auto count = static_cast<double>(counts[i]);
    // The observed extremes bound the first and last source bins.
    const double a = std::max(histogram.BinLowerEdge(i), static_cast<double>(histogram.min()));
    const double b = std::min(histogram.BinUpperEdge(i), static_cast<double>(histogram.max()));
    const double first = index_of(a);
    const double end = index_of(b);
    if (width <= 0 || first == end || b <= a) {
      out.counts[static_cast<size_t>(first)] += count;
      continue;
    }
    for (auto j = static_cast<size_t>(first); j <= static_cast<size_t>(end); ++j) {
      // Overlap of [a, b] with display bin j; the first and last display bins reach to infinity.
      const double bin_lo = j == 0 ? -kInf : lo + width * static_cast<double>(j);
      const double bin_hi = static_cast<double>(j) == last ? kInf : lo + width * static_cast<double>(j + 1);
      const double overlap = std::min(b, bin_hi) - std::max(a, bin_lo);
      if (overlap > 0) out.counts[j] += count * overlap / (b - a);
    }
  }
  return out;
}

namespace {

// Channels and the values of a channel's run along `axis`; nullopt when the parameters do not fit.
struct ChannelLayout {
  int64_t channels = 1;
  int64_t inner = 1;
};

std::optional<ChannelLayout> LayoutOf(std::span<const int64_t> dims, size_t scales, size_t zero_points, int64_t axis) {
  if (scales == 0 || (zero_points != 0 && zero_points != scales)) return std::nullopt;
  ChannelLayout layout;
  if (scales > 1) {
    if (axis < 0) axis += static_cast<int64_t>(dims.size());
    if (axis < 0 || axis >= static_cast<int64_t>(dims.size())) return std::nullopt;
    layout.channels = dims[static_cast<size_t>(axis)];
    if (layout.channels != static_cast<int64_t>(scales)) return std::nullopt;
    for (size_t d = static_cast<size_t>(axis) + 1; d < dims.size(); ++d) layout.inner *= dims[d];
  }
  return layout;
}

}  // namespace

std::vector<float> DequantizeCodes(std::span<const int64_t> q, std::span<const int64_t> dims,
                                   std::span<const float> scales, std::span<const int64_t> zero_points, int64_t axis) {
  const auto layout = LayoutOf(dims, scales.size(), zero_points.size(), axis);
  if (!layout) return {};
  std::vector<float> out(q.size());
  for (size_t i = 0; i < q.size(); ++i) {
    const auto c = static_cast<size_t>((static_cast<int64_t>(i) / layout->inner) % layout->channels);
    out[i] = DequantizeValue(q[i], {.scale = scales[c], .zero_point = zero_points.empty() ? 0 : zero_points[c]});
  }
  return out;
}

std::vector<int64_t> QuantizeCodes(std::span<const float> values, std::span<const int64_t> dims,
                                   std::span<const float> scales, std::span<const int64_t> zero_points, int64_t axis,
                                   int64_t qmin, int64_t qmax) {
  const auto layout = LayoutOf(dims, scales.size(), zero_points.size(), axis);
  if (!layout) return {};
  std::vector<int64_t> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const auto c = static_cast<size_t>((static_cast<int64_t>(i) / layout->inner) % layout->channels);
    out[i] = QuantizeValue(values[i], {.scale = scales[c], .zero_point = zero_points.empty() ? 0 : zero_points[c]},
                           {.qmin = qmin, .qmax = qmax});
  }
  return out;
}

}  // namespace onnxq
