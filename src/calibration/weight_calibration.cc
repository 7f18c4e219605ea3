#include "calibration/weight_calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "algorithms/power_of_two.h"
#include "calibration/calibrator.h"

namespace onnxq {
namespace {

// Float MinMSE: the full range shrunk by 1 - i / kShrinkSteps, i = 0 .. kShrinkCandidates - 1
// (down to about half of it).
constexpr int kShrinkSteps = 64;
constexpr int kShrinkCandidates = 33;

void FiniteMinMax(std::span<const float> values, float* lo, float* hi) {
  *lo = 0.0F;
  *hi = 0.0F;
  bool any = false;
  for (const float x : values) {
    if (!std::isfinite(x)) continue;
    *lo = any ? std::min(*lo, x) : x;
    *hi = any ? std::max(*hi, x) : x;
    any = true;
  }
}

}  // namespace

WeightScaleMethod WeightScaleMethodOf(const QuantizeOptions& options) {
  const CalibrationMethod activation = options.calibration.method;
  const WeightCalibrationMethod weight = options.weight_calibrate_method.value_or(
      activation == CalibrationMethod::kMinMSE ? WeightCalibrationMethod::kMinMSE : WeightCalibrationMethod::kMinMax);
  if (IsPowerOfTwoMethod(activation)) {
    return weight == WeightCalibrationMethod::kMinMSE ? WeightScaleMethod::kPowerOfTwoMinMse
                                                      : WeightScaleMethod::kPowerOfTwoNonOverflow;
  }
  return weight == WeightCalibrationMethod::kMinMSE ? WeightScaleMethod::kMinMse : WeightScaleMethod::kMinMax;
}

QuantParams WeightQuantParams(std::span<const float> values, QuantType type, const RangeOptions& options,
                              WeightScaleMethod method) {
  float lo = 0.0F;
  float hi = 0.0F;
  FiniteMinMax(values, &lo, &hi);
  switch (method) {
    case WeightScaleMethod::kMinMax:
      return ComputeQuantParams(lo, hi, type, options);
    case WeightScaleMethod::kMinMse: {
      const IntRange range = QuantRange(type, options);
      QuantParams best = ComputeQuantParams(lo, hi, type, options);
      double best_loss = std::numeric_limits<double>::infinity();
      for (int i = 0; i < kShrinkCandidates; ++i) {
        const float f = 1.0F - static_cast<float>(i) / kShrinkSteps;
        const QuantParams params = ComputeQuantParams(lo * f, hi * f, type, options);
        const double loss = SquaredQuantError(values, params, range);
        if (loss < best_loss) {  // strict: ties keep the wider range
          best_loss = loss;
          best = params;
        }
      }
      return best;
    }
    case WeightScaleMethod::kPowerOfTwoNonOverflow:
      return PowerOfTwoQuantParams(NonOverflowPos(lo, hi, type, options), lo, hi, type, options);
    case WeightScaleMethod::kPowerOfTwoMinMse:
      return PowerOfTwoQuantParams(MinMsePos(values, type, options), lo, hi, type, options);
  }
  return ComputeQuantParams(lo, hi, type, options);
}

}  // namespace onnxq
