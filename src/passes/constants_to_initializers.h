#pragma once

#include "passes/graph_pass.h"

namespace onnxq {

// constants_to_initializers: Constant nodes become initializers, so weights held in Constant nodes
// (common in exported models) are quantized like any other weight.
//
//   Before:  Constant(value=T) -> w;  Conv(x, w)
//   After:   initializer w = T;       Conv(x, w)
//
// Handles the value, value_float(s) and value_int(s) forms; sparse and string constants stay.
class ConstantsToInitializersPass final : public GraphPass {
 public:
  std::string_view name() const override { return "constants_to_initializers"; }
  std::string_view summary() const override { return "turn Constant nodes into initializers"; }
  Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const override;
};

}  // namespace onnxq
