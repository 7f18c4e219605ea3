// Entropy (KL-divergence) calibration in the style of TensorRT's int8 calibrator: pick the clipping
// threshold whose quantized distribution loses the least information. Pure math, no graph.
//
// 1. The |x| distribution of the histogram is resampled into num_bins equal bins over [0, max|x|]
//    (AbsDistribution): each histogram bin's count is spread uniformly over the part of its interval
//    below max|x| and shared among the target bins in proportion to the overlap.
// 2. For every candidate t = num_quantized_bins .. num_bins (number of bins kept):
//      p = h[0 .. t-1] with the clipped mass h[t ..] added to p[t-1]          (reference)
//      q = h[0 .. t-1] (without the clipped mass) merged into num_quantized_bins groups of t /
//          num_quantized_bins bins each (fractional at the group edges), then expanded back to t
//          bins by spreading each group's mass evenly over the bins where p != 0  (candidate)
//    Both are normalized and smoothed (zero bins get eps = 1e-4, the others are scaled by
//    1 - eps * #zeros so the sum stays 1), and D(t) = KL(p || q) = sum p log(p / q).
//    q is built from the unclipped slice, as TensorRT and ONNX Runtime do: built from p itself, q
//    would equal p at t == num_quantized_bins (groups of one bin) and that candidate would always win.
// 3. t* = argmin D(t) (the smallest t on ties); threshold T = t* * max|x| / num_bins (upper edge of
//    the last kept bin); the range is [-T, T] intersected with the observed [min, max].
//
// Defaults. num_bins = 2048 and num_quantized_bins = 128 follow TensorRT: 1921 candidate thresholds
// from max|x| / 16 to max|x|, each compared with a 128-level (int8 magnitude) quantization.
// ONNX Runtime's tool defaults to 128 / 128: a single candidate (t = num_bins), so its "entropy"
// range is exactly the MinMax range; with num_bins == num_quantized_bins this function gives the
// same. Cost: O(num_bins^2) per tensor (about 4M bin visits at the defaults), no allocation per
// candidate. The histogram's own resolution limits the result: give it several times num_bins bins
// (HistogramOptions{.max_bins = 4 * num_bins}) for the full num_bins resolution.
#pragma once

#include <span>
#include <vector>

#include "algorithms/histogram.h"

namespace onnxq {

struct EntropyOptions {
  int num_bins = 2048;           // resampling bins of |x| over [0, max|x|] (clamped to >= 1)
  int num_quantized_bins = 128;  // quantization levels per side (clamped to [1, num_bins])
};

// Calibrated range; an empty histogram gives [0, 0], an all-zero one [min, max].
ValueRange EntropyRange(const Histogram& histogram, const EntropyOptions& options = {});

// Step 1: the |x| distribution as num_bins masses over [0, max|x|]; sums to total_count().
// Empty for an empty histogram; all mass in bin 0 when max|x| == 0.
std::vector<double> AbsDistribution(const Histogram& histogram, int num_bins);

// Step 2 for one candidate: D(num_kept_bins). Requires 1 <= num_quantized_bins <= num_kept_bins <=
// distribution.size() and a positive total mass.
double ClippingDivergence(std::span<const double> distribution, int num_kept_bins, int num_quantized_bins);

// Steps 2-3: t*, the number of bins kept, in [num_quantized_bins, distribution.size()]. Returns
// distribution.size() when the total mass is zero. Requires 1 <= num_quantized_bins <= size.
int EntropyThresholdBins(std::span<const double> distribution, int num_quantized_bins);

}  // namespace onnxq
