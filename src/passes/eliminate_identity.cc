#include "passes/eliminate_identity.h"

#include "ir/graph_view.h"
#include "passes/pass_helpers.h"

namespace onnxq {
namespace {

// Whether `graph` (a subgraph) defines `name` itself, hiding the outer tensor of that name.
bool Defines(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto& vi : graph.input()) {
    if (vi.name() == name) return true;
  }
  for (const auto& init : graph.initializer()) {
    if (init.name() == name) return true;
  }
  for (const auto& node : graph.node()) {
    for (const auto& out : node.output()) {
      if (out == name) return true;
    }
  }
  return false;
}

void RenameSubgraphReads(onnx::NodeProto& node, const std::string& from, const std::string& to);

// Every read of `from` in the nodes of `graph` becomes `to`, and in their subgraphs at any depth,
// where a subgraph output naming the outer tensor is a read too (the main graph's outputs are the
// model's interface and keep their names: the caller sees to that).
void RenameReads(onnx::GraphProto& graph, const std::string& from, const std::string& to) {
  for (auto& node : *graph.mutable_node()) {
    for (auto& in : *node.mutable_input()) {
      if (in == from) in = to;
    }
    RenameSubgraphReads(node, from, to);
  }
}

void RenameSubgraphReads(onnx::NodeProto& node, const std::string& from, const std::string& to) {
  for (auto& attr : *node.mutable_attribute()) {
    std::vector<onnx::GraphProto*> subgraphs;
    if (attr.has_g()) subgraphs.push_back(attr.mutable_g());
    for (auto& g : *attr.mutable_graphs()) subgraphs.push_back(&g);
    for (auto* subgraph : subgraphs) {
      if (Defines(*subgraph, from)) continue;
      RenameReads(*subgraph, from, to);
      for (auto& out : *subgraph->mutable_output()) {
        if (out.name() == from) out.set_name(to);
      }
    }
  }
}

// The match: an Identity that can go, and how.
enum class Removal { kKeep, kReadersUseInput, kProducerWritesOutput };

Removal Match(const GraphView& view, const onnx::NodeProto& node) {
  if (node.op_type() != "Identity" || !IsDefaultDomain(node) || node.input_size() != 1 || node.output_size() != 1 ||
      node.input(0).empty()) {
    return Removal::kKeep;
  }
  const std::string& in = node.input(0);
  const std::string& out = node.output(0);
  if (!view.IsGraphOutput(out)) return Removal::kReadersUseInput;
  if (view.IsGraphInput(in) || view.IsInitializer(in) || view.IsGraphOutput(in) || view.Producer(in) < 0) {
    return Removal::kKeep;
  }
  return Removal::kProducerWritesOutput;
}

}  // namespace

Result<PassReport> EliminateIdentityPass::Run(onnx::ModelProto& model, PassContext& /*context*/) const {
  onnx::GraphProto& graph = *model.mutable_graph();
  GraphView view(&graph);
  PassReport report;
  for (int i = 0; i < graph.node_size();) {
    const onnx::NodeProto node = graph.node(i);
    const Removal removal = Match(view, node);
    if (removal == Removal::kKeep) {
      ++i;
      continue;
    }
    const std::string& in = node.input(0);
    const std::string& out = node.output(0);
    EraseNodes(graph, {i});
    if (removal == Removal::kReadersUseInput) {
      RenameReads(graph, out, in);
      EraseValueInfo(graph, {out});
    } else {
      for (auto& producer : *graph.mutable_node()) {
        for (auto& o : *producer.mutable_output()) {
          if (o == in) o = out;
        }
      }
      RenameReads(graph, in, out);
      EraseValueInfo(graph, {in});
    }
    view.Rebuild();
    ++report.changes;
  }
  if (report.changes > 0) report.notes.push_back(std::to_string(report.changes) + " Identity nodes removed");
  return report;
}

}  // namespace onnxq
