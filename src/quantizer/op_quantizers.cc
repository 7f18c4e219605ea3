#include "quantizer/op_quantizers.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "algorithms/raw_weights.h"
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

// A constant holding inf or NaN (an additive -inf mask) has no integer grid: the node stays float.
MarkResult CheckFiniteConstants(const GraphView& graph, const onnx::NodeProto& node) {
  for (const auto& in : node.input()) {
    const auto* init = in.empty() ? nullptr : graph.Initializer(in);
    if (init == nullptr) continue;
    if (HoldsNonFinite(*init)) {
      return StayFloat("constant '" + in + "' holds non-finite values, which no integer grid can hold");
    }
  }
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
  if (auto r = CheckFiniteConstants(graph, node); !r.reason.empty()) return r;
  NodeMark mark{.node = index};
  for (const auto& in : node.input()) {
    if (!in.empty()) mark.intents.push_back(InputIntent(graph, in));
  }
  mark.intents.push_back({.tensor = node.output(0)});
  return {mark, {}};
}

// Ops that only move or select values: every float output reuses the input's parameters, so the
// runtime can run them directly on integers. All of Split's outputs share; an output that is not
// float (MaxPool's int64 Indices) is left alone. Extra inputs (shapes, indices, pads, repeats) are
// integers and never marked.
MarkResult MarkSharedWithInput(const GraphView& graph, int index) {
  const auto& node = graph.graph().node(index);
  if (auto r = CheckFloatIo(graph, node, 1); !r.reason.empty()) return r;
  if (graph.IsInitializer(node.input(0))) return StayFloat("data input is a constant");
  NodeMark mark{.node = index};
  mark.intents.push_back({.tensor = node.input(0)});
  for (const auto& out : node.output()) {
    if (!out.empty() && IsFloat(graph, out)) mark.intents.push_back({.tensor = out, .share_with = node.input(0)});
  }
  return {mark, {}};
}

// Single-input ops with their own output range (Sigmoid, Softmax, AveragePool, LayerNormalization
// ...). Only input 0 and output 0 are marked: LayerNormalization's and InstanceNormalization's scale
// and bias stay float, as in ONNX Runtime's QDQ normalization (the runtime has no integer kernel for
// them, the Q/DQ around X and Y let the neighbours run in 8 bits).
MarkResult MarkUnary(const GraphView& graph, int index) {
  const auto& node = graph.graph().node(index);
  if (auto r = CheckFloatIo(graph, node, 1); !r.reason.empty()) return r;
  if (graph.IsInitializer(node.input(0))) return StayFloat("data input is a constant");
  NodeMark mark{.node = index};
  mark.intents.push_back({.tensor = node.input(0)});
  mark.intents.push_back({.tensor = node.output(0)});
  return {mark, {}};
}

// Gather, GatherElements: the indices stay integers. Gathering from an activation selects its
// values, so the output shares its parameters. Gathering from an initializer (an embedding table)
// quantizes the table as a per-tensor weight; the output gets a calibrated range of its own, because
// a shared source's parameters carry its role, and a weight's role on an activation would send the
// materializer looking for an initializer.
MarkResult MarkGather(const GraphView& graph, int index) {
  const auto& node = graph.graph().node(index);
  if (node.input_size() < 2) return StayFloat("has no indices input");
  if (!graph.IsInitializer(node.input(0))) return MarkSharedWithInput(graph, index);
  if (auto r = CheckFloatIo(graph, node, 1); !r.reason.empty()) return r;
  if (auto r = CheckFiniteConstants(graph, node); !r.reason.empty()) return r;
  NodeMark mark{.node = index};
  mark.intents.push_back({.tensor = node.input(0), .role = TensorRole::kWeight});
  mark.intents.push_back({.tensor = node.output(0)});
  return {mark, {}};
}

