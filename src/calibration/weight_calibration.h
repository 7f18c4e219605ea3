// Weights are calibrated from their own values, per tensor or per channel. Float scales: MinMax (the
// full range) or MinMSE (the range, shrunk from the full one, with the least squared quantization
// error). Power-of-two scales (when activations use a power-of-two method, as vai_q_onnx does):
// NonOverflow (the finest scale that clips no weight) or MinMSE (the candidate pos0 - 1 .. pos0 + 3
// with the least squared error over the exact values). A bias quantized with scale input x weight is
// then a power of two too.
#pragma once

#include <span>

#include "algorithms/qparams.h"
#include "onnxq/options.h"

namespace onnxq {

enum class WeightScaleMethod { kMinMax, kMinMse, kPowerOfTwoNonOverflow, kPowerOfTwoMinMse };

// WeightCalibrateMethod resolved against the activation method: unset means MinMax, or MinMSE when
// activations use power-of-two MinMSE; a power-of-two activation method makes weight scales powers
// of two (MinMax -> NonOverflow).
WeightScaleMethod WeightScaleMethodOf(const QuantizeOptions& options);

// Parameters of one group of weight values (a whole tensor or one channel).
QuantParams WeightQuantParams(std::span<const float> values, QuantType type, const RangeOptions& options,
                              WeightScaleMethod method);

}  // namespace onnxq
