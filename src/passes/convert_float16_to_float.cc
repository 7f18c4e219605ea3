#include "passes/convert_float16_to_float.h"

#include <algorithm>
#include <map>
#include <set>

#include "ir/graph_view.h"
#include "ir/infer_shapes.h"
#include "ir/tensor_util.h"
#include "passes/pass_helpers.h"

namespace onnxq {
namespace {

constexpr int32_t kFloat = onnx::TensorProto::FLOAT;
constexpr int32_t kFloat16 = onnx::TensorProto::FLOAT16;

bool IsCastTo(const onnx::NodeProto& node, int32_t to) {
  return node.op_type() == "Cast" && IsDefaultDomain(node) && node.input_size() == 1 && node.output_size() == 1 &&
         AttrInt(node, "to", 0) == to;
}

void SetIntAttr(onnx::NodeProto& node, const std::string& name, int64_t value) {
  for (auto& attr : *node.mutable_attribute()) {
    if (attr.name() == name) {
      attr.set_i(value);
      return;
    }
  }
}

onnx::NodeProto MakeCast(const std::string& name, const std::string& input, const std::string& output, int32_t to) {
  onnx::NodeProto node;
  node.set_op_type("Cast");
  node.set_name(name);
  node.add_input(input);
  node.add_output(output);
  auto* attr = node.add_attribute();
  attr->set_name("to");
  attr->set_type(onnx::AttributeProto::INT);
  attr->set_i(to);
  return node;
}

int32_t TensorElemType(const onnx::ValueInfoProto& info) {
  return info.type().has_tensor_type() ? info.type().tensor_type().elem_type() : 0;
}

// Float16 element types inside `type` (tensors, sequences, optionals, map values) become float32.
bool ConvertType(onnx::TypeProto& type) {
  switch (type.value_case()) {
    case onnx::TypeProto::kTensorType:
      if (type.tensor_type().elem_type() != kFloat16) return false;
      type.mutable_tensor_type()->set_elem_type(kFloat);
      return true;
    case onnx::TypeProto::kSparseTensorType:
      if (type.sparse_tensor_type().elem_type() != kFloat16) return false;
      type.mutable_sparse_tensor_type()->set_elem_type(kFloat);
      return true;
    case onnx::TypeProto::kSequenceType:
      return type.sequence_type().has_elem_type() && ConvertType(*type.mutable_sequence_type()->mutable_elem_type());
    case onnx::TypeProto::kOptionalType:
      return type.optional_type().has_elem_type() && ConvertType(*type.mutable_optional_type()->mutable_elem_type());
    case onnx::TypeProto::kMapType:
      return type.map_type().has_value_type() && ConvertType(*type.mutable_map_type()->mutable_value_type());
    default:
      return false;
  }
}

// A float16 tensor becomes float32 with the same name, dims and values.
Result<bool> ConvertTensor(onnx::TensorProto& tensor) {
  if (tensor.data_type() != kFloat16) return false;
  ONNXQ_ASSIGN_OR_RETURN(const std::vector<float> values, ToFloats(tensor));
  onnx::TensorProto converted = MakeFloatTensor(tensor.name(), Dims(tensor), values);
  converted.set_doc_string(tensor.doc_string());
  tensor = std::move(converted);
  return true;
}

// Ops whose `dtype` attribute names the element type of their output.
bool HasOutputDtype(const onnx::NodeProto& node) {
  static const std::set<std::string> kOps = {"RandomNormal",      "RandomUniform", "RandomNormalLike",
                                             "RandomUniformLike", "EyeLike",       "Bernoulli"};
  return IsDefaultDomain(node) && kOps.contains(node.op_type());
}

bool HasFloat16Attribute(const onnx::NodeProto& node) {
  for (const auto& attr : node.attribute()) {
    if (attr.has_t() && attr.t().data_type() == kFloat16) return true;
    for (const auto& t : attr.tensors()) {
      if (t.data_type() == kFloat16) return true;
    }
    if (attr.name() == "dtype" && attr.i() == kFloat16 && HasOutputDtype(node)) return true;
  }
  return false;
}

// Every read of a key of `renames` (node inputs, in subgraphs too, and subgraph outputs, which may name
// outer values) reads the mapped name. The main graph's outputs are the caller's business.
void RenameReads(onnx::GraphProto& graph, const std::map<std::string, std::string>& renames, bool subgraph) {
  if (renames.empty()) return;
  for (auto& node : *graph.mutable_node()) {
    for (auto& in : *node.mutable_input()) {
      if (const auto it = renames.find(in); it != renames.end()) in = it->second;
    }
    for (auto& attr : *node.mutable_attribute()) {
      if (attr.has_g()) RenameReads(*attr.mutable_g(), renames, /*subgraph=*/true);
      for (auto& g : *attr.mutable_graphs()) RenameReads(g, renames, /*subgraph=*/true);
    }
  }
  if (!subgraph) return;
  for (auto& out : *graph.mutable_output()) {
    if (const auto it = renames.find(out.name()); it != renames.end()) out.set_name(it->second);
  }
}

// The cheap match: does the main graph compute in float16 (see the header)?
bool ComputesInFloat16(const onnx::GraphProto& graph) {
  std::set<std::string> half;
  for (const auto& init : graph.initializer()) {
    if (init.data_type() == kFloat16) half.insert(init.name());
  }
  for (const auto& input : graph.input()) {
    if (TensorElemType(input) == kFloat16) half.insert(input.name());
  }
  for (const auto& info : graph.value_info()) {
    if (TensorElemType(info) == kFloat16) half.insert(info.name());
  }
  for (const auto& node : graph.node()) {
    if (IsCastTo(node, kFloat16) || HasFloat16Attribute(node)) half.insert(node.output().begin(), node.output().end());
  }
  std::set<std::string> written_by_non_cast;
  for (const auto& node : graph.node()) {
    const bool cast = node.op_type() == "Cast" && IsDefaultDomain(node);
    if (cast) continue;
    if (std::ranges::any_of(node.input(), [&](const std::string& in) { return half.contains(in); })) return true;
    written_by_non_cast.insert(node.output().begin(), node.output().end());
  }
  return std::ranges::any_of(graph.output(), [&](const onnx::ValueInfoProto& output) {
    return TensorElemType(output) == kFloat16 && written_by_non_cast.contains(output.name());
  });
}

// Initializers, attributes, Casts and value_info of `graph` and its subgraphs become float32 (a
// subgraph's inputs and outputs too: they are internal). Counts rewrites in `changes`.
Status ConvertInternals(onnx::GraphProto& graph, bool subgraph, int64_t& changes) {
  for (auto& init : *graph.mutable_initializer()) {
    ONNXQ_ASSIGN_OR_RETURN(const bool converted, ConvertTensor(init));
    changes += converted ? 1 : 0;
  }
  for (auto& sparse : *graph.mutable_sparse_initializer()) {
    ONNXQ_ASSIGN_OR_RETURN(const bool converted, ConvertTensor(*sparse.mutable_values()));
    changes += converted ? 1 : 0;
  }
  for (auto& node : *graph.mutable_node()) {
    if (IsCastTo(node, kFloat16)) {
      SetIntAttr(node, "to", kFloat);
      ++changes;
    }
    const bool output_dtype = HasOutputDtype(node);
    for (auto& attr : *node.mutable_attribute()) {
      if (attr.has_t()) {
        ONNXQ_ASSIGN_OR_RETURN(const bool converted, ConvertTensor(*attr.mutable_t()));
        changes += converted ? 1 : 0;
      }
      for (auto& t : *attr.mutable_tensors()) {
        ONNXQ_ASSIGN_OR_RETURN(const bool converted, ConvertTensor(t));
        changes += converted ? 1 : 0;
      }
      if (output_dtype && attr.name() == "dtype" && attr.i() == kFloat16) {
        attr.set_i(kFloat);
        ++changes;
      }
      if (attr.has_g()) ONNXQ_RETURN_IF_ERROR(ConvertInternals(*attr.mutable_g(), /*subgraph=*/true, changes));
      for (auto& g : *attr.mutable_graphs()) {
        ONNXQ_RETURN_IF_ERROR(ConvertInternals(g, /*subgraph=*/true, changes));
      }
    }
  }
  for (auto& info : *graph.mutable_value_info()) changes += ConvertType(*info.mutable_type()) ? 1 : 0;
  if (subgraph) {
    for (auto& info : *graph.mutable_input()) changes += ConvertType(*info.mutable_type()) ? 1 : 0;
    for (auto& info : *graph.mutable_output()) changes += ConvertType(*info.mutable_type()) ? 1 : 0;
  }
  return Status::Ok();
}

// Element types of the graph's tensors before conversion: what the graph declares, completed by ONNX
// type inference on a copy (a failure there only leaves types unknown).
class ElementTypes {
 public:
  explicit ElementTypes(onnx::ModelProto model) : inferred_(std::move(model)), view_(inferred_.mutable_graph()) {
    // A model inference refuses (a zero stride ...) is left to PrepareModel's error; whatever inference
    // typed before it stopped is kept.
    (void)InferShapes(inferred_);
    view_.Rebuild();
  }

