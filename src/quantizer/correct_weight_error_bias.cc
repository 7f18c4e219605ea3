#include "quantizer/correct_weight_error_bias.h"

#include <algorithm>
#include <optional>

#include "algorithms/weight_error_bias.h"
#include "ir/tensor_util.h"

namespace onnxq {
namespace {

std::string AttrString(const onnx::NodeProto& node, const std::string& name, const std::string& default_value) {
  for (const auto& attr : node.attribute()) {
    if (attr.name() == name && attr.type() == onnx::AttributeProto::STRING) return attr.s();
  }
  return default_value;
}

// A layer the correction applies to, found from a bias intent of the plan.
struct Layer {
  int node = -1;
  std::string input;
  std::string weight;
  std::string bias;
  ChannelAxis axis = ChannelAxis::kSecond;
};

std::optional<Layer> LayerOf(const GraphView& graph, const QuantPlan& plan, const NodeMark& mark) {
  const onnx::NodeProto& node = graph.graph().node(mark.node);
  if (!node.domain().empty() && node.domain() != "ai.onnx") return std::nullopt;
  const bool conv = node.op_type() == "Conv";
  const bool gemm = node.op_type() == "Gemm";
  if ((!conv && !gemm) || node.input_size() < 3 || node.input(2).empty()) return std::nullopt;
  if (gemm && (AttrInt(node, "transA", 0) != 0 || AttrFloat(node, "beta", 1.0F) == 0.0F)) return std::nullopt;
  // Before DecideParams the weight is one the node marks; after, one with decided parameters.
  const std::string& weight_name = node.input(1);
  const bool weight_marked = std::any_of(mark.intents.begin(), mark.intents.end(), [&](const TensorIntent& i) {
    return i.role == TensorRole::kWeight && i.tensor == weight_name;
  });
  const auto weight = plan.tensors.find(weight_name);
  if (!weight_marked || (weight != plan.tensors.end() && weight->second.role != TensorRole::kWeight)) {
    return std::nullopt;
  }
  const std::string& bias_name = node.input(2);
  const auto* bias = graph.Initializer(bias_name);
  if (bias == nullptr || bias->data_type() != onnx::TensorProto::FLOAT || bias->dims_size() != 1 ||
      graph.Consumers(bias_name).size() != 1 || graph.ReadBySubgraph(bias_name) || graph.IsGraphOutput(bias_name)) {
    return std::nullopt;
  }
  return Layer{.node = mark.node,
               .input = node.input(0),
               .weight = weight_name,
               .bias = bias_name,
               .axis = conv ? ChannelAxis::kSecond : ChannelAxis::kLast};
}

// The weight's values as the quantized model computes with them.
std::vector<float> Dequantized(std::span<const float> values, std::span<const int64_t> dims, const TensorQuant& q) {
  std::vector<float> out(values.size());
  int64_t inner = 1;
  for (size_t d = static_cast<size_t>(std::max(q.axis, 0)) + 1; q.axis >= 0 && d < dims.size(); ++d) inner *= dims[d];
  const int64_t channels = q.axis >= 0 ? dims[static_cast<size_t>(q.axis)] : 1;
  for (size_t i = 0; i < values.size(); ++i) {
    const size_t c = q.axis >= 0 ? (i / static_cast<size_t>(inner)) % static_cast<size_t>(channels) : 0;
    out[i] = FakeQuantize(values[i], q.params[std::min(c, q.params.size() - 1)], q.range);
  }
  return out;
}

// [K, N] -> [N, K].
std::vector<float> Transposed(std::span<const float> values, int64_t rows, int64_t cols) {
  std::vector<float> out(values.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c)
      out[static_cast<size_t>(c * rows + r)] = values[static_cast<size_t>(r * cols + c)];
  }
  return out;
}

// Coverage of each kernel tap of a Conv (weight_error_bias.h), or empty when its shapes are unknown.
std::vector<double> ConvCoverage(const GraphView& graph, const onnx::NodeProto& node, std::span<const int64_t> wdims) {
  const auto in = graph.Shape(node.input(0));
  const auto out = graph.Shape(node.output(0));
  const size_t spatial = wdims.size() - 2;
  if (!in || !out || in->size() != wdims.size() || out->size() != wdims.size()) return {};
  const auto strides = AttrInts(node, "strides");
  const auto dilations = AttrInts(node, "dilations");
  const auto pads = AttrInts(node, "pads");
  const std::string auto_pad = AttrString(node, "auto_pad", "NOTSET");
  std::vector<std::vector<double>> axes;
  for (size_t a = 0; a < spatial; ++a) {
    const int64_t in_size = (*in)[a + 2];
    const int64_t out_size = (*out)[a + 2];
    const int64_t kernel = wdims[a + 2];
    const int64_t stride = a < strides.size() ? strides[a] : 1;
    const int64_t dilation = a < dilations.size() ? dilations[a] : 1;
    int64_t pad_begin = pads.size() == 2 * spatial ? pads[a] : 0;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t total = std::max<int64_t>(0, (out_size - 1) * stride + (kernel - 1) * dilation + 1 - in_size);
      pad_begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    } else if (auto_pad == "VALID") {
      pad_begin = 0;
    }
    auto coverage = TapCoverage(in_size, out_size, kernel, stride, pad_begin, dilation);
    if (coverage.empty()) return {};
    axes.push_back(std::move(coverage));
  }
  return KernelCoverage(axes);
}

}  // namespace

