#include "passes/sort_topologically.h"

#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "ir/graph_view.h"

namespace onnxq {
namespace {

// A tensor a graph reads without defining it, and the node that reads it (for messages).
struct FreeRead {
  std::string tensor;
  std::string reader;
};

// An edge: the node at `producer` writes `tensor`, which the node holding the edge reads.
struct Dependency {
  int producer = -1;
  const std::string* tensor = nullptr;
};

// Sorts `graph` and, first, every subgraph of its nodes. Returns what `graph` reads from enclosing
// graphs; `moved` counts the nodes that changed place.
Result<std::vector<FreeRead>> SortGraph(onnx::GraphProto& graph, int64_t& moved) {
  const int n = graph.node_size();
  std::unordered_map<std::string, int> producer;
  std::unordered_set<std::string> given;  // graph inputs and initializers
  for (const auto& vi : graph.input()) given.insert(vi.name());
  for (const auto& init : graph.initializer()) given.insert(init.name());
  for (const auto& sparse : graph.sparse_initializer()) given.insert(sparse.values().name());
  for (int i = 0; i < n; ++i) {
    for (const auto& out : graph.node(i).output()) {
      if (out.empty()) continue;
      const auto [it, inserted] = producer.emplace(out, i);
      if (!inserted) {
        return InvalidModel("tensor '" + out + "' is written by two nodes, " +
                            Describe(graph.node(it->second), it->second) + " and " + Describe(graph.node(i), i));
      }
    }
  }

  std::vector<FreeRead> free_reads;
  std::unordered_set<std::string> free_names;
  std::vector<std::vector<Dependency>> deps(static_cast<size_t>(n));
  // Subgraph reads are kept here until the edges are built (their names must outlive `deps`).
  std::vector<std::vector<FreeRead>> inner_reads(static_cast<size_t>(n));
  auto classify = [&](int node, const std::string& tensor, const std::string& reader) {
    if (tensor.empty()) return;
    if (const auto it = producer.find(tensor); it != producer.end()) {
      deps[static_cast<size_t>(node)].push_back({it->second, &tensor});
    } else if (!given.contains(tensor) && free_names.insert(tensor).second) {
      free_reads.push_back({tensor, reader});
    }
  };
  for (int i = 0; i < n; ++i) {
    onnx::NodeProto& node = *graph.mutable_node(i);
    for (auto& attr : *node.mutable_attribute()) {
      std::vector<onnx::GraphProto*> subgraphs;
      if (attr.has_g()) subgraphs.push_back(attr.mutable_g());
      for (auto& g : *attr.mutable_graphs()) subgraphs.push_back(&g);
      for (auto* subgraph : subgraphs) {
        ONNXQ_ASSIGN_OR_RETURN(std::vector<FreeRead> reads, SortGraph(*subgraph, moved));
        for (auto& read : reads) {
          read.reader += " (in a subgraph of " + Describe(node, i) + ")";
          inner_reads[static_cast<size_t>(i)].push_back(std::move(read));
        }
      }
    }
  }
  for (int i = 0; i < n; ++i) {
    const onnx::NodeProto& node = graph.node(i);
    for (const auto& in : node.input()) classify(i, in, Describe(node, i));
    for (const auto& read : inner_reads[static_cast<size_t>(i)]) classify(i, read.tensor, read.reader);
  }
  for (const auto& vi : graph.output()) {
    if (!producer.contains(vi.name()) && !given.contains(vi.name()) && free_names.insert(vi.name()).second) {
      free_reads.push_back({vi.name(), "the graph output"});
    }
  }

  // Depth-first, in the given order: a node is placed once the producers it reads are.
  enum class State : uint8_t { kNew, kOpen, kPlaced };
  std::vector<State> state(static_cast<size_t>(n), State::kNew);
  std::vector<int> order;
  order.reserve(static_cast<size_t>(n));
  std::vector<std::pair<int, size_t>> stack;  // node, next dependency to look at
  for (int root = 0; root < n; ++root) {
    if (state[static_cast<size_t>(root)] != State::kNew) continue;
    stack.emplace_back(root, 0);
    state[static_cast<size_t>(root)] = State::kOpen;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      const auto& edges = deps[static_cast<size_t>(node)];
      if (next == edges.size()) {
        state[static_cast<size_t>(node)] = State::kPlaced;
        order.push_back(node);
        stack.pop_back();
        continue;
      }
      const Dependency dep = edges[next++];
      const State s = state[static_cast<size_t>(dep.producer)];
      if (s == State::kPlaced) continue;
      if (s == State::kOpen) {
        const std::string reader = Describe(graph.node(node), node);
        if (dep.producer == node) {
          return InvalidModel("the graph has a cycle: " + reader + " reads '" + *dep.tensor +
                              "', which it writes itself");
        }
        return InvalidModel("the graph has a cycle: " + reader + " reads '" + *dep.tensor + "', written by " +
                            Describe(graph.node(dep.producer), dep.producer) + ", which depends on " + reader);
      }
      state[static_cast<size_t>(dep.producer)] = State::kOpen;
      stack.emplace_back(dep.producer, 0);  // invalidates `node` and `next`, not used below
    }
  }

  bool sorted = true;
  for (int i = 0; i < n; ++i) {
    if (order[static_cast<size_t>(i)] != i) {
      sorted = false;
      ++moved;
    }
  }
  if (!sorted) {
    google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
    nodes.Reserve(n);
    for (const int i : order) *nodes.Add() = std::move(*graph.mutable_node(i));
    graph.mutable_node()->Swap(&nodes);
  }
  return free_reads;
}

}  // namespace

Result<PassReport> SortTopologicallyPass::Run(onnx::ModelProto& model, PassContext& /*context*/) const {
  PassReport report;
  ONNXQ_ASSIGN_OR_RETURN(const std::vector<FreeRead> unknown, SortGraph(*model.mutable_graph(), report.changes));
  if (!unknown.empty()) {
    const FreeRead& first = unknown.front();
    return InvalidModel(
        first.reader + " reads '" + first.tensor +
        "', which no node writes and which is no graph input or initializer" +
        (unknown.size() > 1 ? " (and " + std::to_string(unknown.size() - 1) + " more such tensors)" : std::string()));
  }
  if (report.changes > 0) {
    report.notes.push_back(std::to_string(report.changes) + " nodes moved into topological order");
  }
  return report;
}

}  // namespace onnxq
