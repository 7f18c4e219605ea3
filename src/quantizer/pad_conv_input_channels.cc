#include "quantizer/pad_conv_input_channels.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph_view.h"
#include "ir/tensor_util.h"
#include "quantizer/qdq_nodes.h"

namespace onnxq {
namespace {

constexpr int64_t kChannelMultiple = 4;     // MLAS's symmetric convolution: input channels
constexpr int64_t kMinOutputChannels = 16;  // and output channels, at least 16
constexpr int64_t kOutputMultiple = 8;      // and a multiple of 8
constexpr int64_t kMinPositions = 1024;     // below this many output positions the Pad does not pay

// Whether the activation DQ reads a run-time 8-bit tensor with a scalar zero point initializer.
bool EightBitPerTensor(const GraphView& graph, const onnx::NodeProto& dq) {
  return EightBitType(graph, dq) != 0 && ElementCount(*graph.Initializer(dq.input(2))) == 1 &&
         !graph.IsInitializer(dq.input(0));
}

// The int8 weight initializer the weight DQ reads when all its zero points are 0, or null.
const onnx::TensorProto* SymmetricInt8Weights(const GraphView& graph, const onnx::NodeProto& dq) {
  const auto* weights = graph.Initializer(dq.input(0));
  const auto* zero_point = graph.Initializer(dq.input(2));
  if (weights == nullptr || zero_point == nullptr || weights->data_type() != onnx::TensorProto::INT8 ||
      !AllZero(*zero_point)) {
    return nullptr;
  }
  return weights->dims_size() >= 3 ? weights : nullptr;
}

// Static shapes by tensor name: -1 for a dimension that is symbolic or unknown.
using ShapeMap = std::unordered_map<std::string, std::vector<int64_t>>;

ShapeMap ShapesOf(std::span<const onnx::ValueInfoProto> infos) {
  ShapeMap shapes;
  for (const auto& info : infos) {
    if (!info.type().has_tensor_type() || !info.type().tensor_type().has_shape()) continue;
    auto& dims = shapes[info.name()];
    for (const auto& dim : info.type().tensor_type().shape().dim()) {
      dims.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
    }
  }
  return shapes;
}

// How many positions the convolution's input has: the product of its spatial dimensions, from the
// float tensor the activation's QuantizeLinear reads; nullopt when some dimension is unknown.
std::optional<int64_t> InputPositions(const GraphView& graph, const ShapeMap& float_shapes, const onnx::NodeProto& dq) {
  const int q_index = graph.Producer(dq.input(0));
  const std::string& source = q_index >= 0 ? graph.graph().node(q_index).input(0) : dq.input(0);
  auto shape = graph.Shape(source);
  if (const auto it = float_shapes.find(source); !shape && it != float_shapes.end()) shape = it->second;
  if (!shape || shape->size() < 3) return std::nullopt;
  int64_t positions = 1;
  for (size_t axis = 2; axis < shape->size(); ++axis) {
    if ((*shape)[axis] < 0) return std::nullopt;
    positions *= (*shape)[axis];
  }
  return positions;
}

// `weights` [M, C, k...] with `pad` filters of zeros appended along the input channel axis.
onnx::TensorProto PaddedWeights(const onnx::TensorProto& weights, const std::vector<int64_t>& codes, int64_t pad,
                                const std::string& name) {
  std::vector<int64_t> dims = Dims(weights);
  const int64_t channels = dims[1];
  int64_t kernel = 1;
  for (size_t axis = 2; axis < dims.size(); ++axis) kernel *= dims[axis];
  std::vector<int64_t> padded;
  padded.reserve(static_cast<size_t>(dims[0] * (channels + pad) * kernel));
  for (int64_t m = 0; m < dims[0]; ++m) {
    const auto filter = codes.begin() + m * channels * kernel;
    padded.insert(padded.end(), filter, filter + channels * kernel);
    padded.insert(padded.end(), static_cast<size_t>(pad * kernel), 0);
  }
  dims[1] = channels + pad;
  return MakeIntTensor(name, onnx::TensorProto::INT8, dims, padded);
}

// The nodes one rewrite puts before its Conv, and the initializers it adds.
struct Additions {
  std::vector<onnx::TensorProto> initializers;
  std::vector<std::vector<onnx::NodeProto>> before_node;  // by node index
  std::vector<std::string> replaced;  // the DQ outputs and weight initializers the Convs no longer read
};

bool PadOne(GraphView& graph, const ShapeMap& float_shapes, int index, Additions* added) {
  auto& conv = *graph.graph().mutable_node(index);
  if (conv.op_type() != "Conv" || !conv.domain().empty() || conv.input_size() < 2 || AttrInt(conv, "group", 1) != 1) {
    return false;
  }
  const auto* input_dq = DequantizeWriting(graph, conv.input(0));
  const auto* weight_dq = DequantizeWriting(graph, conv.input(1));
  if (input_dq == nullptr || weight_dq == nullptr || !EightBitPerTensor(graph, *input_dq)) return false;
  const auto* weights = SymmetricInt8Weights(graph, *weight_dq);
  if (weights == nullptr) return false;
  const int64_t outputs = weights->dims(0);
  const int64_t channels = weights->dims(1);
  if (channels % kChannelMultiple == 0 || outputs < kMinOutputChannels || outputs % kOutputMultiple != 0) {
    return false;
  }
  if (const auto positions = InputPositions(graph, float_shapes, *input_dq)) {
    int64_t stride = 1;
    for (const int64_t s : AttrInts(conv, "strides")) stride *= std::max<int64_t>(s, 1);
    if (*positions / stride < kMinPositions) return false;
  }
  auto codes = ToInt64s(*weights);
  if (!codes.ok() || static_cast<int64_t>(codes->size()) != ElementCount(*weights)) return false;

  const int64_t pad = kChannelMultiple - channels % kChannelMultiple;
  const std::string base = conv.name().empty() ? conv.output(0) : conv.name();
  const std::string pads_name = graph.UniqueName(base + "_channel_pads");
  const std::string padded_input = graph.UniqueName(base + "_input_padded");
  const std::string padded_value = graph.UniqueName(base + "_input_padded_dequantized");
  const std::string padded_weights = graph.UniqueName(weight_dq->input(0) + "_padded");
  const std::string padded_weights_value = graph.UniqueName(weight_dq->output(0) + "_padded");
  // Pad's pads: begins then ends of every axis; the channel axis (1) gains `pad` at its end.
  std::vector<int64_t> pads(2 * static_cast<size_t>(weights->dims_size()), 0);
  pads[static_cast<size_t>(weights->dims_size()) + 1] = pad;
  const std::vector<int64_t> pads_dims{static_cast<int64_t>(pads.size())};
  added->initializers.push_back(MakeIntTensor(pads_name, onnx::TensorProto::INT64, pads_dims, pads));
  added->initializers.push_back(PaddedWeights(*weights, *codes, pad, padded_weights));

  onnx::NodeProto pad_node;
  pad_node.set_op_type("Pad");
  pad_node.set_name(graph.UniqueName(base + "_channel_pad"));
  pad_node.add_input(input_dq->input(0));
  pad_node.add_input(pads_name);
  pad_node.add_input(input_dq->input(2));  // the zero point's code: 0.0 once dequantized
  pad_node.add_output(padded_input);
  onnx::NodeProto input_dequantize = *input_dq;
  input_dequantize.set_name(graph.UniqueName(input_dq->name() + "_padded"));
  input_dequantize.set_input(0, padded_input);
  input_dequantize.set_output(0, padded_value);
  onnx::NodeProto weight_dequantize = *weight_dq;
  weight_dequantize.set_name(graph.UniqueName(weight_dq->name() + "_padded"));
  weight_dequantize.set_input(0, padded_weights);
  weight_dequantize.set_output(0, padded_weights_value);

  auto& before = added->before_node[static_cast<size_t>(index)];
  before.push_back(std::move(pad_node));
  before.push_back(std::move(input_dequantize));
  before.push_back(std::move(weight_dequantize));
  added->replaced.insert(added->replaced.end(), {conv.input(0), conv.input(1), weight_dq->input(0)});
  conv.set_input(0, padded_value);
  conv.set_input(1, padded_weights_value);
  return true;
}

}  // namespace

bool PadsConvInputChannels(const QuantizeOptions& options) {
  return options.placement == QdqPlacement::kRuntimeFused && options.npu_mode == NpuMode::kNone &&
         (options.activation_type == QuantType::kUInt8 || options.activation_type == QuantType::kInt8) &&
         options.weight_type == QuantType::kInt8 && options.weight_symmetric;
}

int PadConvInputChannels(onnx::GraphProto* graph, int64_t opset, std::span<const onnx::ValueInfoProto> float_shapes) {
  if (opset < 11) return 0;
  const ShapeMap shapes = ShapesOf(float_shapes);
  GraphView view(graph);
  Additions added;
  added.before_node.resize(static_cast<size_t>(graph->node_size()));
  int padded = 0;
  for (int i = 0; i < graph->node_size(); ++i) {
    if (PadOne(view, shapes, i, &added)) ++padded;
  }
  if (padded == 0) return 0;
  for (auto& init : added.initializers) *graph->add_initializer() = std::move(init);
  // Each rewrite's nodes go right before its Conv: the node list stays in topological order.
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (int i = 0; i < graph->node_size(); ++i) {
    for (auto& node : added.before_node[static_cast<size_t>(i)]) *nodes.Add() = std::move(node);
    *nodes.Add() = std::move(*graph->mutable_node(i));
  }
  graph->mutable_node()->Swap(&nodes);
  RemoveUnreadDequantizes(added.replaced, graph);
  return padded;
}

}  // namespace onnxq
