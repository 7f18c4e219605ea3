// A quantized Add of a constant right after a Conv or Gemm folds into that layer's int32 bias. Its
// main use is the HardSigmoid that ExpressHardSigmoidAsAdd wrote as an Add of beta / alpha: in
// MobileNetV3's squeeze-excite gates it follows the second 1 x 1 convolution, where it was one more
// QLinearAdd on a [1, C, 1, 1] tensor (ONNX Runtime's float graph fuses it into the Conv); folded, the
// clip still comes from the QuantizeLinear's saturation, and the gate is one QLinearConv.
//
//   Before:  y = Conv(x, W, DQ(b; s_b)) -> Q(s1, z1) -> DQ -> Add(DQ(c)) -> Q(s2, z2) -> ...
//   After:   y = Conv(x, W, DQ(b + round(c / s_b); s_b)) -------------------> Q(s2, z2) -> ...
//
// Conv(x, W, b) + c = Conv(x, W, b + c) exactly; the codes differ only by the rounding of c / s_b (at
// most half a bias step, s_b = input scale x weight scale) and by the dropped requantization to (s1, z1),
// one rounding fewer.
//
// Preconditions: the Conv / Gemm in the default domain with an int32 bias owned through its
// DequantizeLinear (zero points 0; per-tensor or per-output-channel scales); y, the Q / DQ pair and the
// Add each read only by the next node; the constant a scalar (a quantized scalar initializer or a float
// one); the Add's output read only by a QuantizeLinear of the first's 8-bit type; the new bias in int32.
#pragma once

#include <onnx/onnx_pb.h>

#include "onnxq/options.h"

namespace onnxq {

// Whether quantizing with `options` runs FoldOffsetsIntoBiases: Q/DQ placed for ONNX Runtime's CPU
// provider, not an NPU mode (whose bias positions follow the DPU's rules).
bool FoldsOffsetsIntoBiases(const QuantizeOptions& options);

// Rewrites every Add that meets the preconditions; returns how many.
int FoldOffsetsIntoBiases(onnx::GraphProto* graph);

}  // namespace onnxq
