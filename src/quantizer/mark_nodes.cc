#include "quantizer/mark_nodes.h"

#include <algorithm>
#include <set>

#include "quantizer/op_quantizers.h"

namespace onnxq {
namespace {

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Index of the first node whose name or any output matches `name`, or -1.
int FindNode(const onnx::GraphProto& graph, const std::string& name) {
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    if (node.name() == name) return i;
    for (const auto& out : node.output()) {
      if (out == name) return i;
    }
  }
  return -1;
}

}  // namespace

std::string NodeLabel(const onnx::NodeProto& node, int index) {
  return node.name().empty() ? node.op_type() + " #" + std::to_string(index) : node.name();
}

Result<QuantPlan> MarkNodes(const GraphView& graph, const QuantizeOptions& options) {
  const auto& g = graph.graph();
  for (const auto& name : options.nodes_to_exclude) {
    if (FindNode(g, name) < 0)
      return NotFound("--nodes-to-exclude names '" + name + "', which is not a node of the model");
  }
  for (const auto& type : options.op_types_to_quantize) {
    if (FindOpQuantizer(type) == nullptr) {
      return InvalidArgument("--op-types-to-quantize names '" + type + "', which onnxq does not quantize");
    }
  }
  // input_nodes / output_nodes: only the nodes between the first input node and the last output node.
  int first = 0;
  int last = g.node_size() - 1;
  for (const auto& name : options.input_nodes) {
    const int index = FindNode(g, name);
    if (index < 0) return NotFound("--input-nodes names '" + name + "', which is not a node of the model");
    first = first == 0 ? index : std::min(first, index);
  }
  if (!options.output_nodes.empty()) last = -1;
  for (const auto& name : options.output_nodes) {
    const int index = FindNode(g, name);
    if (index < 0) return NotFound("--output-nodes names '" + name + "', which is not a node of the model");
    last = std::max(last, index);
  }

  QuantPlan plan;
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& node = g.node(i);
    const std::string label = NodeLabel(node, i);
    if (!node.domain().empty() && node.domain() != "ai.onnx") {
      plan.left_float[i] = "custom domain '" + node.domain() + "'";
      continue;
    }
    const OpQuantizer quantizer = FindOpQuantizer(node.op_type());
    if (quantizer == nullptr) {
      plan.left_float[i] = "op type " + node.op_type() + " is not quantized by onnxq";
      continue;
    }
    if (i < first || i > last) {
      plan.left_float[i] = "outside --input-nodes/--output-nodes";
      continue;
    }
    if (Contains(options.nodes_to_exclude, node.name()) ||
        std::any_of(node.output().begin(), node.output().end(),
                    [&](const std::string& out) { return Contains(options.nodes_to_exclude, out); })) {
      plan.left_float[i] = "excluded by --nodes-to-exclude";
      continue;
    }
    if (!options.op_types_to_quantize.empty() && !Contains(options.op_types_to_quantize, node.op_type())) {
      plan.left_float[i] = "not in --op-types-to-quantize";
      continue;
    }
    if (!options.nodes_to_quantize.empty() && !Contains(options.nodes_to_quantize, node.name())) {
      plan.left_float[i] = "not in --nodes-to-quantize";
      continue;
    }
    MarkResult result = quantizer(graph, i);
    if (!result.mark) {
      plan.left_float[i] = result.reason;
      continue;
    }
    plan.marks.push_back(std::move(*result.mark));
  }
  return plan;
}

std::vector<std::string> TensorsToCalibrate(const QuantPlan& plan) {
  std::set<int> marked;
  for (const auto& mark : plan.marks) marked.insert(mark.node);
  std::set<std::string> skip;
  for (const auto& mark : plan.marks) {
    for (const auto& intent : mark.intents) {
      if (!intent.share_with.empty()) skip.insert(intent.tensor);
    }
    // The activation either folds into its producer's output range or lends its parameters to its
    // input (DecideParams): its input's own range is never used.
    if (mark.foldable_activation && marked.contains(mark.fold_producer) && mark.clip_min <= 0.0F &&
        mark.clip_max >= 0.0F) {
      skip.insert(mark.intents.front().tensor);  // the activation's input
    }
  }
  std::vector<std::string> tensors;
  std::set<std::string> seen;
  for (const auto& mark : plan.marks) {
    for (const auto& intent : mark.intents) {
      if (intent.role == TensorRole::kActivation && !skip.contains(intent.tensor) &&
          seen.insert(intent.tensor).second) {
        tensors.push_back(intent.tensor);
      }
    }
  }
  return tensors;
}

}  // namespace onnxq
