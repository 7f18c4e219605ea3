#include "quantizer/pad_depthwise_channels.h"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "ir/graph_view.h"
#include "ir/tensor_util.h"
#include "quantizer/pad_conv_input_channels.h"
#include "quantizer/qdq_nodes.h"

namespace onnxq {
namespace {

constexpr int64_t kGroupMultiple = 16;  // MLAS's symmetric depthwise kernel: channels in multiples of 16

int64_t GroupOf(const onnx::NodeProto& conv) {
  for (const auto& attr : conv.attribute()) {
    if (attr.name() == "group") return attr.i();
  }
  return 1;
}

bool IsConv(const onnx::NodeProto& node) { return node.op_type() == "Conv" && node.domain().empty(); }

// `tensor` with axis `axis` grown to `size`, the new entries `fill`, or without one copies of the last
// entry along the axis (a vector of scales: the new channels' weight and bias scales then keep bias scale
// = input scale x weight scale, which ONNX Runtime's Conv fusion checks).
void PadAxis(onnx::TensorProto* tensor, int axis, int64_t size, std::optional<double> fill) {
  std::vector<int64_t> dims = Dims(*tensor);
  if (dims.empty()) dims = {1};
  int64_t outer = 1;
  int64_t inner = 1;
  for (int d = 0; d < axis; ++d) outer *= dims[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < dims.size(); ++d) inner *= dims[d];
  const int64_t old_size = dims[static_cast<size_t>(axis)];
  dims[static_cast<size_t>(axis)] = size;
  const std::string name = tensor->name();
  const auto grow = [&](const auto& values) {
    using Value = typename std::decay_t<decltype(values)>::value_type;
    std::vector<Value> grown;
    grown.reserve(static_cast<size_t>(outer * size * inner));
    for (int64_t o = 0; o < outer; ++o) {
      const auto begin = values.begin() + o * old_size * inner;
      grown.insert(grown.end(), begin, begin + old_size * inner);
      for (int64_t c = old_size; c < size; ++c) {
        if (fill) {
          grown.insert(grown.end(), static_cast<size_t>(inner), static_cast<Value>(*fill));
        } else {
          grown.insert(grown.end(), begin + (old_size - 1) * inner, begin + old_size * inner);
        }
      }
    }
    return grown;
  };
  if (tensor->data_type() == onnx::TensorProto::FLOAT) {
    *tensor = MakeFloatTensor(name, dims, grow(ToFloats(*tensor).value()));
  } else {
    *tensor = MakeIntTensor(name, tensor->data_type(), dims, grow(ToInt64s(*tensor).value()));
  }
}

void PadOutputs(const QuantizedParameter& weights, const std::optional<QuantizedParameter>& bias, int64_t size) {
  PadAxis(weights.values, 0, size, 0.0);
  if (ElementCount(*weights.scale) > 1) {
    PadAxis(weights.scale, 0, size, std::nullopt);
    PadAxis(weights.zero_point, 0, size, 0.0);
  }
  if (!bias) return;
  PadAxis(bias->values, 0, size, 0.0);
  if (ElementCount(*bias->scale) > 1) {
    PadAxis(bias->scale, 0, size, std::nullopt);
    PadAxis(bias->zero_point, 0, size, 0.0);
  }
}

// The weights and optional bias of a Conv when both are owned and typed as required.
struct ConvParameters {
  QuantizedParameter weights;
  std::optional<QuantizedParameter> bias;
};

std::optional<ConvParameters> ParametersOf(GraphView& graph, const onnx::NodeProto& conv) {
  auto weights = OwnedParameter(graph, conv, 1, onnx::TensorProto::INT8);
  if (!weights) return std::nullopt;
  std::optional<QuantizedParameter> bias;
  if (conv.input_size() > 2 && !conv.input(2).empty()) {
    bias = OwnedParameter(graph, conv, 2, onnx::TensorProto::INT32);
    if (!bias) return std::nullopt;
  }
  return ConvParameters{*weights, bias};
}

// Ops whose output channel c depends only on channel c of their inputs (a constant operand a scalar).
bool IsChannelwise(const onnx::NodeProto& node) {
  static const std::set<std::string> kOps = {"Add",     "Mul",         "Relu",      "Clip",
                                             "Sigmoid", "HardSigmoid", "LeakyRelu", "GlobalAveragePool"};
  return node.domain().empty() && kOps.contains(node.op_type()) && node.output_size() == 1;
}

bool IsPerTensorQdq(const GraphView& graph, const onnx::NodeProto& node) {
  if (node.op_type() != "QuantizeLinear" && node.op_type() != "DequantizeLinear") return false;
  if (!IsQdqDomain(node.domain()) || node.input_size() != 3) return false;
  const auto* scale = graph.Initializer(node.input(1));
  return scale != nullptr && ElementCount(*scale) == 1;
}

// The tensors with a depthwise convolution's C channels that reach it, or that it reaches, through
// per-tensor Q / DQ, channel-wise ops and other depthwise convolutions of C channels, and the Convs at
// the edges: those of group 1 that write such a tensor (their output channels grow) and those that read
// one (their input channels grow). Padded channels then hold values that no output depends on: the
// new filters read nothing, channel-wise ops keep them apart, the readers weigh them by 0.
struct ChannelGroup {
  std::set<int> depthwise;
  std::set<int> writers;
  std::set<int> readers;
};

std::optional<ChannelGroup> GroupAround(const GraphView& graph, int start, int64_t channels) {
  ChannelGroup group;
  std::set<std::string> seen;
  std::vector<std::string> queue;
  const auto add = [&](const std::string& tensor) {
    if (seen.insert(tensor).second) queue.push_back(tensor);
  };
  const auto is_depthwise = [&](const onnx::NodeProto& node) {
    return IsConv(node) && GroupOf(node) == channels && node.output_size() == 1;
  };
  group.depthwise.insert(start);
  add(graph.graph().node(start).input(0));
  add(graph.graph().node(start).output(0));
  // Visits a node that touches a group tensor; false when the group cannot be padded.
  const auto visit = [&](int index, const std::string& tensor) {
    const auto& node = graph.graph().node(index);
    if (IsPerTensorQdq(graph, node)) {
      if (node.input(0) != tensor && node.output(0) != tensor) return false;  // a scale or a zero point
      add(node.input(0));
      add(node.output(0));
      return true;
    }
    if (IsChannelwise(node)) {
      for (const auto& input : node.input()) {
        if (input.empty() || ScalarConstantValue(graph, input)) continue;
        if (graph.IsInitializer(input) || (node.op_type() == "Clip" && input != node.input(0))) return false;
        add(input);
      }
      add(node.output(0));
      return true;
    }
    if (is_depthwise(node)) {
      if (node.input(0) != tensor && node.output(0) != tensor) return false;
      group.depthwise.insert(index);
      add(node.input(0));
      add(node.output(0));
      return true;
    }
    if (IsConv(node) && GroupOf(node) == 1 && node.output_size() == 1) {
      if (node.output(0) == tensor && !group.readers.contains(index)) {
        group.writers.insert(index);
        return true;
      }
      if (node.input(0) == tensor && !group.writers.contains(index)) {
        group.readers.insert(index);
        return true;
      }
    }
    return false;
  };
  while (!queue.empty()) {
    const std::string tensor = queue.back();
    queue.pop_back();
    if (graph.IsGraphOutput(tensor) || graph.ReadBySubgraph(tensor) || graph.IsInitializer(tensor)) {
      return std::nullopt;
    }
    const int producer = graph.Producer(tensor);
    if (producer < 0 || !visit(producer, tensor)) return std::nullopt;
    for (const int reader : graph.Consumers(tensor)) {
      if (!visit(reader, tensor)) return std::nullopt;
    }
  }
  if (group.writers.empty()) return std::nullopt;
  return group;
}

bool PadOne(GraphView& graph, int index, std::set<int>* done) {
  const auto& start = graph.graph().node(index);
  const int64_t channels = GroupOf(start);
  if (done->contains(index) || !IsConv(start) || channels <= 1 || channels % kGroupMultiple == 0 ||
      start.output_size() != 1) {
    return false;
  }
  const auto group = GroupAround(graph, index, channels);
  if (!group) return false;
  done->insert(group->depthwise.begin(), group->depthwise.end());
  // Every parameter first, so that a group is padded whole or not at all.
  std::vector<ConvParameters> grown;  // writers and depthwise convolutions: output channels
  std::vector<QuantizedParameter> read;
  for (const std::set<int>* convs : {&group->writers, &group->depthwise}) {
    for (const int conv : *convs) {
      auto parameters = ParametersOf(graph, graph.graph().node(conv));
      if (!parameters) return false;
      const std::vector<int64_t> dims = Dims(*parameters->weights.values);
      const bool depthwise = convs == &group->depthwise;
      if (dims.size() < 3 || dims[0] != channels || (depthwise && dims[1] != 1)) return false;
      grown.push_back(*parameters);
    }
  }
  for (const int conv : group->readers) {
    const auto weights = OwnedParameter(graph, graph.graph().node(conv), 1, onnx::TensorProto::INT8);
    if (!weights) return false;
    const auto dims = Dims(*weights->values);
    if (dims.size() < 2 || dims[1] != channels) return false;
    read.push_back(*weights);
  }
  const int64_t padded = (channels + kGroupMultiple - 1) / kGroupMultiple * kGroupMultiple;
  for (const auto& parameters : grown) PadOutputs(parameters.weights, parameters.bias, padded);
  for (const auto& weights : read) PadAxis(weights.values, 1, padded, 0.0);
  for (const int conv : group->depthwise) {
    for (auto& attr : *graph.graph().mutable_node(conv)->mutable_attribute()) {
      if (attr.name() == "group") attr.set_i(padded);
    }
  }
  return true;
}

}  // namespace

bool PadsDepthwiseChannels(const QuantizeOptions& options) { return PadsConvInputChannels(options); }

int PadDepthwiseChannels(onnx::GraphProto* graph) {
  GraphView view(graph);
  std::set<int> done;
  int padded = 0;
  for (int i = 0; i < graph->node_size(); ++i) {
    if (PadOne(view, i, &done)) ++padded;
  }
  return padded;
}

}  // namespace onnxq
