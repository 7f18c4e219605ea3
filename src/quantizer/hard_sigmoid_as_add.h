// ONNX Runtime's CPU provider has no integer HardSigmoid (MobileNetV3's HardSwish, x * HardSigmoid(x),
// and its squeeze-excite gates): each one runs in float between a DequantizeLinear and a
// QuantizeLinear. But for alpha > 0
//   HardSigmoid(x) = clip(alpha * x + beta, 0, 1) = alpha * clip(x + beta / alpha, 0, 1 / alpha)
// and QuantizeLinear saturates: when the output's grid starts at 0 (its zero point is the type's
// lowest code) and ends at or below 1,
//   Q(HardSigmoid(x); s, z) = Q(x + beta / alpha; s / alpha, z)      code for code.
// So the HardSigmoid becomes an Add of the constant beta / alpha (a quantized scalar of the input's
// type) whose QuantizeLinear takes scale s / alpha: the runtime fuses DQ -> Add -> Q into QLinearAdd,
// and the DequantizeLinear readers, which keep scale s, read HardSigmoid's values.
//
//   Before:  x_q -> DQ -> HardSigmoid(alpha, beta) -> Q(s, z) -> DQ(s, z) -> ...
//   After:   x_q -> DQ -> Add(DQ(c_q)) -------------> Q(s / alpha, z) -> DQ(s, z) -> ...
//
// Preconditions, per node: HardSigmoid in the default domain with alpha > 0; its input written by a
// DequantizeLinear; its output read by exactly one QuantizeLinear (not a graph output); both 8-bit
// (uint8 or int8, the types the runtime's QLinearAdd takes) and of one type; the Q's scale and zero point
// scalar initializers, zero point at the type's lowest code. Other HardSigmoids are left as they are.
#pragma once

#include <onnx/onnx_pb.h>

#include "onnxq/options.h"

namespace onnxq {

// Whether quantizing with `options` rewrites HardSigmoid with ExpressHardSigmoidAsAdd: Q/DQ placed for
// ONNX Runtime's CPU provider (not an NPU mode), and asymmetric 8-bit activations, whose grid for
// HardSigmoid's output starts at 0.
bool HardSigmoidQuantizesAsAdd(const QuantizeOptions& options);

// Rewrites every HardSigmoid that meets the preconditions; returns how many.
int ExpressHardSigmoidAsAdd(onnx::GraphProto* graph);

}  // namespace onnxq
