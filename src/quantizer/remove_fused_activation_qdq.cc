#include "quantizer/remove_fused_activation_qdq.h"

#include <algorithm>
#include <set>
#include <string>

#include "passes/pass_helpers.h"

namespace onnxq {
namespace {

// Producers whose activation the NPU fuses (Quark's annotate_op_type).
bool FusesActivation(const onnx::NodeProto& node) {
  static const std::set<std::string> kProducers = {"Conv", "ConvTranspose", "Gemm",        "MatMul",
                                                   "Add",  "MaxPool",       "AveragePool", "GlobalAveragePool"};
  return IsDefaultDomain(node) && kProducers.contains(node.op_type());
}

bool IsSwitchedOn(const onnx::NodeProto& node, const FusedActivationOptions& options) {
  if (!IsDefaultDomain(node)) return false;
  const std::string& op = node.op_type();
  return (op == "Relu" && options.relu) || (op == "Clip" && options.clip) ||
         (op == "LeakyRelu" && options.leaky_relu) || (op == "PRelu" && options.prelu);
}

bool IsGraphOutput(const onnx::GraphProto& graph, const std::string& name) {
  return std::any_of(graph.output().begin(), graph.output().end(),
                     [&](const onnx::ValueInfoProto& out) { return out.name() == name; });
}

}  // namespace

bool IsFusedActivationOp(const std::string& op_type) {
  return op_type == "Relu" || op_type == "Clip" || op_type == "LeakyRelu" || op_type == "PRelu";
}

int RemoveFusedActivationQdq(const GraphView& graph, const FusedActivationOptions& options, QuantPlan* plan) {
  const auto& g = graph.graph();
  std::set<int> quantized;
  for (const auto& mark : plan->marks) quantized.insert(mark.node);
  int removed = 0;
  for (const auto& mark : plan->marks) {
    const auto& node = g.node(mark.node);
    if (!IsSwitchedOn(node, options) || node.input_size() == 0 || node.output_size() == 0) continue;
    const std::string& input = node.input(0);
    const int producer = graph.Producer(input);
    if (producer < 0 || !quantized.contains(producer) || !FusesActivation(g.node(producer))) continue;
    if (graph.Consumers(input).size() != 1 || IsGraphOutput(g, input) || graph.ReadBySubgraph(input)) continue;
    if (!plan->tensors.contains(node.output(0))) continue;
    const auto it = plan->tensors.find(input);
    if (it == plan->tensors.end() || it->second.role != TensorRole::kActivation) continue;
    plan->tensors.erase(it);
    ++removed;
  }
  return removed;
}

}  // namespace onnxq
