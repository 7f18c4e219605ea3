#include "quantizer/pad_depthwise_channels.h"

#include <cstdint>
#include <optional>
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

bool PadOne(GraphView& graph, int index) {
  auto& depthwise = *graph.graph().mutable_node(index);
  const int64_t channels = GroupOf(depthwise);
  if (!IsConv(depthwise) || channels <= 1 || channels % kGroupMultiple == 0 || depthwise.output_size() != 1) {
    return false;
  }
  const auto own = ParametersOf(graph, depthwise);
  if (!own) return false;
  const std::vector<int64_t> dims = Dims(*own->weights.values);
  if (dims.size() < 3 || dims[0] != channels || dims[1] != 1) return false;
  // Before: P -> Q -> DQ -> depthwise.
  const auto* input_dq = DequantizeWriting(graph, depthwise.input(0));
  if (input_dq == nullptr || OnlyReader(graph, input_dq->output(0)) != index) return false;
  const int q_index = graph.Producer(input_dq->input(0));
  if (q_index < 0 || OnlyReader(graph, input_dq->input(0)) < 0) return false;
  const auto& q = graph.graph().node(q_index);
  if (q.op_type() != "QuantizeLinear" || !IsQdqDomain(q.domain())) return false;
  const int p_index = graph.Producer(q.input(0));
  if (p_index < 0 || OnlyReader(graph, q.input(0)) != q_index) return false;
  const auto& producer = graph.graph().node(p_index);
  if (!IsConv(producer) || GroupOf(producer) != 1) return false;
  const auto produced = ParametersOf(graph, producer);
  if (!produced || Dims(*produced->weights.values).front() != channels) return false;
  // After: depthwise -> Q -> DQs -> readers.
  const int out_q = OnlyReader(graph, depthwise.output(0));
  if (out_q < 0) return false;
  const auto& output_q = graph.graph().node(out_q);
  if (output_q.op_type() != "QuantizeLinear" || !IsQdqDomain(output_q.domain()) ||
      graph.IsGraphOutput(output_q.output(0)) || graph.Consumers(output_q.output(0)).empty()) {
    return false;
  }
  std::vector<QuantizedParameter> read;
  for (const int dq_index : graph.Consumers(output_q.output(0))) {
    const auto& dq = graph.graph().node(dq_index);
    if (dq.op_type() != "DequantizeLinear" || graph.IsGraphOutput(dq.output(0)) ||
        graph.Consumers(dq.output(0)).empty()) {
      return false;
    }
    for (const int r : graph.Consumers(dq.output(0))) {
      const auto& reader = graph.graph().node(r);
      if (!IsConv(reader) || GroupOf(reader) != 1 || reader.input(0) != dq.output(0)) return false;
      const auto weights = OwnedParameter(graph, reader, 1, onnx::TensorProto::INT8);
      if (!weights) return false;
      const auto reader_dims = Dims(*weights->values);
      if (reader_dims.size() < 2 || reader_dims[1] != channels) return false;
      read.push_back(*weights);
    }
  }
  const int64_t padded = (channels + kGroupMultiple - 1) / kGroupMultiple * kGroupMultiple;
  PadOutputs(produced->weights, produced->bias, padded);
  PadOutputs(own->weights, own->bias, padded);
  for (const auto& weights : read) PadAxis(weights.values, 1, padded, 0.0);
  for (auto& attr : *depthwise.mutable_attribute()) {
    if (attr.name() == "group") attr.set_i(padded);
  }
  return true;
}

}  // namespace

bool PadsDepthwiseChannels(const QuantizeOptions& options) { return PadsConvInputChannels(options); }

int PadDepthwiseChannels(onnx::GraphProto* graph) {
  GraphView view(graph);
  int padded = 0;
  for (int i = 0; i < graph->node_size(); ++i) {
    if (PadOne(view, i)) ++padded;
  }
  return padded;
}

}  // namespace onnxq
