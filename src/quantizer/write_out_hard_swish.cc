#include "quantizer/write_out_hard_swish.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph_view.h"
#include "quantizer/hard_sigmoid_as_add.h"

namespace onnxq {
namespace {

bool Names(const std::vector<std::string>& names, const onnx::NodeProto& node) {
  return std::ranges::any_of(names, [&node](const std::string& name) {
    return name == node.name() || (node.output_size() > 0 && name == node.output(0));
  });
}

onnx::NodeProto HardSigmoidOf(const std::string& name, const std::string& input, const std::string& output) {
  onnx::NodeProto node;
  node.set_op_type("HardSigmoid");
  node.set_name(name);
  node.add_input(input);
  node.add_output(output);
  auto* alpha = node.add_attribute();
  alpha->set_name("alpha");
  alpha->set_type(onnx::AttributeProto::FLOAT);
  alpha->set_f(1.0F / 6.0F);
  auto* beta = node.add_attribute();
  beta->set_name("beta");
  beta->set_type(onnx::AttributeProto::FLOAT);
  beta->set_f(0.5F);
  return node;
}

}  // namespace

int WriteOutHardSwish(onnx::GraphProto* graph, const QuantizeOptions& options) {
  if (!HardSigmoidQuantizesAsAdd(options) || !options.op_types_to_quantize.empty() ||
      !options.nodes_to_quantize.empty()) {
    return 0;
  }
  GraphView view(graph);
  std::vector<onnx::NodeProto> nodes;
  std::vector<onnx::ValueInfoProto> typed;
  nodes.reserve(static_cast<size_t>(graph->node_size()));
  int rewritten = 0;
  for (auto& node : *graph->mutable_node()) {
    if (node.op_type() != "HardSwish" || !node.domain().empty() || node.input_size() != 1 || node.output_size() != 1 ||
        node.input(0).empty() || Names(options.nodes_to_exclude, node)) {
      nodes.push_back(std::move(node));
      continue;
    }
    const std::string x = node.input(0);
    const std::string base = node.name().empty() ? node.output(0) : node.name();
    const std::string gate = view.UniqueName(node.output(0) + "_hard_sigmoid");
    nodes.push_back(HardSigmoidOf(view.UniqueName(base + "_hard_sigmoid"), x, gate));
    for (const auto& info : graph->value_info()) {
      if (info.name() != x) continue;
      typed.push_back(info);
      typed.back().set_name(gate);
    }
    node.set_op_type("Mul");
    node.add_input(gate);
    nodes.push_back(std::move(node));
    ++rewritten;
  }
  graph->clear_node();  // every node was moved to `nodes`
  for (auto& node : nodes) *graph->add_node() = std::move(node);
  for (auto& info : typed) *graph->add_value_info() = std::move(info);
  return rewritten;
}

}  // namespace onnxq