// Pad: edge and reflect padding repeat input values, and constant padding with 0 adds a value every
// activation grid holds exactly (ranges are widened to contain 0), so the output shares the input's
// parameters. Another constant, or one known only at run time, may lie off the input's grid: the
// output then gets its own range. `pads` and `constant_value` stay as they are.
MarkResult MarkPad(const GraphView& graph, int index) {
  const auto& node = graph.graph().node(index);
  const auto* mode = FindAttr(node, "mode");
  bool pads_with_zero = true;
  if (mode == nullptr || mode->s() == "constant") {
    if (node.input_size() > 2 && !node.input(2).empty()) {
      const auto* init = graph.Initializer(node.input(2));
      const auto values = init != nullptr ? ToFloats(*init) : Result<std::vector<float>>(std::vector<float>{});
      pads_with_zero = values.ok() && values->size() == 1 && (*values)[0] == 0.0F;
    } else {
      pads_with_zero = AttrFloat(node, "value", 0.0F) == 0.0F;  // opset < 11
    }
  }
  return pads_with_zero ? MarkSharedWithInput(graph, index) : MarkUnary(graph, index);
}

// Where: input 0 is a bool condition; X (input 1) and Y (input 2) and the output are quantized, as
// in ONNX Runtime's QDQ Where.
MarkResult MarkWhere(const GraphView& graph, int index) {
  const auto& node = graph.graph().node(index);
  if (node.input_size() < 3) return StayFloat("has fewer than 3 inputs");
  for (const int i : {1, 2}) {
    if (!IsFloat(graph, node.input(i))) return StayFloat("input '" + node.input(i) + "' is not float32");
  }
  if (node.output_size() == 0 || !IsFloat(graph, node.output(0))) return StayFloat("output is not float32");
  if (auto r = CheckFiniteConstants(graph, node); !r.reason.empty()) return r;
  NodeMark mark{.node = index};
  mark.intents.push_back(InputIntent(graph, node.input(1)));
  mark.intents.push_back(InputIntent(graph, node.input(2)));
  mark.intents.push_back({.tensor = node.output(0)});
  return {mark, {}};
}

// Div: the numerator and the quotient are quantized, the divisor is not. An error e in the divisor d
// becomes a relative error e / d of the quotient, unbounded as d nears 0, and a small divisor on an
// 8-bit grid can round to 0 (an infinite quotient). ONNX Runtime has no integer Div either, so the
// node runs in float between the Q/DQ of its numerator and quotient. (A divisor written by a
// quantized op is still read through that op's Q/DQ: this marker only never asks for one.)
MarkResult MarkDiv(const GraphView& graph, int index) {
  const auto& node = graph.graph().node(index);
  if (auto r = CheckFloatIo(graph, node, 2); !r.reason.empty()) return r;
  if (auto r = CheckFiniteConstants(graph, node); !r.reason.empty()) return r;
  NodeMark mark{.node = index};
  mark.intents.push_back(InputIntent(graph, node.input(0)));
  mark.intents.push_back({.tensor = node.output(0)});
  return {mark, {}};
}

// Pow: the base and the result are quantized, the exponent stays float. Only a constant exponent of
// at least 1 (x^2 of a variance, x^3 of a tanh-GELU) is quantized: below 1 the result's error grows
// without bound as the base nears 0 (x^0.5 is Sqrt, x^-1 is Reciprocal), which is why those stay
// float too.
MarkResult MarkPow(const GraphView& graph, int index) {
  const auto& node = graph.graph().node(index);
  if (node.input_size() < 2) return StayFloat("has no exponent input");
  const auto* exponent = graph.Initializer(node.input(1));
  if (exponent == nullptr) {
    return StayFloat("the exponent is not a constant, and an exponent below 1 amplifies the base's error near 0");
  }
  const auto values = ToFloats(*exponent);
  if (!values.ok() || values->empty() ||
      !std::all_of(values->begin(), values->end(), [](float e) { return std::isfinite(e) && e >= 1.0F; })) {
    return StayFloat("an exponent below 1 amplifies the base's error near 0 (like Sqrt and Reciprocal)");
  }
  return MarkUnary(graph, index);
}