  // 0 when unknown; a Cast's output is of its `to` type.
  int32_t Of(const std::string& tensor) const {
    if (const int32_t type = view_.ElemType(tensor); type != 0) return type;
    const int producer = view_.Producer(tensor);
    if (producer < 0) return 0;
    const auto& node = view_.graph().node(producer);
    return node.op_type() == "Cast" && IsDefaultDomain(node) ? static_cast<int32_t>(AttrInt(node, "to", 0)) : 0;
  }

 private:
  onnx::ModelProto inferred_;
  GraphView view_;
};

// Removes the casts between float16 and float32 (either way) of the main graph: once everything is
// float32 they cast nothing. One that writes a graph output stays (the interface). Readers read the
// cast's input. Returns how many went.
int64_t RemoveFloatCasts(onnx::ModelProto& model) {
  const ElementTypes types(model);
  onnx::GraphProto& graph = *model.mutable_graph();
  GraphView view(&graph);
  std::set<int> removed;
  std::map<std::string, std::string> renames;
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    if (!(IsCastTo(node, kFloat16) || IsCastTo(node, kFloat)) || view.IsGraphOutput(node.output(0)) ||
        node.input(0).empty()) {
      continue;
    }
    const int32_t in_type = types.Of(node.input(0));
    if (in_type != kFloat && in_type != kFloat16) continue;
    removed.insert(i);
    renames[node.output(0)] = node.input(0);
  }
  // A chain of removed Casts reads the first one's input.
  for (auto& [from, to] : renames) {
    for (auto it = renames.find(to); it != renames.end(); it = renames.find(to)) to = it->second;
  }
  EraseNodes(graph, removed);
  std::set<std::string> gone;
  for (const auto& [from, to] : renames) gone.insert(from);
  EraseValueInfo(graph, gone);
  RenameReads(graph, renames, /*subgraph=*/false);
  return static_cast<int64_t>(removed.size());
}

// Whole-model conversion to float32, interface included; returns the float16 inputs and outputs.
Result<Float16Interface> ConvertToFloat(onnx::ModelProto& model, PassReport& report) {
  onnx::GraphProto& graph = *model.mutable_graph();
  const int64_t removed = RemoveFloatCasts(model);
  int64_t changes = removed;
  // Casts writing graph outputs stay; they become casts to float16 again with the interface.
  ONNXQ_RETURN_IF_ERROR(ConvertInternals(graph, /*subgraph=*/false, changes));
  GraphView view(&graph);
  Float16Interface interface;
  for (auto& input : *graph.mutable_input()) {
    if (!ConvertType(*input.mutable_type())) continue;
    if (!view.IsInitializer(input.name())) interface.inputs.push_back(input.name());
  }
  for (auto& output : *graph.mutable_output()) {
    // An input passed straight through keeps its float16 (the input's type is restored).
    if (view.IsGraphInput(output.name()) || TensorElemType(output) != kFloat16) continue;
    ConvertType(*output.mutable_type());
    interface.outputs.push_back(output.name());
  }
  report.changes = changes + static_cast<int64_t>(interface.inputs.size() + interface.outputs.size());
  report.notes.push_back("computes in float32: " + std::to_string(changes) + " float16 tensors, attributes and " +
                         "types converted, " + std::to_string(removed) + " casts between float16 and float32 removed");
  return interface;
}

onnx::ValueInfoProto* FindValueInfo(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& infos,
                                    const std::string& name) {
  for (auto& info : infos) {
    if (info.name() == name) return &info;
  }
  return nullptr;
}

}  // namespace

