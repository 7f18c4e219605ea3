#include "passes/pass_helpers.h"

#include "ir/tensor_util.h"

namespace onnxq {
namespace {

// Identity nodes are followed at most this far (a cycle would be an invalid model anyway).
constexpr int kMaxIdentityChain = 64;

// Follows Identity nodes from `tensor` back to the first tensor that is not an Identity output.
std::string ThroughIdentities(const GraphView& view, const std::string& tensor) {
  std::string name = tensor;
  for (int i = 0; i < kMaxIdentityChain; ++i) {
    const int producer = view.Producer(name);
    if (producer < 0) break;
    const auto& node = view.graph().node(producer);
    if (node.op_type() != "Identity" || !IsDefaultDomain(node) || node.input_size() != 1) break;
    name = node.input(0);
  }
  return name;
}

void CollectSubgraphReads(const onnx::GraphProto& graph, std::set<std::string>& reads);

void CollectNodeSubgraphReads(const onnx::NodeProto& node, std::set<std::string>& reads) {
  for (const auto& attr : node.attribute()) {
    if (attr.has_g()) CollectSubgraphReads(attr.g(), reads);
    for (const auto& g : attr.graphs()) CollectSubgraphReads(g, reads);
  }
}

// Every name read inside `graph` (a subgraph body), including its own nested subgraphs. Names the
// body defines itself are included too; they cannot clash with outer names (ONNX names are unique
// across scopes), so the over-approximation is harmless.
void CollectSubgraphReads(const onnx::GraphProto& graph, std::set<std::string>& reads) {
  for (const auto& node : graph.node()) {
    for (const auto& in : node.input()) {
      if (!in.empty()) reads.insert(in);
    }
    CollectNodeSubgraphReads(node, reads);
  }
  for (const auto& out : graph.output()) reads.insert(out.name());
}

// The default-domain Constant node writing `name`, or nullptr.
const onnx::NodeProto* ConstantNode(const GraphView& view, const std::string& name) {
  const int producer = view.Producer(name);
  if (producer < 0) return nullptr;
  const auto& node = view.graph().node(producer);
  return node.op_type() == "Constant" && IsDefaultDomain(node) ? &node : nullptr;
}

// The tensor a Constant node holds as its `value`, or nullptr.
const onnx::TensorProto* ConstantTensor(const onnx::NodeProto& node) {
  const auto* attr = FindAttr(node, "value");
  return attr != nullptr && attr->has_t() ? &attr->t() : nullptr;
}

// Where the constant `tensor` (through Identity nodes) lives: an initializer or a Constant node's
// `value` (`tensor`), or a Constant node with a scalar or list attribute (`node` alone); neither when it
// is no constant.
struct ConstantSource {
  const onnx::TensorProto* tensor = nullptr;
  const onnx::NodeProto* node = nullptr;
};

ConstantSource FindConstant(const GraphView& view, const std::string& tensor) {
  const std::string name = ThroughIdentities(view, tensor);
  ConstantSource source{.tensor = view.Initializer(name)};
  if (source.tensor == nullptr) source.node = ConstantNode(view, name);
  if (source.node != nullptr) source.tensor = ConstantTensor(*source.node);
  return source;
}

}  // namespace

bool IsDefaultDomain(const onnx::NodeProto& node) { return node.domain().empty() || node.domain() == "ai.onnx"; }

std::string ResolveInitializer(const GraphView& view, const std::string& tensor) {
  const std::string name = ThroughIdentities(view, tensor);
  return view.IsInitializer(name) ? name : std::string();
}

void SetAttrInts(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values) {
  EraseAttr(node, name);
  auto* attr = node.add_attribute();
  attr->set_name(name);
  attr->set_type(onnx::AttributeProto::INTS);
  for (const int64_t v : values) attr->add_ints(v);
}

void EraseAttr(onnx::NodeProto& node, const std::string& name) {
  auto* attrs = node.mutable_attribute();
  for (int i = attrs->size() - 1; i >= 0; --i) {
    if (attrs->Get(i).name() == name) attrs->DeleteSubrange(i, 1);
  }
}

std::optional<std::vector<float>> ConstantValues(const GraphView& view, const std::string& tensor) {
  const auto [value, node] = FindConstant(view, tensor);
  if (value == nullptr) {
    if (node == nullptr) return std::nullopt;
    if (const auto* f = FindAttr(*node, "value_float"); f != nullptr) return std::vector<float>{f->f()};
    if (const auto* fs = FindAttr(*node, "value_floats"); fs != nullptr) {
      return std::vector<float>(fs->floats().begin(), fs->floats().end());
    }
    return std::nullopt;
  }
  auto values = ToFloats(*value);
  if (!values.ok()) return std::nullopt;
  return std::move(values).value();
}

std::optional<std::vector<int64_t>> ConstantInts(const GraphView& view, const std::string& tensor) {
  const auto [value, node] = FindConstant(view, tensor);
  if (value == nullptr) {
    if (node == nullptr) return std::nullopt;
    if (const auto* i = FindAttr(*node, "value_int"); i != nullptr) return std::vector<int64_t>{i->i()};
    if (const auto* is = FindAttr(*node, "value_ints"); is != nullptr) {
      return std::vector<int64_t>(is->ints().begin(), is->ints().end());
    }
    return std::nullopt;
  }
  if (value->data_type() != onnx::TensorProto::INT64 && value->data_type() != onnx::TensorProto::INT32) {
    return std::nullopt;
  }
  auto values = ToInt64s(*value);
  if (!values.ok() || static_cast<int64_t>(values->size()) != ElementCount(*value)) return std::nullopt;
  return std::move(values).value();
}

std::set<std::string> NamesReadBySubgraphs(const onnx::GraphProto& graph) {
  std::set<std::string> reads;
  for (const auto& node : graph.node()) CollectNodeSubgraphReads(node, reads);
  return reads;
}

bool ReadOnlyBy(const GraphView& view, const std::string& tensor, int node,
                const std::set<std::string>& subgraph_reads) {
  const auto& consumers = view.Consumers(tensor);
  return consumers.size() == 1 && consumers[0] == node && !view.IsGraphOutput(tensor) &&
         !subgraph_reads.contains(tensor);
}

int SoleConsumer(const GraphView& view, const std::string& tensor, const std::set<std::string>& subgraph_reads) {
  const auto& consumers = view.Consumers(tensor);
  if (consumers.size() != 1 || view.IsGraphOutput(tensor) || subgraph_reads.contains(tensor)) return -1;
  // A node reading the tensor twice (Add(x, x)) is still one consumer, but not a chain link: callers
  // check the input position themselves.
  return consumers[0];
}

std::optional<FloatInitializer> ReadFloatInitializer(const GraphView& view, const std::string& name) {
  const auto* init = view.Initializer(name);
  if (init == nullptr || init->data_type() != onnx::TensorProto::FLOAT) return std::nullopt;
  auto values = ToFloats(*init);
  if (!values.ok()) return std::nullopt;
  return FloatInitializer{name, Dims(*init), std::move(values).value()};
}

std::string SetNodeInitializer(GraphView& view, int node, int slot, const std::string& base,
                               std::span<const int64_t> dims, std::span<const float> values,
                               const std::set<std::string>& subgraph_reads) {
  auto* proto = view.graph().mutable_node(node);
  std::string current = slot < proto->input_size() ? proto->input(slot) : std::string();
  if (!current.empty() && view.IsInitializer(current) && !view.IsGraphInput(current) &&
      ReadOnlyBy(view, current, node, subgraph_reads)) {
    *view.MutableInitializer(current) = MakeFloatTensor(current, dims, values);
    return current;
  }
  std::string name = view.UniqueName(base);
  *view.graph().add_initializer() = MakeFloatTensor(name, dims, values);
  while (proto->input_size() <= slot) proto->add_input("");
  proto->set_input(slot, name);
  return name;
}

int64_t RemoveUnused(onnx::GraphProto& graph, const std::set<std::string>& candidates) {
  const std::set<std::string> subgraph_reads = NamesReadBySubgraphs(graph);
  std::set<std::string> dead_candidates = candidates;
  int64_t removed = 0;
  bool changed = true;
  while (changed) {
    changed = false;
    std::set<std::string> read = subgraph_reads;
    for (const auto& node : graph.node()) {
      for (const auto& in : node.input()) read.insert(in);
    }
    for (const auto& out : graph.output()) read.insert(out.name());
    // Constant and Identity nodes writing an unread candidate go; an Identity's input becomes one.
    std::set<int> dead_nodes;
    for (int i = 0; i < graph.node_size(); ++i) {
      const auto& node = graph.node(i);
      if (!IsDefaultDomain(node) || node.output_size() != 1 ||
          (node.op_type() != "Constant" && node.op_type() != "Identity")) {
        continue;
      }
      const std::string& out = node.output(0);
      if (!dead_candidates.contains(out) || read.contains(out)) continue;
      if (node.op_type() == "Identity" && node.input_size() == 1) dead_candidates.insert(node.input(0));
      dead_nodes.insert(i);
    }
    if (!dead_nodes.empty()) {
      EraseNodes(graph, dead_nodes);
      removed += static_cast<int64_t>(dead_nodes.size());
      changed = true;
      continue;
    }
    auto* inits = graph.mutable_initializer();
    std::set<std::string> erased;
    for (int i = inits->size() - 1; i >= 0; --i) {
      const std::string& name = inits->Get(i).name();
      if (dead_candidates.contains(name) && !read.contains(name)) {
        erased.insert(name);
        inits->DeleteSubrange(i, 1);
        ++removed;
      }
    }
    auto* inputs = graph.mutable_input();
    for (int i = inputs->size() - 1; i >= 0; --i) {
      if (erased.contains(inputs->Get(i).name())) inputs->DeleteSubrange(i, 1);
    }
  }
  return removed;
}

void EraseValueInfo(onnx::GraphProto& graph, const std::set<std::string>& names) {
  auto* infos = graph.mutable_value_info();
  for (int i = infos->size() - 1; i >= 0; --i) {
    if (names.contains(infos->Get(i).name())) infos->DeleteSubrange(i, 1);
  }
}

void EraseNodes(onnx::GraphProto& graph, const std::set<int>& nodes) {
  if (nodes.empty()) return;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (int i = 0; i < graph.node_size(); ++i) {
    if (!nodes.contains(i)) *kept.Add() = std::move(*graph.mutable_node(i));
  }
  graph.mutable_node()->Swap(&kept);
}

std::optional<LayerLayout> LayoutOf(const onnx::NodeProto& node, std::span<const int64_t> weight_dims) {
  if (!IsDefaultDomain(node)) return std::nullopt;
  const bool conv = node.op_type() == "Conv";
  const bool transpose = node.op_type() == "ConvTranspose";
  if (conv || transpose) {
    if (weight_dims.size() < 3) return std::nullopt;
    const int64_t group = AttrInt(node, "group", 1);
    if (group < 1) return std::nullopt;
    LayerLayout layout;
    if (group == 1) {
      layout.kind = LayerKind::kDense;
      layout.out_axis = conv ? 0 : 1;
      layout.in_axis = conv ? 1 : 0;
      layout.out_channels = weight_dims[static_cast<size_t>(layout.out_axis)];
      layout.in_channels = weight_dims[static_cast<size_t>(layout.in_axis)];
    } else if (weight_dims[0] == group && weight_dims[1] == 1) {
      // Conv [C, 1, k...] or ConvTranspose [C, 1, k...] with group C: one channel in, one out.
      layout.kind = LayerKind::kDepthwise;
      layout.out_axis = 0;
      layout.in_axis = 0;
      layout.out_channels = group;
      layout.in_channels = group;
    } else {
      layout.kind = LayerKind::kGrouped;
      layout.out_axis = conv ? 0 : 1;
      layout.in_axis = conv ? 1 : 0;
      layout.out_channels = conv ? weight_dims[0] : weight_dims[1] * group;
      layout.in_channels = conv ? weight_dims[1] * group : weight_dims[0];
    }
    return layout;
  }
  if (node.op_type() == "Gemm") {
    if (weight_dims.size() != 2) return std::nullopt;
    const bool trans_b = AttrInt(node, "transB", 0) != 0;
    LayerLayout layout;
    layout.kind = LayerKind::kDense;
    layout.out_axis = trans_b ? 0 : 1;
    layout.in_axis = trans_b ? 1 : 0;
    layout.out_channels = weight_dims[static_cast<size_t>(layout.out_axis)];
    layout.in_channels = weight_dims[static_cast<size_t>(layout.in_axis)];
    return layout;
  }
  return std::nullopt;
}

}  // namespace onnxq