// ArgMax, ArgMin: only the data input is quantized; the output is int64.
MarkResult MarkArgMax(const GraphView& graph, int index) {
  const auto& node = graph.graph().node(index);
  if (node.input_size() == 0 || !IsFloat(graph, node.input(0))) return StayFloat("data input is not float32");
  if (graph.IsInitializer(node.input(0))) return StayFloat("data input is a constant");
  NodeMark mark{.node = index};
  mark.intents.push_back({.tensor = node.input(0)});
  return {mark, {}};
}

MarkResult MarkClippingActivation(const GraphView& graph, int index);

// True when the producer's quantizer gives `tensor` parameters of its own. A Relu / Clip folds by
// letting its producer's output carry the clipped range; an output that shares its input's parameters
// (Transpose, MaxPool, Split ...) keeps its input's grid, so negatives would pass where the Relu was.
bool ProducerOwnsRange(const GraphView& graph, int producer, const std::string& tensor) {
  const auto& node = graph.graph().node(producer);
  if (!node.domain().empty() && node.domain() != "ai.onnx") return false;
  const OpQuantizer quantizer = FindOpQuantizer(node.op_type());
  if (quantizer == nullptr) return false;
  if (quantizer == MarkClippingActivation) return true;  // an own range, and no walk up a Relu chain
  const MarkResult result = quantizer(graph, producer);
  return result.mark && std::any_of(result.mark->intents.begin(), result.mark->intents.end(), [&](const auto& intent) {
           return intent.tensor == tensor && intent.role == TensorRole::kActivation && intent.share_with.empty();
         });
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
  if (producer >= 0 && graph.Consumers(node.input(0)).size() == 1 && !graph.IsGraphOutput(node.input(0)) &&
      ProducerOwnsRange(graph, producer, node.input(0))) {
    result.mark->foldable_activation = true;
    result.mark->fold_producer = producer;
    result.mark->clip_min = lo;
    result.mark->clip_max = hi;
  }
  return result;
}

const std::map<std::string, OpQuantizer>& Registry() {
  static const std::map<std::string, OpQuantizer> registry = {
      // Weights, with an int32 bias where there is one.
      {"Conv", MarkConv},
      {"ConvTranspose", MarkConv},
      {"Gemm", MarkGemm},
      {"MatMul", MarkMatMul},  // two activations (attention) are both quantized as activations
      // Every float input and the output with ranges of their own; constants become weights.
      {"Add", MarkAllInputs},
      {"Mul", MarkAllInputs},
      {"Sub", MarkAllInputs},
      {"Max", MarkAllInputs},
      {"Min", MarkAllInputs},
      {"Concat", MarkAllInputs},
      {"Einsum", MarkAllInputs},
      {"PRelu", MarkAllInputs},  // a constant slope is a per-tensor weight
      {"Where", MarkWhere},
      {"Div", MarkDiv},
      {"Pow", MarkPow},
      // Input 0 and an output range of their own.
      {"AveragePool", MarkUnary},
      {"GlobalAveragePool", MarkUnary},
      {"Sigmoid", MarkUnary},
      {"Softmax", MarkUnary},
      {"Tanh", MarkUnary},
      {"Erf", MarkUnary},
      {"Gelu", MarkUnary},  // default domain from opset 20
      {"LeakyRelu", MarkUnary},
      {"HardSigmoid", MarkUnary},
      {"HardSwish", MarkUnary},
      {"LayerNormalization", MarkUnary},
      {"InstanceNormalization", MarkUnary},
      {"Relu", MarkClippingActivation},
      {"Clip", MarkClippingActivation},
      {"ArgMax", MarkArgMax},
      {"ArgMin", MarkArgMax},
      // Data movement and selection: outputs share input 0's parameters.
      {"MaxPool", MarkSharedWithInput},
      {"GlobalMaxPool", MarkSharedWithInput},
      {"ReduceMax", MarkSharedWithInput},
      {"ReduceMin", MarkSharedWithInput},
      {"Reshape", MarkSharedWithInput},
      {"Flatten", MarkSharedWithInput},
      {"Transpose", MarkSharedWithInput},
      {"Squeeze", MarkSharedWithInput},
      {"Unsqueeze", MarkSharedWithInput},
      {"Resize", MarkSharedWithInput},
      {"Split", MarkSharedWithInput},
      {"Slice", MarkSharedWithInput},
      {"DepthToSpace", MarkSharedWithInput},
      {"SpaceToDepth", MarkSharedWithInput},
      {"Tile", MarkSharedWithInput},
      {"Expand", MarkSharedWithInput},
      {"Pad", MarkPad},
      {"Gather", MarkGather},
      {"GatherElements", MarkGather},
  };
  return registry;
}

