// Power-of-two scales for NPU targets: scale = 2^-pos, "pos" being the number of fractional bits
// (vai_q_onnx / Quark naming). Pure math, no graph; zero points come from PowerOfTwoQuantParams
// (qparams.h): the RangeOptions choice when symmetric, round(qmin - min(rmin, 0) / scale) when not.
//
// Three ways to choose pos:
//   NonOverflowPos  the finest scale at which nothing in [rmin, rmax] saturates.
//   RoundPos        the reference tools' rint(-log2(s)) of the float scale s of ComputeQuantParams;
//                   2^-pos can be up to sqrt(2) smaller than s, clipping up to ~41% of the range.
//   MinMsePos       the candidate around RoundPos with the smallest squared quantization error,
//                   trading clipping against rounding (Quark's MinMSE: pos0 - 1 .. pos0 + 3).
//                   MostCommonPos combines per-batch choices ("MostCommon" mode).
//
// pos is kept in [kMinPos, kMaxPos] = [-127, 127]: scales 2^127 down to 2^-127.
// All functions require an integer QuantType and finite ranges.
#pragma once

#include <map>
#include <span>

#include "algorithms/histogram.h"
#include "algorithms/qparams.h"

namespace onnxq {

inline constexpr int kMinPos = -127;
inline constexpr int kMaxPos = 127;

// 2^-pos.
float PosToScale(int pos);
// rint(-log2(scale)) with scale clamped to [2^-127, 2^127]; a non-positive or NaN scale gives kMaxPos.
int ScaleToPos(float scale);

// ScaleToPos(ComputeQuantParams(rmin, rmax, type, options).scale). A degenerate range gets scale 1,
// so pos 0.
int RoundPos(float rmin, float rmax, QuantType type, const RangeOptions& options);

// Largest pos in [kMinPos, kMaxPos] at which neither rmin nor rmax (hence no value between them,
// rounding being monotone) quantizes outside [qmin, qmax] with the zero point of
// PowerOfTwoQuantParams; checked with QuantizeValue's own arithmetic (round half to even), so
// values that land exactly on qmax + 0.5 are handled exactly. This is the "no clipping" guarantee
// the reference tools' NonOverflow name promises but their rint() does not give. The search starts at
// RoundPos and moves one step at a time. An all-zero range never overflows at any pos; it gets 0
// (scale 1, as ComputeQuantParams gives a degenerate range) rather than VAI's 127, whose subnormal
// scale 2^-127 would make bias scales (input scale * weight scale) underflow.
int NonOverflowPos(float rmin, float rmax, QuantType type, const RangeOptions& options);

struct MinMseOptions {
  int candidates_below = 1;  // coarser scales tried: pos0 - 1 ...
  int candidates_above = 3;  // finer scales tried: ... pos0 + 3
};

// Squared quantization error sum of the finite values for power-of-two position `pos` with zero
// point `zero_point`: sum (x - FakeQuantize(x))^2, computed with exact power-of-two arithmetic in
// vectorizable float loops (the same quantized values as QuantizeValue for 8- and 16-bit ranges).
double PowerOfTwoSquaredError(std::span<const float> values, int pos, int64_t zero_point, const IntRange& range);

struct PosCandidate {
  int pos = 0;
  int64_t zero_point = 0;
  // False only when every value is known to lie within the grid at this position (nothing to clamp).
  bool may_clip = true;
};
inline constexpr int kMaxCandidates = 8;  // that one pass of PowerOfTwoSquaredErrors takes

// PowerOfTwoSquaredError of every candidate (at most kMaxCandidates) in one pass over the values:
// losses[i] is candidates[i]'s.
void PowerOfTwoSquaredErrors(std::span<const float> values, std::span<const PosCandidate> candidates,
                             const IntRange& range, std::span<double> losses);

// The position in [first, last] whose grid (zero point as PowerOfTwoQuantParams(pos, lo, hi) gives it)
// quantizes the finite `values` with the smallest squared error; ties keep the smaller pos (the
// coarser scale). [lo, hi] holds every finite value. PowerOfTwoSquaredErrors, kMaxCandidates
// positions a pass.
int LeastSquaredErrorPos(std::span<const float> values, int first, int last, float lo, float hi, QuantType type,
                         const RangeOptions& options);

// Squared quantization error sum (x - FakeQuantize(x))^2 over the finite values.
double SquaredQuantError(std::span<const float> values, const QuantParams& params, const IntRange& range);
// The same over a histogram: each bin counts as its values all sitting at the centre of the part of
// the bin inside the observed [min, max] (so a one-value histogram is exact).
double SquaredQuantError(const Histogram& histogram, const QuantParams& params, const IntRange& range);

// Sum of squares of the histogram's values, each bin's at the centre SquaredQuantError puts them: the
// signal that error is measured against.
double SquaredSignal(const Histogram& histogram);

// 10 log10(SquaredSignal / SquaredQuantError) of the histogram on the grid of each pos in [first, last]
// (within [kMinPos, kMaxPos]), the zero point as PowerOfTwoQuantParams(pos, rmin, rmax) gives it:
// +inf without error, -inf with error and no signal. [rmin, rmax] is the calibrated range.
std::map<int, double> PowerOfTwoSqnrByPos(const Histogram& histogram, float rmin, float rmax, int first, int last,
                                          QuantType type, const RangeOptions& options);

// pos0 = RoundPos(min, max); among pos0 - candidates_below .. pos0 + candidates_above (within
// [kMinPos, kMaxPos]) the pos with the smallest SquaredQuantError, the zero point fixed per
// candidate as PowerOfTwoQuantParams(pos, min, max) gives it; ties go to the smaller pos (coarser
// scale, less clipping). An empty histogram gives RoundPos(0, 0) = 0.
int MinMsePos(const Histogram& histogram, QuantType type, const RangeOptions& options,
              const MinMseOptions& mse_options = {});
// The same, exact, on raw values (weights, or one calibration batch for MostCommonPos); min and max
// are those of the finite values.
int MinMsePos(std::span<const float> values, QuantType type, const RangeOptions& options,
              const MinMseOptions& mse_options = {});

// The most frequent pos (ties: the smallest); 0 for an empty list.
int MostCommonPos(std::span<const int> per_batch_pos);

}  // namespace onnxq
