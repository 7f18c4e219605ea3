// The numbers of the per-layer error report (onnxq/layer_report.h), on plain arrays: what part of a
// tensor's values a quantization range clips, its histogram re-binned for display, and the values a
// quantized initializer stands for. Pure math, no graph.
//
//   range of a quantized tensor   [ (qmin - zp) * scale, (qmax - zp) * scale ]
//   clipped                       values x < range.rmin or x > range.rmax (NaN never counts)
//   dequantized                   x' = (q - zp[c]) * scale[c],  c = the index along `axis` (per channel)
//                                 or 0 (per tensor)
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "algorithms/histogram.h"

namespace onnxq {

// The real values a quantized tensor of integer range [qmin, qmax] can hold: the first and last
// dequantized codes.
ValueRange DequantizedRange(int64_t qmin, int64_t qmax, float scale, int64_t zero_point);

// Counts the values outside [range.rmin, range.rmax], streaming (one Add per batch).
struct ClipCounts {
  int64_t below = 0;
  int64_t above = 0;
  int64_t values = 0;  // every value added, NaN included

  void Add(std::span<const float> x, const ValueRange& range);
  int64_t clipped() const { return below + above; }
  // clipped / values; 0 with no values.
  double Fraction() const;
};

// A histogram of `bins` equal bins over [lo, hi], for a plot.
struct BinnedValues {
  double lo = 0;
  double hi = 0;
  std::vector<double> counts;  // fractional where a source bin straddles two display bins
};

// `histogram`'s counts spread over `bins` equal bins on [lo, hi] (bins >= 1, lo < hi): each source bin
// adds its count to the display bins it overlaps, in proportion to the overlap (values are taken as
// uniform inside a bin); the part outside [lo, hi] goes to the first or last bin. The counts sum to
// histogram.total_count(). With lo >= hi everything goes to one bin.
BinnedValues Rebin(const Histogram& histogram, double lo, double hi, int bins);

// The float values of integer codes `q` of a tensor of `dims`: per tensor (one scale and zero point,
// axis ignored) or per channel along `axis` (scales.size() == dims[axis], zero_points empty or of the
// same size). An empty zero_points means zero. Empty when the sizes do not fit.
std::vector<float> DequantizeCodes(std::span<const int64_t> q, std::span<const int64_t> dims,
                                   std::span<const float> scales, std::span<const int64_t> zero_points, int64_t axis);

// The codes of `values` as QuantizeLinear computes them, per tensor or per channel as DequantizeCodes
// takes its parameters: clamp(round_half_even(x / scale[c]) + zp[c], qmin, qmax). Empty when the
// sizes do not fit.
std::vector<int64_t> QuantizeCodes(std::span<const float> values, std::span<const int64_t> dims,
                                   std::span<const float> scales, std::span<const int64_t> zero_points, int64_t axis,
                                   int64_t qmin, int64_t qmax);

}  // namespace onnxq
