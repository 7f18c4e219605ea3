#pragma once

#include "passes/graph_pass.h"

namespace onnxq {

// fold_weight_casts: a weight stored in another floating type and read through Cast(to=FLOAT) becomes
// a float32 initializer, so it is quantized like any other weight. Mixed-precision exports store
// every weight this way (IS-Net: float16 initializers, each behind a Cast); the quantizer only reads
// float32 initializers and would leave every such layer float.
//
//   Before:  initializer w: float16[64,3,3,3];  Cast<to=FLOAT>(w) -> w_f;  Conv(x, w_f)
//   After:   initializer w_f: float[64,3,3,3];  Conv(x, w_f)
//
// Formula: w_f = float(w), exact for float16, bfloat16 and float32 sources; double rounds to nearest.
//
// Preconditions (otherwise the Cast stays): a default-domain Cast with to = FLOAT (1) and one input;
// that input is an initializer, or the output of a default-domain Constant node holding a tensor, of
// type FLOAT16, BFLOAT16, DOUBLE or FLOAT, and is no graph input (a graph input may be fed at run time);
// the Cast's output is no graph output (the graph's interface keeps its producers).
//
// The float32 initializer takes the Cast's output name, so readers (subgraphs included) are unchanged.
// The source initializer or Constant goes when nothing else reads it. Run after
// constants_to_initializers.
class FoldWeightCastsPass final : public GraphPass {
 public:
  std::string_view name() const override { return "fold_weight_casts"; }
  std::string_view summary() const override {
    return "turn Cast(to=FLOAT) of float16 / bfloat16 / double weights into float32 initializers";
  }
  Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const override;
};

}  // namespace onnxq
