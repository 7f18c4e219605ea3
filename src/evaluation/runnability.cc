#include "evaluation/runnability.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "calibration/onnxruntime_backend.h"

namespace onnxq {
namespace {

bool IsQuantizeOrDequantize(std::string_view op) {
  return op == "QuantizeLinear" || op == "DequantizeLinear" || op == "DynamicQuantizeLinear";
}

bool IsIntegerKernel(std::string_view op) {
  static constexpr std::array<std::string_view, 8> kKernels = {
      "QGemm",      "MatMulIntegerToFloat",     "ConvInteger",        "MatMulInteger", "DynamicQuantizeMatMul",
      "QAttention", "QEmbedLayerNormalization", "DynamicQuantizeLSTM"};
  return op.starts_with("QLinear") || op.starts_with("QOrdered") || std::ranges::find(kKernels, op) != kKernels.end();
}

// Ops that pass values through unchanged (or pick among them), which the engine runs on 8-bit tensors.
bool MovesData(std::string_view op) {
  static constexpr std::array<std::string_view, 22> kMoving = {
      "Transpose", "Reshape",        "Flatten",      "Squeeze",   "Unsqueeze", "MaxPool",    "Concat",   "Slice",
      "Gather",    "GatherElements", "GatherND",     "Split",     "Resize",    "Pad",        "Identity", "Expand",
      "Tile",      "DepthToSpace",   "SpaceToDepth", "ReduceMax", "ReduceMin", "NhwcMaxPool"};
  return std::ranges::find(kMoving, op) != kMoving.end();
}

// Whether the integer kernel's first output is a quantized tensor (QLinear* ops; QGemm with an output
// scale) rather than float (MatMulIntegerToFloat ...) or int32 accumulators (ConvInteger ...).
bool RequantizesOutput(const onnx::NodeProto& node) {
  if (node.op_type().starts_with("QLinear")) return true;
  return node.op_type() == "QGemm" && node.input_size() > 7 && !node.input(7).empty();
}

std::string Label(const onnx::NodeProto& node, int index) {
  return node.name().empty() ? node.op_type() + " #" + std::to_string(index) : node.name();
}

}  // namespace

int64_t TotalCount(const std::map<std::string, int64_t>& counts) {
  int64_t total = 0;
  for (const auto& [op, count] : counts) total += count;
  return total;
}

std::string RunnabilitySummary(const RunnabilityReport& report) {
  std::string text = "integer kernels " + std::to_string(TotalCount(report.integer_kernels)) +
                     " node groups, float between Q/DQ " + std::to_string(TotalCount(report.float_between_qdq));
  if (!report.float_between_qdq.empty()) {
    std::string ops;
    for (const auto& [op, count] : report.float_between_qdq) {
      ops += (ops.empty() ? "" : ", ") + op + " " + std::to_string(count);
    }
    text += " (" + ops + ")";
  }
  return text;
}

RunnabilityReport ClassifyRunnability(const onnx::ModelProto& optimized) {
  const onnx::GraphProto& graph = optimized.graph();
  std::set<std::string> initializers;
  for (const auto& initializer : graph.initializer()) initializers.insert(initializer.name());
  // Tensors read by a QuantizeLinear, and outputs of a DequantizeLinear of an activation.
  std::set<std::string> quantized_next;
  std::set<std::string> dequantized_activations;
  for (const auto& node : graph.node()) {
    if (node.op_type() == "QuantizeLinear" && node.input_size() > 0) quantized_next.insert(node.input(0));
    if (node.op_type() == "DequantizeLinear" && node.input_size() > 0 && node.output_size() > 0 &&
        !initializers.contains(node.input(0))) {
      dequantized_activations.insert(node.output(0));
    }
  }
  // The optimized graph is in topological order, so a quantized tensor is known before it is read.
  std::set<std::string> quantized;
  RunnabilityReport report;
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    const std::string& op = node.op_type();
    ++report.nodes;
    const bool quantized_input = node.input_size() > 0 && quantized.contains(node.input(0));
    bool quantized_output = false;
    if (IsQuantizeOrDequantize(op)) {
      ++report.quantize_dequantize[op];
      quantized_output = op != "DequantizeLinear";
    } else if (IsIntegerKernel(op)) {
      ++report.integer_kernels[op];
      quantized_output = RequantizesOutput(node);
    } else if (MovesData(op) && quantized_input) {
      ++report.integer_data_movement[op];
      quantized_output = true;
    } else {
      bool next_to_qdq = false;
      for (const auto& input : node.input()) next_to_qdq = next_to_qdq || dequantized_activations.contains(input);
      for (const auto& output : node.output()) next_to_qdq = next_to_qdq || quantized_next.contains(output);
      if (next_to_qdq) {
        ++report.float_between_qdq[op];
        report.float_nodes.push_back({.node = Label(node, i), .op_type = op});
      } else {
        ++report.float_ops[op];
      }
    }
    if (quantized_output && node.output_size() > 0) quantized.insert(node.output(0));
  }
  return report;
}

Result<RunnabilityReport> InspectRunnability(const InferenceBackend& backend, const onnx::ModelProto& model) {
  ONNXQ_ASSIGN_OR_RETURN(const onnx::ModelProto optimized, backend.OptimizedModel(model));
  return ClassifyRunnability(optimized);
}

Result<RunnabilityReport> InspectRunnability(const onnx::ModelProto& model) {
  return InspectRunnability(OnnxRuntimeBackend(), model);
}

}  // namespace onnxq