// Op types of real networks that onnxq leaves float on purpose, and why.
const std::map<std::string, std::string>& FloatReasons() {
  static const std::string kRecurrent = "recurrent ops stay float (ONNX Runtime has no QDQ kernel for them)";
  static const std::string kNoFloatData = "computes shapes, indices or masks, not float values: nothing to quantize";
  static const std::string kComparison = "produces a bool mask: quantizing its inputs would only move the threshold";
  static const std::map<std::string, std::string> reasons = {
      {"LSTM", kRecurrent},
      {"GRU", kRecurrent},
      {"RNN", kRecurrent},
      // Ops whose error is relative to their input: an 8-bit grid, uniform over the whole range, rounds
      // small inputs to 0 or to steps as large as the inputs themselves.
      {"Log",
       "Log stays float: its error is relative to its input, and an 8-bit grid rounds small inputs to 0 "
       "(-inf) or to steps as large as the inputs"},
      {"ReduceMean",
       "ReduceMean stays float: ONNX Runtime has no integer kernel for it, and in a LayerNorm written out "
       "(ReduceMean, Sub, Pow, Sqrt, Div) an 8-bit mean and variance cost accuracy and save nothing"},
      {"Reciprocal",
       "Reciprocal stays float: an input rounded on an 8-bit grid can become 0 (an infinite "
       "result), and the result's relative error is the input's"},
      {"Sqrt",
       "Sqrt stays float: its slope is unbounded near 0, so an input step s becomes an error of up to "
       "sqrt(s)"},
      {"Exp",
       "Exp stays float: its output spans orders of magnitude, which one uniform 8-bit grid cannot hold, "
       "and an input step s becomes a relative error of e^s - 1"},
      {"BatchNormalization",
       "BatchNormalization that no pass folded into a Conv stays float (ConvertBNToConv "
       "turns it into a quantizable depthwise Conv)"},
      {"Dropout", "Dropout does nothing at inference: nothing to quantize"},
      {"Identity", "Identity kept at a graph output by eliminate_identity: nothing to quantize"},
      {"Cast", "Cast only changes the element type: nothing to quantize (the ops on its float side are)"},
      {"Shape", kNoFloatData},
      {"Size", kNoFloatData},
      {"ConstantOfShape", kNoFloatData},
      {"Range", kNoFloatData},
      {"NonZero", kNoFloatData},
      {"Equal", kComparison},
      {"Greater", kComparison},
      {"GreaterOrEqual", kComparison},
      {"Less", kComparison},
      {"LessOrEqual", kComparison},
      {"Not", kNoFloatData},
      {"And", kNoFloatData},
      {"Or", kNoFloatData},
  };
  return reasons;
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

std::string UnquantizedReason(const std::string& op_type) {
  const auto& reasons = FloatReasons();
  const auto it = reasons.find(op_type);
  return it != reasons.end() ? it->second : "op type " + op_type + " is not quantized by onnxq";
}

bool HoldsNonFinite(const onnx::TensorProto& init) {
  if (init.data_type() == onnx::TensorProto::FLOAT && init.has_raw_data() &&
      static_cast<int64_t>(init.raw_data().size()) == ElementCount(init) * static_cast<int64_t>(sizeof(float))) {
    return !AllFiniteOfRaw(init.raw_data());
  }
  const auto values = ToFloats(init);
  return values.ok() && !std::all_of(values->begin(), values->end(), [](float v) { return std::isfinite(v); });
}

}  // namespace onnxq
