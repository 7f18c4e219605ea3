#include "quantizer/op_quantizers.h"

#include <limits>
#include <map>

#include "ir/tensor_util.h"

namespace onnxq {
namespace {

bool IsFloat(const GraphView& graph, const std::string& tensor) {
  // Unknown types (shape inference gave up) are tried: calibration finds out at run time.
  const int32_t type = graph.ElemType(tensor);
  return type == onnx::TensorProto::FLOAT || type == onnx::TensorProto::UNDEFINED;
}

MarkResult StayFloat(std::string reason) { return {std::nullopt, std::move(reason)}; }

// Intent for an input that is either a run-time activation or a constant (quantized as a weight,
// per-tensor, from its own values).
TensorIntent InputIntent(const GraphView& graph, const std::string& tensor) {
  TensorIntent intent{.tensor = tensor};
  if (graph.IsInitializer(tensor)) intent.role = TensorRole::kWeight;
  return intent;
}

MarkResult CheckFloatIo(const GraphView& graph, const onnx::NodeProto& node, size_t inputs) {
  for (size_t i = 0; i < inputs && i < static_cast<size_t>(node.input_size()); ++i) {
    const std::string& in = node.input(static_cast<int>(i));
    if (!in.empty() && !IsFloat(graph, in)) return StayFloat("input '" + in + "' is not float32");
  }
  if (node.output_size() == 0 || !IsFloat(graph, node.output(0))) return StayFloat("output is not float32");
  return {};
}

// Input 2 is a constant bias next to a constant weight: it can become int32.
bool HasConstantBias(const GraphView& graph, const onnx::NodeProto& node, const TensorIntent& weight) {
  return node.input_size() > 2 && !node.input(2).empty() && graph.IsInitializer(node.input(2)) &&
         weight.role == TensorRole::kWeight;
}

// The int32 bias of Conv / Gemm: scale = scale(input 0) x scale(input 1).
TensorIntent BiasIntent(const onnx::NodeProto& node) {
  return {
      .tensor = node.input(2), .role = TensorRole::kBias, .bias_input = node.input(0), .bias_weight = node.input(1)};
}

// Conv, ConvTranspose: X activation, W weight (per-channel along the output-channel axis), B int32 bias.
MarkResult MarkConv(const GraphView& graph, int index) {
  const auto& node = graph.graph().node(index);
  if (node.input_size() < 2) return StayFloat("has no weight input");
  if (auto r = CheckFloatIo(graph, node, 2); !r.reason.empty()) return r;
  NodeMark mark{.node = index};
  mark.intents.push_back({.tensor = node.input(0)});
  const bool transpose = node.op_type() == "ConvTranspose";
  const int64_t group = AttrInt(node, "group", 1);
  TensorIntent weight = InputIntent(graph, node.input(1));
  // ConvTranspose weights are [C_in, C_out / group, k...]: per-channel only when group == 1.
  weight.channel_axis = transpose ? (group == 1 ? 1 : -1) : 0;
  mark.intents.push_back(weight);
  if (HasConstantBias(graph, node, weight)) mark.intents.push_back(BiasIntent(node));
  mark.intents.push_back({.tensor = node.output(0)});
  return {mark, {}};
}

MarkResult MarkGemm(const GraphView& graph, int index) {
  const auto& node = graph.graph().node(index);
  if (auto r = CheckFloatIo(graph, node, 2); !r.reason.empty()) return r;
  NodeMark mark{.node = index};
  if (AttrInt(node, "transA", 0) != 0) return StayFloat("transA=1 is not quantized");
  mark.intents.push_back(InputIntent(graph, node.input(0)));
  TensorIntent weight = InputIntent(graph, node.input(1));
  weight.channel_axis = AttrInt(node, "transB", 0) != 0 ? 0 : 1;
  mark.intents.push_back(weight);
  // Gemm adds C as alpha * A B + beta * C: an int32 bias needs a 1-D C and unit alpha and beta.
  if (HasConstantBias(graph, node, weight) && graph.Initializer(node.input(2))->dims_size() == 1 &&
      AttrFloat(node, "beta", 1.0F) == 1.0F && AttrFloat(node, "alpha", 1.0F) == 1.0F) {
    mark.intents.push_back(BiasIntent(node));
  }
  mark.intents.push_back({.tensor = node.output(0)});
  return {mark, {}};
}

MarkResult MarkMatMul(const GraphView& graph, int index) {
  const auto& node = graph.graph().node(index);
  if (auto r = CheckFloatIo(graph, node, 2); !r.reason.empty()) return r;
  NodeMark mark{.node = index};
  mark.intents.push_back(InputIntent(graph, node.input(0)));
  TensorIntent b = InputIntent(graph, node.input(1));
  if (b.role == TensorRole::kWeight && graph.Initializer(node.input(1))->dims_size() == 2) b.channel_axis = 1;
  mark.intents.push_back(b);
  mark.intents.push_back({.tensor = node.output(0)});
  return {mark, {}};
}

// Every float input and the output get their own calibrated parameters.
MarkResult MarkAllInputs(const GraphView& graph, int index) {
  const auto& node = graph.graph().node(index);
  if (auto r = CheckFloatIo(graph, node, static_cast<size_t>(node.input_size())); !r.reason.empty()) return r;
  NodeMark mark{.node = index};
  for (const auto& in : node.input()) {
    if (!in.empty()) mark.intents.push_back(InputIntent(graph, in));
  }
  mark.intents.push_back({.tensor = node.output(0)});
  return {mark, {}};
}

// Ops that only move or select values: the output reuses the input's parameters, so the runtime can
// run them directly on integers.
MarkResult MarkSharedWithInput(const GraphView& graph, int index) {
  const auto& node = graph.graph().node(index);
  if (auto r = CheckFloatIo(graph, node, 1); !r.reason.empty()) return r;
  if (graph.IsInitializer(node.input(0))) return StayFloat("data input is a constant");
  NodeMark mark{.node = index};
  mark.intents.push_back({.tensor = node.input(0)});
  mark.intents.push_back({.tensor = node.output(0), .share_with = node.input(0)});
  return {mark, {}};
}

// Single-input ops with their own output range (Sigmoid, Softmax, AveragePool ...).
MarkResult MarkUnary(const GraphView& graph, int index) {
  const auto& node = graph.graph().node(index);
  if (auto r = CheckFloatIo(graph, node, 1); !r.reason.empty()) return r;
  NodeMark mark{.node = index};
  mark.intents.push_back({.tensor = node.input(0)});
  mark.intents.push_back({.tensor = node.output(0)});
  return {mark, {}};
}

// Relu and Clip: quantized like a unary op; with an asymmetric activation type they may fold into the
// producer's output range (decided once ranges are known).
MarkResult MarkClippingActivation(const GraphView& graph, int index) {
  MarkResult result = MarkUnary(graph, index);
  if (!result.mark) return result;
  const auto& node = graph.graph().node(index);
  float lo = 0.0F;
  float hi = std::numeric_limits<float>::infinity();
  if (node.op_type() == "Clip") {
    lo = AttrFloat(node, "min", -std::numeric_limits<float>::infinity());
    hi = AttrFloat(node, "max", std::numeric_limits<float>::infinity());
    auto bound = [&](int input, float* value) {
      if (node.input_size() <= input || node.input(input).empty()) return true;
      const auto* init = graph.Initializer(node.input(input));
      if (init == nullptr) return false;
      const auto values = ToFloats(*init);
      if (!values.ok() || values->size() != 1) return false;
      *value = (*values)[0];
      return true;
    };
    if (!bound(1, &lo) || !bound(2, &hi)) return result;  // dynamic bounds: keep the node
  }
  const int producer = graph.Producer(node.input(0));
  if (producer >= 0 && graph.Consumers(node.input(0)).size() == 1 && !graph.IsGraphOutput(node.input(0))) {
    result.mark->foldable_activation = true;
    result.mark->fold_producer = producer;
    result.mark->clip_min = lo;
    result.mark->clip_max = hi;
  }
  return result;
}

const std::map<std::string, OpQuantizer>& Registry() {
  static const std::map<std::string, OpQuantizer> registry = {
      {"Conv", MarkConv},
      {"ConvTranspose", MarkConv},
      {"Gemm", MarkGemm},
      {"MatMul", MarkMatMul},
      {"Add", MarkAllInputs},
      {"Mul", MarkAllInputs},
      {"Concat", MarkAllInputs},
      {"Relu", MarkClippingActivation},
      {"Clip", MarkClippingActivation},
      {"MaxPool", MarkSharedWithInput},
      {"Reshape", MarkSharedWithInput},
      {"Flatten", MarkSharedWithInput},
      {"Transpose", MarkSharedWithInput},
      {"Squeeze", MarkSharedWithInput},
      {"Unsqueeze", MarkSharedWithInput},
      {"Resize", MarkSharedWithInput},
      {"AveragePool", MarkUnary},
      {"GlobalAveragePool", MarkUnary},
      {"Sigmoid", MarkUnary},
      {"Softmax", MarkUnary},
  };
  return registry;
}

}  // namespace

OpQuantizer FindOpQuantizer(const std::string& op_type) {
  const auto& registry = Registry();
  const auto it = registry.find(op_type);
  return it == registry.end() ? nullptr : it->second;
}

std::vector<std::string> SupportedOpTypes() {
  std::vector<std::string> types;
  for (const auto& [type, fn] : Registry()) types.push_back(type);
  return types;
}

}  // namespace onnxq
