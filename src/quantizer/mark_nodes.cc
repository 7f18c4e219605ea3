#include "quantizer/mark_nodes.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "ir/tensor_util.h"
#include "quantizer/op_quantizers.h"

namespace onnxq {
namespace {

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Indices of the nodes whose name or any output is `name` (node names need not be unique).
std::vector<int> FindNodes(const onnx::GraphProto& graph, const std::string& name) {
  std::vector<int> found;
  if (name.empty()) return found;
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    if (node.name() == name || std::find(node.output().begin(), node.output().end(), name) != node.output().end()) {
      found.push_back(i);
    }
  }
  return found;
}

// Why `mark` cannot be quantized when a constant it would quantize (a weight, a bias) holds inf or NaN,
// which no integer grid holds: the node then stays float, whatever its op (empty: it can be).
std::string NonFiniteConstant(const GraphView& graph, const NodeMark& mark) {
  for (const auto& intent : mark.intents) {
    const auto* init = graph.Initializer(intent.tensor);
    if (init == nullptr) continue;
    if (HoldsNonFinite(*init)) {
      return "constant '" + intent.tensor + "' holds non-finite values, which no integer grid can hold";
    }
  }
  return {};
}

// A node an option names, with the name it was given by.
struct NamedNode {
  int index = -1;
  std::string name;
};

// The nodes named under `flag`, each name resolved to every node it matches.
Result<std::vector<NamedNode>> NamedNodes(const onnx::GraphProto& graph, const std::vector<std::string>& names,
                                          const std::string& flag) {
  std::vector<NamedNode> nodes;
  for (const auto& name : names) {
    const std::vector<int> found = FindNodes(graph, name);
    if (found.empty()) return NotFound(flag + " names '" + name + "', which is not a node of the model");
    for (const int index : found) nodes.push_back({index, name});
  }
  return nodes;
}

std::vector<int> Indices(const std::vector<NamedNode>& nodes) {
  std::vector<int> indices;
  indices.reserve(nodes.size());
  for (const auto& node : nodes) indices.push_back(node.index);
  return indices;
}

enum class Direction {
  kDownstream,  // from what a node writes to its readers
  kUpstream,    // from what a node reads to its writers
};

// The nodes reachable from `starts` (themselves included) in `direction`. Reads from inside subgraphs
// count: the view's consumers include them, and OuterScopeReads names them for the way up.
std::vector<bool> Reachable(const GraphView& graph, const std::vector<int>& starts, Direction direction) {
  const auto& g = graph.graph();
  std::vector<bool> seen(static_cast<size_t>(g.node_size()), false);
  std::vector<int> stack;
  auto visit = [&](int node) {
    if (node >= 0 && !seen[static_cast<size_t>(node)]) {
      seen[static_cast<size_t>(node)] = true;
      stack.push_back(node);
    }
  };
  for (const int start : starts) visit(start);
  while (!stack.empty()) {
    const auto& node = g.node(stack.back());
    stack.pop_back();
    if (direction == Direction::kDownstream) {
      for (const auto& out : node.output()) {
        if (out.empty()) continue;
        for (const int reader : graph.Consumers(out)) visit(reader);
      }
      continue;
    }
    for (const auto& in : node.input()) {
      if (!in.empty()) visit(graph.Producer(in));
    }
    if (HasSubgraphs(node)) {
      for (const auto& name : OuterScopeReads(node)) visit(graph.Producer(name));
    }
  }
  return seen;
}

// --input-nodes / --output-nodes: the nodes downstream of an input node and upstream of an output
// node (both included; without a list, that side is unbounded), found on the graph, so the order of
// the names and of the nodes does not matter.
Result<std::vector<bool>> NodeWindow(const GraphView& graph, const QuantizeOptions& options) {
  const auto& g = graph.graph();
  ONNXQ_ASSIGN_OR_RETURN(const auto inputs, NamedNodes(g, options.input_nodes, "--input-nodes"));
  ONNXQ_ASSIGN_OR_RETURN(const auto outputs, NamedNodes(g, options.output_nodes, "--output-nodes"));
  std::vector<bool> window(static_cast<size_t>(g.node_size()), true);
  if (inputs.empty() && outputs.empty()) return window;
  const std::vector<bool> below = Reachable(graph, Indices(inputs), Direction::kDownstream);
  const std::vector<bool> above = Reachable(graph, Indices(outputs), Direction::kUpstream);
  // An input node with an output node upstream of it: the two lists are the wrong way round. (One
  // that merely leads to no output node, in a side branch, adds nothing to the window.)
  for (const NamedNode& in : inputs) {
    if (outputs.empty() || above[static_cast<size_t>(in.index)]) continue;
    const std::vector<bool> before_input = Reachable(graph, {in.index}, Direction::kUpstream);
    for (const NamedNode& out : outputs) {
      if (before_input[static_cast<size_t>(out.index)]) {
        return InvalidArgument("--input-nodes '" + in.name + "' comes after --output-nodes '" + out.name +
                               "': quantization runs from the input nodes down to the output nodes");
      }
    }
  }
  for (size_t i = 0; i < window.size(); ++i) {
    window[i] = (inputs.empty() || below[i]) && (outputs.empty() || above[i]);
  }
  return window;
}

}  // namespace

