#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "passes/graph_pass.h"

namespace onnxq {

// convert_float16_to_float: a model that computes in float16 computes in float32 instead, keeping
// float16 graph inputs and outputs, so the quantizer (which quantizes float32 tensors) sees every layer.
//
//   Before:  X: float16 -> Conv(X, W: float16, B: float16) -> Y: float16
//   After:   X: float16 -> Cast<to=FLOAT> -> X_float -> Conv(X_float, W: float, B: float) -> Y_float
//                       -> Cast<to=FLOAT16> -> Y: float16
//
// Formula: every float16 value v becomes float(v), which is exact; the float32 model computes what
// the float16 one computes, with fewer rounding steps.
//
// Rewrites, in the graph and in every subgraph (If / Loop / Scan bodies):
//   - float16 initializers (and sparse initializers' values) become float32;
//   - TENSOR / TENSORS attributes holding float16 (Constant, ConstantOfShape `value`) become float32,
//     and `dtype` = FLOAT16 of RandomNormal(Like), RandomUniform(Like), EyeLike and Bernoulli FLOAT;
//   - Cast<to=FLOAT16> and Cast<to=FLOAT> of a float16 or float32 tensor are removed (readers read
//     the input); another Cast<to=FLOAT16> becomes Cast<to=FLOAT>; one that writes a graph output
//     stays, as the output's cast (float16 exports with float32 interfaces: X -> Cast<to=FLOAT16>,
//     float16 layers, Cast<to=FLOAT> -> Y, and float32 islands such as Resize between two casts);
//   - float16 types in value_info (and subgraph inputs and outputs) become float32;
//   - each float16 graph input X gets a Cast<to=FLOAT> right after it, read instead of X; each float16
//     graph output Y is written as Y_float and cast to float16 right before the output.
//
// Precondition to run at all (otherwise the model is left unchanged): the main graph computes in
// float16, i.e. a node other than Cast reads a float16 tensor (initializer, graph input, value_info
// entry, output of a Cast<to=FLOAT16> or of a node with a float16 tensor attribute), or a float16 graph
// output is written by a node other than Cast. A model whose only float16 tensors are weights read
// through Cast<to=FLOAT> is left to fold_weight_casts.
class ConvertFloat16ToFloatPass final : public GraphPass {
 public:
  std::string_view name() const override { return "convert_float16_to_float"; }
  std::string_view summary() const override {
    return "compute in float32 a model that computes in float16, keeping its float16 inputs and outputs";
  }
  Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const override;
};

// Graph inputs and outputs a prepared model declares float32 where the original declared float16.
// Calibration data is float32, so PrepareModel computes the interface in float32 and the quantizer
// restores it at the end.
struct Float16Interface {
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  bool empty() const { return inputs.empty() && outputs.empty(); }
};

// Makes float16 graph inputs and outputs float32 where a Cast is all that separates them from float32
// computation, removing that Cast:
//   X: float16 -> Cast<to=FLOAT> -> X_float -> ...       becomes   X: float -> ...
//   ... -> Y_float: float -> Cast<to=FLOAT16> -> Y: float16  becomes   ... -> Y: float
// An input qualifies when every reader is such a Cast (none writing a graph output); an output when
// its producer is such a Cast of a tensor typed float32 that is no graph input, initializer or other
// graph output. Returns what changed, for RestoreFloat16Interface.
Float16Interface ExposeFloatInterface(onnx::ModelProto& model);

// The inverse, on a possibly rewritten (quantized) graph: each listed input is declared float16 again
// and its readers read a Cast<to=FLOAT> of it; each listed output is written under a new name and cast
// to float16 into the output.
Status RestoreFloat16Interface(const Float16Interface& interface, onnx::ModelProto& model);

}  // namespace onnxq
