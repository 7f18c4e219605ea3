// Cross-layer equalization (CLE) scale factors and their application. Pure math, no graph.
//
// A head layer feeds a tail layer through activations that commute with a positive per-channel scale
// (Relu, PRelu, LeakyRelu; f(s*x) = s*f(x) for s > 0):
//     y = W_tail * f(W_head * x + b_head) + b_tail
// Multiplying the head's output channel i (weight row and bias) by s_i and dividing the tail's input
// channel i by s_i leaves y unchanged. CLE picks s so that both weights have the same per-channel range.
//
// Scale convention (Quark / vai_q_onnx): the head is MULTIPLIED by s and the tail divided. AIMET and the
// DFQ paper write the same factor as S = 1/s (head divided by S).
//
// Pair (two-layer), per shared channel i:
//   r_head_i = max |W_head[output channel i]|     (optionally with the bias column, HeadRangeWithBias)
//   r_tail_i = max |W_tail[input channel i]|      (depthwise tail: its channel i)
//   s_i      = sqrt(r_tail_i / r_head_i)          after which both ranges are sqrt(r_head_i * r_tail_i)
// Triplet (Conv -> depthwise Conv -> Conv, AIMET and Quark agree), per channel i:
//   m0, m1, m2 = ranges of head output ch i, depthwise ch i, tail input ch i;  c = cbrt(m0 * m1 * m2)
//   s12 = m0 / c,  s23 = c / m2
//   W_head /= s12, b_head /= s12, W_dw *= s12 / s23, b_dw /= s23, W_tail[:, i] *= s23
// after which all three ranges are c.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "algorithms/batch_norm_fold.h"