Result<PassReport> ConvertFloat16ToFloatPass::Run(onnx::ModelProto& model, PassContext& /*context*/) const {
  PassReport report;
  if (!ComputesInFloat16(model.graph())) return report;
  ONNXQ_ASSIGN_OR_RETURN(const Float16Interface interface, ConvertToFloat(model, report));
  ONNXQ_RETURN_IF_ERROR(RestoreFloat16Interface(interface, model));
  if (!interface.empty()) {
    report.notes.push_back("float16 interface kept: " + std::to_string(interface.inputs.size()) + " inputs and " +
                           std::to_string(interface.outputs.size()) + " outputs cast at the graph's edge");
  }
  return report;
}

Float16Interface ExposeFloatInterface(onnx::ModelProto& model) {
  onnx::GraphProto& graph = *model.mutable_graph();
  GraphView view(&graph);
  const std::set<std::string> subgraph_reads = NamesReadBySubgraphs(graph);
  Float16Interface exposed;
  std::set<int> removed;
  std::map<std::string, std::string> read_renames;   // Cast outputs -> the input they cast
  std::map<std::string, std::string> write_renames;  // tensors cast into an output -> that output
  for (auto& input : *graph.mutable_input()) {
    const std::string& name = input.name();
    if (TensorElemType(input) != kFloat16 || view.IsInitializer(name) || view.IsGraphOutput(name) ||
        subgraph_reads.contains(name) || view.Consumers(name).empty()) {
      continue;
    }
    bool only_casts = true;
    for (const int reader : view.Consumers(name)) {
      const auto& node = graph.node(reader);
      only_casts = only_casts && IsCastTo(node, kFloat) && !view.IsGraphOutput(node.output(0));
    }
    if (!only_casts) continue;
    for (const int reader : view.Consumers(name)) {
      removed.insert(reader);
      read_renames[graph.node(reader).output(0)] = name;
    }
    input.mutable_type()->mutable_tensor_type()->set_elem_type(kFloat);
    exposed.inputs.push_back(name);
  }
  std::set<std::string> taken;
  for (auto& output : *graph.mutable_output()) {
    const std::string& name = output.name();
    const int producer = view.Producer(name);
    if (TensorElemType(output) != kFloat16 || producer < 0 || !IsCastTo(graph.node(producer), kFloat16)) continue;
    const std::string& source = graph.node(producer).input(0);
    if (source.empty() || view.ElemType(source) != kFloat || view.IsGraphInput(source) || view.IsInitializer(source) ||
        view.IsGraphOutput(source) || view.Producer(source) < 0 || read_renames.contains(source) ||
        !taken.insert(source).second) {
      continue;
    }
    removed.insert(producer);
    write_renames[source] = name;
    output.mutable_type()->mutable_tensor_type()->set_elem_type(kFloat);
    exposed.outputs.push_back(name);
  }
  if (removed.empty()) return exposed;
  EraseNodes(graph, removed);
  for (auto& node : *graph.mutable_node()) {
    for (auto& out : *node.mutable_output()) {
      if (const auto it = write_renames.find(out); it != write_renames.end()) out = it->second;
    }
  }
  std::map<std::string, std::string> renames = read_renames;
  renames.insert(write_renames.begin(), write_renames.end());
  std::set<std::string> gone;
  for (const auto& [from, to] : renames) gone.insert(from);
  EraseValueInfo(graph, gone);
  RenameReads(graph, renames, /*subgraph=*/false);
  return exposed;
}

