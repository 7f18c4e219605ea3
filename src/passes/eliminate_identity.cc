#include "passes/eliminate_identity.h"

#include <algorithm>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ir/graph_view.h"
#include "passes/pass_helpers.h"

namespace onnxq {
namespace {

using Renames = std::unordered_map<std::string, std::string>;

// The names `graph` (a subgraph) defines itself, hiding outer tensors of those names.
std::unordered_set<std::string> Defined(const onnx::GraphProto& graph) {
  std::unordered_set<std::string> names;
  for (const auto& vi : graph.input()) names.insert(vi.name());
  for (const auto& init : graph.initializer()) names.insert(init.name());
  for (const auto& node : graph.node()) names.insert(node.output().begin(), node.output().end());
  return names;
}

void RenameSubgraphReads(onnx::NodeProto& node, const Renames& renames);

// Every read of a renamed tensor in the nodes of `graph` takes the new name, and in their subgraphs at
// any depth, where a subgraph output naming the outer tensor is a read too (the main graph's outputs
// are the model's interface and keep their names: the caller sees to that). One walk for all renames.
void RenameReads(onnx::GraphProto& graph, const Renames& renames) {
  for (auto& node : *graph.mutable_node()) {
    for (auto& in : *node.mutable_input()) {
      if (const auto it = renames.find(in); it != renames.end()) in = it->second;
    }
    RenameSubgraphReads(node, renames);
  }
}

void RenameSubgraphReads(onnx::NodeProto& node, const Renames& renames) {
  for (auto& attr : *node.mutable_attribute()) {
    std::vector<onnx::GraphProto*> subgraphs;
    if (attr.has_g()) subgraphs.push_back(attr.mutable_g());
    for (auto& g : *attr.mutable_graphs()) subgraphs.push_back(&g);
    for (auto* subgraph : subgraphs) {
      // Names the subgraph defines itself keep their meaning inside it (a copy only then).
      const std::unordered_set<std::string> defined = Defined(*subgraph);
      const bool shadows =
          std::any_of(defined.begin(), defined.end(), [&](const std::string& name) { return renames.contains(name); });
      Renames shadowed;
      if (shadows) {
        shadowed = renames;
        for (const auto& name : defined) shadowed.erase(name);
      }
      const Renames& visible = shadows ? shadowed : renames;
      RenameReads(*subgraph, visible);
      for (auto& out : *subgraph->mutable_output()) {
        if (const auto it = visible.find(out.name()); it != visible.end()) out.set_name(it->second);
      }
    }
  }
}

// The match: an Identity that can go, and how. `in` is its input as earlier removals renamed it.
enum class Removal { kKeep, kReadersUseInput, kProducerWritesOutput };

Removal Match(const GraphView& view, const onnx::NodeProto& node, const std::string& in,
              const std::unordered_set<std::string>& now_outputs) {
  if (node.op_type() != "Identity" || !IsDefaultDomain(node) || node.input_size() != 1 || node.output_size() != 1 ||
      node.input(0).empty()) {
    return Removal::kKeep;
  }
  const std::string& out = node.output(0);
  if (!view.IsGraphOutput(out)) return Removal::kReadersUseInput;
  if (view.IsGraphInput(in) || view.IsInitializer(in) || view.IsGraphOutput(in) || now_outputs.contains(in) ||
      view.Producer(in) < 0) {
    return Removal::kKeep;
  }
  return Removal::kProducerWritesOutput;
}

// `name` after every rename recorded so far, the chain followed to its end.
std::string Resolve(const Renames& renames, std::string name) {
  for (auto it = renames.find(name); it != renames.end(); it = renames.find(name)) name = it->second;
  return name;
}

}  // namespace

// Linear in the graph: the removals are decided in one walk over the nodes (each Identity's input
// taken as earlier removals renamed it), then applied together: nodes erased, producers' outputs and
// every read renamed in one more walk, value_info of the names that went dropped.
Result<PassReport> EliminateIdentityPass::Run(onnx::ModelProto& model, PassContext& /*context*/) const {
  onnx::GraphProto& graph = *model.mutable_graph();
  const GraphView view(&graph);
  PassReport report;
  Renames renames;                              // removed or renamed tensor -> the name that replaces it
  Renames producer_outputs;                     // tensor a producer now writes under a graph output's name
  std::unordered_set<std::string> now_outputs;  // tensors renamed to graph outputs
  std::set<int> erased;
  std::set<std::string> gone;  // names no longer in the graph (their value_info goes)
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    if (node.input_size() != 1) continue;
    const std::string in = Resolve(renames, node.input(0));
    const Removal removal = Match(view, node, in, now_outputs);
    if (removal == Removal::kKeep) continue;
    const std::string& out = node.output(0);
    erased.insert(i);
    if (removal == Removal::kReadersUseInput) {
      renames[out] = in;
      gone.insert(out);
    } else {
      renames[in] = out;
      producer_outputs[in] = out;
      now_outputs.insert(out);
      gone.insert(in);
    }
    ++report.changes;
  }
  if (erased.empty()) return report;
  EraseNodes(graph, erased);
  Renames resolved;  // every chain followed to its end (a rename's target may itself have been renamed)
  for (const auto& [from, to] : renames) resolved[from] = Resolve(renames, to);
  for (auto& producer : *graph.mutable_node()) {
    for (auto& o : *producer.mutable_output()) {
      if (const auto it = producer_outputs.find(o); it != producer_outputs.end()) o = it->second;
    }
  }
  RenameReads(graph, resolved);
  EraseValueInfo(graph, gone);
  report.notes.push_back(std::to_string(report.changes) + " Identity nodes removed");
  return report;
}

}  // namespace onnxq
