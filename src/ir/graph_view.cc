#include "ir/graph_view.h"

#include <algorithm>

namespace onnxq {
namespace {

// Appends to `out` (once each, `seen` remembers) the names `graph` reads without defining them: its
// nodes' inputs, what its nodes' own subgraphs read from outside, and its outputs, less its inputs,
// initializers and node outputs. Each graph is visited once, so the cost is linear in its size.
void AppendFreeNames(const onnx::GraphProto& graph, std::vector<std::string>& out,
                     std::unordered_set<std::string>& seen) {
  std::unordered_set<std::string> defined;
  for (const auto& vi : graph.input()) defined.insert(vi.name());
  for (const auto& init : graph.initializer()) defined.insert(init.name());
  for (const auto& sparse : graph.sparse_initializer()) defined.insert(sparse.values().name());
  for (const auto& node : graph.node()) {
    for (const auto& o : node.output()) defined.insert(o);
  }
  auto read = [&](const std::string& name) {
    if (!name.empty() && !defined.contains(name) && seen.insert(name).second) out.push_back(name);
  };
  for (const auto& node : graph.node()) {
    for (const auto& in : node.input()) read(in);
    if (HasSubgraphs(node)) {
      for (const auto& name : OuterScopeReads(node)) read(name);
    }
  }
  for (const auto& vi : graph.output()) read(vi.name());
}

// Every name a subgraph of `node` uses, at any depth (UniqueName avoids them: names are unique across
// scopes).
void InsertSubgraphNames(const onnx::NodeProto& node, std::unordered_set<std::string>& names) {
  for (const auto& attr : node.attribute()) {
    std::vector<const onnx::GraphProto*> graphs;
    if (attr.has_g()) graphs.push_back(&attr.g());
    for (const auto& g : attr.graphs()) graphs.push_back(&g);
    for (const auto* g : graphs) {
      for (const auto& vi : g->input()) names.insert(vi.name());
      for (const auto& vi : g->output()) names.insert(vi.name());
      for (const auto& init : g->initializer()) names.insert(init.name());
      for (const auto& inner : g->node()) {
        if (!inner.name().empty()) names.insert(inner.name());
        for (const auto& o : inner.output()) names.insert(o);
        InsertSubgraphNames(inner, names);
      }
    }
  }
}

int64_t CountNodes(const onnx::GraphProto& graph) {
  int64_t count = graph.node_size();
  for (const auto& node : graph.node()) count += SubgraphNodeCount(node);
  return count;
}

}  // namespace

GraphView::GraphView(onnx::GraphProto* graph) : graph_(graph) { Rebuild(); }

void GraphView::Rebuild() {
  producer_.clear();
  consumers_.clear();
  initializer_.clear();
  value_info_.clear();
  graph_inputs_.clear();
  graph_outputs_.clear();
  used_names_.clear();
  subgraph_reads_.clear();
  for (int i = 0; i < graph_->initializer_size(); ++i) {
    initializer_[graph_->initializer(i).name()] = i;
    used_names_.insert(graph_->initializer(i).name());
  }
  for (const auto& vi : graph_->input()) {
    graph_inputs_.insert(vi.name());
    value_info_[vi.name()] = &vi;
    used_names_.insert(vi.name());
  }
  for (const auto& vi : graph_->output()) {
    graph_outputs_.insert(vi.name());
    value_info_[vi.name()] = &vi;
    used_names_.insert(vi.name());
  }
  for (const auto& vi : graph_->value_info()) value_info_.emplace(vi.name(), &vi);
  for (int i = 0; i < graph_->node_size(); ++i) {
    const auto& node = graph_->node(i);
    if (!node.name().empty()) used_names_.insert(node.name());
    for (const auto& out : node.output()) {
      if (out.empty()) continue;
      producer_[out] = i;
      used_names_.insert(out);
    }
    auto consume = [&](const std::string& in) {
      auto& list = consumers_[in];
      if (list.empty() || list.back() != i) list.push_back(i);
    };
    for (const auto& in : node.input()) {
      if (!in.empty()) consume(in);
    }
    if (!HasSubgraphs(node)) continue;
    InsertSubgraphNames(node, used_names_);
    for (const auto& name : OuterScopeReads(node)) {
      consume(name);
      subgraph_reads_.insert(name);
    }
  }
}

int GraphView::Producer(const std::string& tensor) const {
  const auto it = producer_.find(tensor);
  return it == producer_.end() ? -1 : it->second;
}

const std::vector<int>& GraphView::Consumers(const std::string& tensor) const {
  static const std::vector<int> kNone;
  const auto it = consumers_.find(tensor);
  return it == consumers_.end() ? kNone : it->second;
}

const onnx::TensorProto* GraphView::Initializer(const std::string& name) const {
  const auto it = initializer_.find(name);
  return it == initializer_.end() ? nullptr : &graph_->initializer(it->second);
}

onnx::TensorProto* GraphView::MutableInitializer(const std::string& name) {
  const auto it = initializer_.find(name);
  return it == initializer_.end() ? nullptr : graph_->mutable_initializer(it->second);
}

int32_t GraphView::ElemType(const std::string& name) const {
  if (const auto* init = Initializer(name)) return init->data_type();
  const auto it = value_info_.find(name);
  if (it == value_info_.end() || !it->second->type().has_tensor_type()) return 0;
  return it->second->type().tensor_type().elem_type();
}

std::optional<std::vector<int64_t>> GraphView::Shape(const std::string& name) const {
  if (const auto* init = Initializer(name)) return std::vector<int64_t>(init->dims().begin(), init->dims().end());
  const auto it = value_info_.find(name);
  if (it == value_info_.end() || !it->second->type().has_tensor_type() ||
      !it->second->type().tensor_type().has_shape()) {
    return std::nullopt;
  }
  std::vector<int64_t> dims;
  for (const auto& d : it->second->type().tensor_type().shape().dim()) {
    dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
  }
  return dims;
}

std::string GraphView::UniqueName(const std::string& base) {
  std::string name = base;
  for (int i = 1; used_names_.contains(name); ++i) name = base + "_" + std::to_string(i);
  used_names_.insert(name);
  return name;
}

bool HasSubgraphs(const onnx::NodeProto& node) {
  return std::ranges::any_of(node.attribute(),
                             [](const onnx::AttributeProto& attr) { return attr.has_g() || attr.graphs_size() > 0; });
}

std::vector<std::string> OuterScopeReads(const onnx::NodeProto& node) {
  std::vector<std::string> reads;
  std::unordered_set<std::string> seen;
  for (const auto& attr : node.attribute()) {
    if (attr.has_g()) AppendFreeNames(attr.g(), reads, seen);
    for (const auto& g : attr.graphs()) AppendFreeNames(g, reads, seen);
  }
  return reads;
}

int64_t SubgraphNodeCount(const onnx::NodeProto& node) {
  int64_t count = 0;
  for (const auto& attr : node.attribute()) {
    if (attr.has_g()) count += CountNodes(attr.g());
    for (const auto& g : attr.graphs()) count += CountNodes(g);
  }
  return count;
}

const onnx::AttributeProto* FindAttr(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& attr : node.attribute()) {
    if (attr.name() == name) return &attr;
  }
  return nullptr;
}

int64_t AttrInt(const onnx::NodeProto& node, const std::string& name, int64_t default_value) {
  const auto* attr = FindAttr(node, name);
  return attr == nullptr ? default_value : attr->i();
}

float AttrFloat(const onnx::NodeProto& node, const std::string& name, float default_value) {
  const auto* attr = FindAttr(node, name);
  return attr == nullptr ? default_value : attr->f();
}

std::vector<int64_t> AttrInts(const onnx::NodeProto& node, const std::string& name) {
  const auto* attr = FindAttr(node, name);
  if (attr == nullptr) return {};
  return {attr->ints().begin(), attr->ints().end()};
}

int64_t DefaultOpset(const onnx::ModelProto& model) {
  for (const auto& opset : model.opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx") return opset.version();
  }
  return 0;
}

std::string Describe(const onnx::NodeProto& node, int index) {
  if (!node.name().empty()) return node.op_type() + " '" + node.name() + "'";
  if (index >= 0) return node.op_type() + " (node " + std::to_string(index) + ")";
  return node.op_type() + " producing '" + (node.output_size() > 0 ? node.output(0) : std::string()) + "'";
}

}  // namespace onnxq