namespace onnxq {

struct PairScaleOptions {
  // Quark CLEScaleUseThreshold / CLEWeightThreshold: channels whose r_head + r_tail is below the
  // threshold are left alone (s = 1), so near-dead channels are not blown up.
  bool use_small_range_threshold = true;
  float small_range_threshold = 0.5F;
};

// s_i = sqrt(r_tail_i / r_head_i). s_i = 1 when either range is 0, when the result is not finite or not
// positive (a NaN or infinite range), and, with the threshold enabled, when r_head_i + r_tail_i <
// small_range_threshold. Empty when the two ranges differ in size.
std::vector<float> PairScales(std::span<const float> head_range, std::span<const float> tail_range,
                              const PairScaleOptions& options = {});

// Quark CLEScaleAppendBias: the head's per-output-channel range with its bias, divided by a shrink
// factor, appended as one more element of each channel:
//   range_i = max(max_j |W[i, j]|, |b'_i| / shrink)
// See BiasShrinkFactor for shrink and for b' (= b except on all-zero channels, where it is 0).
// `head_bias` empty: plain AbsMaxAlongAxis. Empty when the layout is invalid or the bias size differs
// from dims[out_axis].
std::vector<float> HeadRangeWithBias(std::span<const float> head_weight, std::span<const int64_t> dims, int out_axis,
                                     std::span<const float> head_bias);

// The shrink factor of HeadRangeWithBias (2, 5, 10 or 20), reimplemented from Quark's description.
//
// "Element-wise factor" is read the way Quark computes it: the bias is broadcast along each output
// channel, so there is one factor per WEIGHT ELEMENT, factor[i, j] = |b'_i| / |W'[i, j]| (not one per
// channel), and median/mean are taken over all of them. W' and b' replace zeros first, per channel i:
//   - all weights of channel i are 0: b'_i = 0 and every W'[i, j] = 1e-7;
//   - some are 0: each zero becomes min |nonzero W[i, :]|;
//   - then every |W'[i, j]| < 1e-7 becomes 1e-7.
// With B = max |b| (the original bias) and M = max |W'|:
//   B < 10 and B / M < 20:  shrink = 5 if median(factor) > 100 or mean(factor) > 1000, else 2
//   otherwise:              shrink = 20 if median > 30 or mean > 500; 10 if median > 15 or mean > 100;
//                           else 5
// The median of an even count is the mean of the two middle values (numpy). Factors, median and mean
// are computed in double (Quark uses float32), which can only matter exactly at a boundary.
// Returns 1 when the layout or bias size is invalid or the weight is empty.
float BiasShrinkFactor(std::span<const float> head_weight, std::span<const int64_t> dims, int out_axis,
                       std::span<const float> head_bias);

struct TripletScaleFactors {
  std::vector<float> s12;  // between head and depthwise: head /= s12, depthwise *= s12
  std::vector<float> s23;  // between depthwise and tail: depthwise /= s23, tail *= s23
};

// Triplet factors from the three per-channel ranges (see the file comment). Any factor that is NaN,
// infinite or 0 (a zero range) is replaced by 1. Both vectors are empty when the sizes differ.
TripletScaleFactors TripletScales(std::span<const float> head_range, std::span<const float> depthwise_range,
                                  std::span<const float> tail_range);

// The factors the triplet's head and depthwise output channels are multiplied by, 1 / s12 and 1 / s23:
// what their outputs' batch-norm statistics are rescaled by (ScaleBatchNormStats).
struct TripletOutputScales {
  std::vector<float> head;
  std::vector<float> depthwise;
};
TripletOutputScales OutputScalesOf(const TripletScaleFactors& scales);

// One layer of an equalization set: its weight, the axis of the shared channel in that weight (head:
// output channel, tail: input channel, depthwise: axis 0) and its bias (empty: none, or not touched).
struct EqualizedLayer {
  WeightView weight;
  int channel_axis = 0;
  std::span<float> bias = {};
};

// Pair: head weight and bias *= s along head.channel_axis; tail weight /= s along tail.channel_axis.
// tail.bias is not used. Checks all sizes before modifying anything.
EqualizationStatus ApplyPairScales(const EqualizedLayer& head, const EqualizedLayer& tail,
                                   std::span<const float> scales);

// Triplet: head (weight, bias) /= s12; depthwise weight *= s12 / s23, depthwise bias /= s23;
// tail weight *= s23 along tail.channel_axis. tail.bias is not used. Checks all sizes first.
EqualizationStatus ApplyTripletScales(const EqualizedLayer& head, const EqualizedLayer& depthwise,
                                      const EqualizedLayer& tail, const TripletScaleFactors& scales);

// mean |a - b| in double (0 for empty inputs, NaN when the sizes differ). Summed over all Conv / Gemm
// weights before and after a CLE step, it is the "total diff" of the stopping rule.
double MeanAbsDifference(std::span<const float> a, std::span<const float> b);

// ---------------------------------------------------------------------------------------------------
// Stopping rule for iterated CLE (Quark CLESteps / CLETotalLayerDiffThreshold).

inline constexpr int kAdaptiveCleSteps = -1;

struct CleStopOptions {
  // CLESteps: >= 0 runs at most that many steps (0: none); any negative value (kAdaptiveCleSteps) is
  // adaptive: iterate until converged or stagnant. Default 1, the vai_q_onnx / Quark CLESteps default.
  int max_steps = 1;
  // CLETotalLayerDiffThreshold: stop once the total diff of the last non-stagnant step is <= this.
  double total_diff_threshold = 2e-7;
  // A step is stagnant when |diff - reference| <= stagnation_tolerance, where reference is the diff of
  // the last non-stagnant step; stop after max_stagnant_steps stagnant steps in a row.
  double stagnation_tolerance = 1e-9;
  int max_stagnant_steps = 20;
  // Not in Quark: a hard cap for adaptive mode so an oscillating model cannot loop forever.
  int max_adaptive_steps = 1000;
};

enum class CleStopReason { kNotStopped, kStepLimit, kConverged, kStagnated };

// Usage:
//   CleConvergence convergence(options);
//   while (convergence.ShouldContinue()) { run one step; convergence.RecordStep(total_diff); }
// Mirrors Quark's loop: the reference diff starts above any threshold; after each step, if
// |diff - reference| > tolerance the stagnation count resets and reference = diff, otherwise the count
// grows and reference keeps its value. The loop runs while reference > threshold, count <
// max_stagnant_steps and the step cap is not reached.
class CleConvergence {
 public:
  explicit CleConvergence(const CleStopOptions& options = {}) : options_(options) {}

  bool ShouldContinue() const { return StopReason() == CleStopReason::kNotStopped; }
  void RecordStep(double total_diff);

  // Why the loop stops now (kNotStopped while ShouldContinue()). When several conditions hold, the
  // first of converged, stagnated, step limit is reported.
  CleStopReason StopReason() const;
  int steps() const { return steps_; }
  int stagnant_steps() const { return stagnant_steps_; }
  // The diff the threshold is compared with: that of the last non-stagnant step (+inf before any step).
  double reference_diff() const { return reference_diff_; }

 private:
  static constexpr double kNoDiffYet = std::numeric_limits<double>::infinity();

  CleStopOptions options_;
  int steps_ = 0;
  int stagnant_steps_ = 0;
  double reference_diff_ = kNoDiffYet;
};

}  // namespace onnxq
