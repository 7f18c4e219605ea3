#pragma once

#include "passes/graph_pass.h"

namespace onnxq {

// fold_shape_computations: the int64 arithmetic exporters write on Shape outputs is worked out, and its
// results become constants where the model's declared shapes fix them.
//
// torch.onnx.export writes a reshape of a tensor as a subgraph that reads the tensor's shape at run
// time, even where only the batch axis varies: shufflenet_v2_x1_0's channel shuffle is
//   s = Shape(x);  n = Gather(s, 0);  c = Div(Gather(s, 1), 2);  h = Gather(s, 2);  w = Gather(s, 3)
//   y = Reshape(x, Concat(Unsqueeze(n), [2], Unsqueeze(c), Unsqueeze(h), Unsqueeze(w)))
// ONNX shape inference cannot see through it (Div takes it out of data propagation), so nothing after
// the first such Reshape has a known rank, and ONNX Runtime then leaves the Convs after it out of its
// channels-last layout: measured, each of shufflenet's quantized Convs there ran 3-4x slower than the
// float one (bench/RESULTS.md).
//
//   Before:  y = Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [2], Unsqueeze(Div(Gather(Shape(x), 1), 2)), ...))
//   After:   y = Reshape(x, [0, 2, 58, 28, 28])          (x: [batch, 116, 28, 28]; 0 copies x's batch)
//
// Values are followed symbolically through Shape, Gather, Unsqueeze, Squeeze, Concat, Slice, Cast,
// Identity and integer Add / Sub / Mul / Div: each element is a number, a named dimension of the
// model (a dim_param such as "batch") or unknown. A node whose every output element is a number
// becomes an initializer. A Reshape whose target holds named dimensions too gets a constant target
// where each named element is the one at the same position of its input's shape (0: copy it, when
// allowzero is 0) and at most one element is left to infer (-1, written or unknown). The
// declared dimensions of the model fix every number, so the model computes the same for every input
// it accepts. Shapes come from ONNX shape inference, run again after each round of folding (a folded
// Reshape gives the tensors after it a shape), up to 128 rounds.
class FoldShapeComputationsPass final : public GraphPass {
 public:
  std::string_view name() const override { return "fold_shape_computations"; }
  std::string_view summary() const override {
    return "turn shape arithmetic on Shape outputs into constants where the declared shapes fix it";
  }
  Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const override;
};

}  // namespace onnxq
