// Phase 3 of quantization, QDQ format: the one place that edits the graph. For every planned tensor
// it inserts QuantizeLinear -> DequantizeLinear (activations) or a quantized initializer ->
// DequantizeLinear (weights, int32 biases), rewires consumers, and removes folded Relu / Clip nodes.
//
//   Before:  X -> Conv(W, B) -> Y -> Relu -> R
//   After:   X -> Q -> DQ -> Conv(DQ(W_quantized), DQ(B_quantized)) -> R -> Q -> DQ -> ...
//
// The Q/DQ nodes are in `options.domain`: the default domain, or ONNX Runtime's com.microsoft (whose
// opset import, version 1, is then added to the model). Nothing else differs between the two.
#pragma once

#include <onnx/onnx_pb.h>

#include "onnxq/status.h"
#include "quantizer/quant_plan.h"

namespace onnxq {

struct MaterializeOptions {
  QdqDomain domain = QdqDomain::kOnnx;
};

Status MaterializeQdq(const QuantPlan& plan, onnx::ModelProto* model, const MaterializeOptions& options = {});

}  // namespace onnxq