std::string NodeLabel(const onnx::NodeProto& node, int index) {
  return node.name().empty() ? node.op_type() + " #" + std::to_string(index) : node.name();
}

Result<QuantPlan> MarkNodes(const GraphView& graph, const QuantizeOptions& options) {
  const auto& g = graph.graph();
  for (const auto& name : options.nodes_to_exclude) {
    if (FindNodes(g, name).empty())
      return NotFound("--nodes-to-exclude names '" + name + "', which is not a node of the model");
  }
  for (const auto& type : options.op_types_to_quantize) {
    if (FindOpQuantizer(type) == nullptr) {
      return InvalidArgument("--op-types-to-quantize names '" + type + "', which onnxq does not quantize");
    }
  }
  ONNXQ_ASSIGN_OR_RETURN(const std::vector<bool> window, NodeWindow(graph, options));

  QuantPlan plan;
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& node = g.node(i);
    if (HasSubgraphs(node)) {
      plan.left_float[i] =
          "control flow: the " + std::to_string(SubgraphNodeCount(node)) + " ops inside its subgraphs stay float";
      continue;
    }
    if (!node.domain().empty() && node.domain() != "ai.onnx") {
      plan.left_float[i] = "custom domain '" + node.domain() + "'";
      continue;
    }
    const OpQuantizer quantizer = FindOpQuantizer(node.op_type());
    if (quantizer == nullptr) {
      plan.left_float[i] = UnquantizedReason(node.op_type());
      continue;
    }
    if (!window[static_cast<size_t>(i)]) {
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
    if (options.matmul_const_b_only && node.op_type() == "MatMul" && !graph.IsInitializer(node.input(1))) {
      plan.left_float[i] = "MatMulConstBOnly: B is not a constant weight";
      continue;
    }
    MarkResult result = quantizer(graph, i);
    if (!result.mark) {
      plan.left_float[i] = result.reason;
      continue;
    }
    if (std::string reason = NonFiniteConstant(graph, *result.mark); !reason.empty()) {
      plan.left_float[i] = std::move(reason);
      continue;
    }
    // A folded Relu / Clip leaves its output name on the producer's unclipped output, clipped only
    // on the way through the Q/DQ pair that main-graph readers are rewired to. Subgraphs read the
    // name itself, so a clipping node whose output they read keeps its node.
    if (result.mark->foldable_activation && graph.ReadBySubgraph(node.output(0))) {
      result.mark->foldable_activation = false;
      result.mark->fold_producer = -1;
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
