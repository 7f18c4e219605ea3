#pragma once

#include "passes/graph_pass.h"

namespace onnxq {

// replace_clip6_with_relu: ReLU6 exported as Clip(0, 6) becomes Relu, and so does a Clip with min 0
// and no max (vai_q_onnx / Quark ReplaceClip6Relu; AIMET replace_relu6_with_relu). Cross-layer
// equalization needs it: Relu commutes with a positive per-channel scale, Clip(0, 6) does not.
//
//   Before:  y = Clip(x, 0, 6)        or  y = Clip(x, 0)
//   After:   y = Relu(x)
//
// Clip(x, 0) -> Relu preserves the function exactly. Clip(x, 0, 6) -> Relu does not: values above 6
// are no longer clipped (DFQ reports this as harmless for trained MobileNetV2, and the quantizer's
// activation range still comes from calibration).
//
// Preconditions: default-domain Clip whose bounds are constant (attributes before opset 11; inputs
// that are initializers, Constant nodes or Identity nodes of them from opset 11), min exactly 0 and max
// exactly 6, +inf or absent. Other Clips stay.
class ReplaceClip6WithReluPass final : public GraphPass {
 public:
  std::string_view name() const override { return "replace_clip6_with_relu"; }
  std::string_view summary() const override { return "replace Clip(0, 6) and Clip(0, no max) with Relu"; }
  Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const override;
};

}  // namespace onnxq
