// ONNX's HardSwish (opset 14; what torch.onnx.export writes for nn.Hardswish from opset 14 on) has no
// integer kernel in ONNX Runtime's CPU provider, which runs it in float between a DequantizeLinear and a
// QuantizeLinear: a MobileNetV3 exported at opset 14 or newer ran 1.4x slower quantized than float
// (bench/RESULTS.md). Written out as the product it is defined by,
//   HardSwish(x) = x * max(0, min(1, x / 6 + 1 / 2)) = x * HardSigmoid(x; alpha = 1/6, beta = 1/2)
// it quantizes as the opset-13 exports do: the HardSigmoid becomes a QLinearAdd
// (ExpressHardSigmoidAsAdd) and the product a QLinearMul.
//
//   Before:  y = HardSwish(x)
//   After:   s = HardSigmoid<alpha = 1/6, beta = 1/2>(x)   (a new tensor, typed as x)
//            y = Mul(x, s)                                  (the node keeps its name and output)
//
// Runs before the nodes are marked, where HardSigmoid quantizes as an Add (HardSigmoidQuantizesAsAdd),
// and only when the options name no node or op type to quantize (those lists would not name the new
// HardSigmoid and Mul); a HardSwish that --nodes-to-exclude names (by node or output) stays as it is.
// The function is unchanged: ONNX defines HardSwish as this product.
#pragma once

#include <onnx/onnx_pb.h>

#include "onnxq/options.h"

namespace onnxq {

// Rewrites each default-domain HardSwish of the main graph as above when `options` allow; returns how
// many.
int WriteOutHardSwish(onnx::GraphProto* graph, const QuantizeOptions& options);

}  // namespace onnxq