Status RestoreFloat16Interface(const Float16Interface& interface, onnx::ModelProto& model) {
  if (interface.empty()) return Status::Ok();
  onnx::GraphProto& graph = *model.mutable_graph();
  GraphView view(&graph);
  const std::set<std::string> subgraph_reads = NamesReadBySubgraphs(graph);
  std::vector<onnx::NodeProto> head;
  std::vector<onnx::NodeProto> tail;
  std::map<std::string, std::string> read_renames;
  std::map<std::string, std::string> write_renames;
  std::vector<onnx::ValueInfoProto> infos;
  for (const std::string& name : interface.inputs) {
    onnx::ValueInfoProto* input = FindValueInfo(*graph.mutable_input(), name);
    if (input == nullptr || !input->type().has_tensor_type()) {
      return Internal("float16 graph input '" + name + "' to restore is not a tensor input of the model");
    }
    const std::string cast_output = view.UniqueName(name + "_float");
    head.push_back(MakeCast(view.UniqueName(name + "_Cast"), name, cast_output, kFloat));
    read_renames[name] = cast_output;
    onnx::ValueInfoProto info = *input;  // float32, the input's shape
    info.set_name(cast_output);
    info.mutable_type()->mutable_tensor_type()->set_elem_type(kFloat);
    infos.push_back(std::move(info));
    input->mutable_type()->mutable_tensor_type()->set_elem_type(kFloat16);
  }
  for (const std::string& name : interface.outputs) {
    onnx::ValueInfoProto* output = FindValueInfo(*graph.mutable_output(), name);
    if (output == nullptr || !output->type().has_tensor_type() || view.IsGraphInput(name)) {
      return Internal("float16 graph output '" + name + "' to restore is not a tensor output of the model");
    }
    output->mutable_type()->mutable_tensor_type()->set_elem_type(kFloat16);
    const int producer = view.Producer(name);
    // A cast to float that only feeds the output becomes the cast to float16.
    if (producer >= 0 && IsCastTo(graph.node(producer), kFloat) && view.Consumers(name).empty() &&
        !subgraph_reads.contains(name)) {
      SetIntAttr(*graph.mutable_node(producer), "to", kFloat16);
      continue;
    }
    const std::string written = view.UniqueName(name + "_float");
    write_renames[name] = written;
    tail.push_back(MakeCast(view.UniqueName(name + "_Cast"), written, name, kFloat16));
    onnx::ValueInfoProto info = *output;
    info.set_name(written);
    info.mutable_type()->mutable_tensor_type()->set_elem_type(kFloat);
    infos.push_back(std::move(info));
  }
  // Outputs: the producer (or initializer) writes the new name and readers read it.
  for (auto& node : *graph.mutable_node()) {
    for (auto& out : *node.mutable_output()) {
      if (const auto it = write_renames.find(out); it != write_renames.end()) out = it->second;
    }
  }
  for (auto& init : *graph.mutable_initializer()) {
    if (const auto it = write_renames.find(init.name()); it != write_renames.end()) init.set_name(it->second);
  }
  std::set<std::string> stale;
  for (const auto& [from, to] : write_renames) stale.insert(from);
  EraseValueInfo(graph, stale);
  std::map<std::string, std::string> renames = read_renames;
  renames.insert(write_renames.begin(), write_renames.end());
  RenameReads(graph, renames, /*subgraph=*/false);

  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (auto& node : head) *nodes.Add() = std::move(node);
  for (auto& node : *graph.mutable_node()) *nodes.Add() = std::move(node);
  for (auto& node : tail) *nodes.Add() = std::move(node);
  graph.mutable_node()->Swap(&nodes);
  for (auto& info : infos) *graph.add_value_info() = std::move(info);
  return Status::Ok();
}

}  // namespace onnxq