ChannelMeanRequest MeanBiasInputs(const GraphView& graph, const QuantPlan& plan) {
  ChannelMeanRequest request;
  for (const auto& mark : plan.marks) {
    if (const auto layer = LayerOf(graph, plan, mark)) request.tensors[layer->input] = layer->axis;
  }
  return request;
}

Result<int> CorrectWeightErrorBias(GraphView& graph, const QuantPlan& plan,
                                   const std::map<std::string, std::vector<float>>& channel_means) {
  int corrected = 0;
  for (const auto& mark : plan.marks) {
    const auto layer = LayerOf(graph, plan, mark);
    if (!layer) continue;
    const auto means = channel_means.find(layer->input);
    const auto weight_quant = plan.tensors.find(layer->weight);
    if (means == channel_means.end() || weight_quant == plan.tensors.end()) continue;
    const onnx::NodeProto& node = graph.graph().node(layer->node);
    const auto* weight_init = graph.Initializer(layer->weight);
    if (weight_init == nullptr) continue;
    ONNXQ_ASSIGN_OR_RETURN(const auto weight, ToFloats(*weight_init));
    const auto wdims = Dims(*weight_init);
    const std::vector<float> dequantized = Dequantized(weight, wdims, weight_quant->second);
    std::vector<float> correction;
    if (node.op_type() == "Conv") {
      if (wdims.size() < 3) continue;
      int64_t taps = 1;
      for (size_t d = 2; d < wdims.size(); ++d) taps *= wdims[d];
      const auto coverage = ConvCoverage(graph, node, wdims);
      correction = WeightErrorBias({.weight = weight,
                                    .dequantized = dequantized,
                                    .out_channels = wdims[0],
                                    .groups = AttrInt(node, "group", 1),
                                    .taps = taps},
                                   means->second, coverage);
    } else {  // Gemm: y = alpha A B + beta C
      if (wdims.size() != 2) continue;
      const bool trans_b = AttrInt(node, "transB", 0) != 0;
      const int64_t out = trans_b ? wdims[0] : wdims[1];
      const std::vector<float> w = trans_b ? weight : Transposed(weight, wdims[0], wdims[1]);
      const std::vector<float> wq = trans_b ? dequantized : Transposed(dequantized, wdims[0], wdims[1]);
      correction = WeightErrorBias({.weight = w, .dequantized = wq, .out_channels = out}, means->second, {});
      const float scale = AttrFloat(node, "alpha", 1.0F) / AttrFloat(node, "beta", 1.0F);
      for (float& d : correction) d *= scale;
    }
    auto* bias_init = graph.MutableInitializer(layer->bias);
    ONNXQ_ASSIGN_OR_RETURN(auto bias, ToFloats(*bias_init));
    if (correction.empty() || bias.size() != correction.size()) continue;  // a broadcast bias: left alone
    for (size_t o = 0; o < bias.size(); ++o) bias[o] += correction[o];
    const auto bdims = Dims(*bias_init);
    *bias_init = MakeFloatTensor(layer->bias, bdims, bias);
    ++corrected;
  }
  return corrected;
}

}  // namespace onnxq
