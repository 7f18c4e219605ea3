#pragma once

#include "passes/graph_pass.h"

namespace onnxq {

// convert_reduce_mean_to_gap: a ReduceMean over the two spatial axes of an NCHW tensor becomes a
// GlobalAveragePool, the op an NPU compiler maps to its pooling engine (vai_q_onnx / Quark
// ConvertReduceMeanToGlobalAvgPool). Both average each (n, c) plane into y: [N, C, 1, 1], so the
// function is the same.
//
//   Before:  y = ReduceMean<axes = [2, 3], keepdims = 1>(x)          x: rank 4 (before opset 18)
//            y = ReduceMean<keepdims = 1>(x, axes)                   axes a constant [2, 3] (from 18)
//   After:   y = GlobalAveragePool(x)
//
//   y[n, c, 0, 0] = 1 / (H W) sum_{h, w} x[n, c, h, w]
//
// Preconditions: default domain; axes {2, 3} in any order, as the attribute or a constant input,
// negative ones counted from the back of the known rank (-2, -1); the input's rank known to be 4 (shape
// inference) and its type float32, float16 or double (GlobalAveragePool's); keepdims 1 (the default).
// Other ReduceMeans stay; one over axes {2, 3} that fails a precondition, or whose axes are not
// constant, stays with a note. An axes constant nothing else reads is removed.
class ConvertReduceMeanToGapPass final : public GraphPass {
 public:
  std::string_view name() const override { return "convert_reduce_mean_to_gap"; }
  std::string_view summary() const override {
    return "ReduceMean over H and W of a rank-4 tensor -> GlobalAveragePool (ConvertReduceMeanToGlobalAvgPool)";
  }
  Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const override;
};

}  // namespace onnxq
