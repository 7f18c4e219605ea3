#pragma once

#include "passes/graph_pass.h"

namespace onnxq {

// convert_split_to_slice: a Split becomes one Slice per output, the form an NPU compiler maps
// (vai_q_onnx / Quark ConvertSplitToSlice). Each Slice copies the same elements its output held, so the
// function is the same.
//
//   Before:  y_0, ..., y_{n-1} = Split<axis>(x)                      sizes s_0, ..., s_{n-1} along axis
//   After:   y_i = Slice(x, starts = [o_i], ends = [o_i + s_i], axes = [axis]),  o_i = s_0 + ... + s_{i-1}
//
// The sizes: the `split` attribute (before opset 13) or the constant `split` input (from 13); absent,
// equal parts of the axis's known length L: L / n each (L divisible by n), or with opset 18's
// num_outputs ceil(L / n) each and the rest last.
//
// Preconditions: default domain; opset >= 10 (Slice takes its bounds as inputs from 10); the sizes
// known as above, as many as outputs, none negative, and summing to L where L is known; a negative
// axis normalized with the input's known rank, or kept negative from opset 11 (Slice reads it the same
// way). Otherwise the Split stays, with a note. starts and ends are int64 [1] initializers per output,
// axes one per Split; a sizes constant nothing else reads is removed. Each Slice writes its Split
// output, so readers and value_info stay valid.
class ConvertSplitToSlicePass final : public GraphPass {
 public:
  std::string_view name() const override { return "convert_split_to_slice"; }
  std::string_view summary() const override { return "Split -> one Slice per output (ConvertSplitToSlice)"; }
  Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const override;
};

}  // namespace onnxq
