#include "passes/rename_duplicate_nodes.h"

#include <unordered_set>

namespace onnxq {
namespace {

// Every node name and tensor name in `graph` and its subgraphs, at any depth.
void CollectNames(const onnx::GraphProto& graph, std::unordered_set<std::string>& names) {
  for (const auto& vi : graph.input()) names.insert(vi.name());
  for (const auto& vi : graph.output()) names.insert(vi.name());
  for (const auto& init : graph.initializer()) names.insert(init.name());
  for (const auto& node : graph.node()) {
    names.insert(node.name());
    for (const auto& out : node.output()) names.insert(out);
    for (const auto& attr : node.attribute()) {
      if (attr.has_g()) CollectNames(attr.g(), names);
      for (const auto& g : attr.graphs()) CollectNames(g, names);
    }
  }
}

void RenameDuplicates(onnx::GraphProto& graph, std::unordered_set<std::string>& used, PassReport& report) {
  std::unordered_set<std::string> seen;
  for (auto& node : *graph.mutable_node()) {
    for (auto& attr : *node.mutable_attribute()) {
      if (attr.has_g()) RenameDuplicates(*attr.mutable_g(), used, report);
      for (auto& g : *attr.mutable_graphs()) RenameDuplicates(g, used, report);
    }
    if (node.name().empty() || seen.insert(node.name()).second) continue;
    std::string name;
    for (int k = 1; name.empty() || used.contains(name); ++k) name = node.name() + "_" + std::to_string(k);
    used.insert(name);
    seen.insert(name);
    if (report.notes.size() < 3)
      report.notes.push_back(node.op_type() + " '" + node.name() + "' renamed '" + name + "'");
    node.set_name(name);
    ++report.changes;
  }
}

}  // namespace

Result<PassReport> RenameDuplicateNodesPass::Run(onnx::ModelProto& model, PassContext& /*context*/) const {
  std::unordered_set<std::string> used;
  CollectNames(model.graph(), used);
  PassReport report;
  RenameDuplicates(*model.mutable_graph(), used, report);
  if (report.changes > 3) report.notes.push_back("... " + std::to_string(report.changes) + " nodes renamed in all");
  return report;
}

}  // namespace onnxq
