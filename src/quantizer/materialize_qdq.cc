#include "quantizer/materialize_qdq.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "algorithms/raw_weights.h"
#include "common/fresh_memory.h"
#include "common/worker_pool.h"
#include "ir/graph_view.h"
#include "ir/tensor_util.h"

namespace onnxq {
namespace {

constexpr const char* kMicrosoftDomain = "com.microsoft";

onnx::NodeProto MakeNode(const std::string& op, const std::string& name, std::vector<std::string> inputs,
                         const std::string& output, int axis, QdqDomain domain) {
  onnx::NodeProto node;
  node.set_op_type(op);
  if (domain == QdqDomain::kMicrosoft) node.set_domain(kMicrosoftDomain);
  node.set_name(name);
  for (auto& in : inputs) node.add_input(std::move(in));
  node.add_output(output);
  if (axis >= 0) {
    auto* attr = node.add_attribute();
    attr->set_name("axis");
    attr->set_type(onnx::AttributeProto::INT);
    attr->set_i(axis);
  }
  return node;
}

// Adds `<tensor>_scale` and `<tensor>_zero_point` initializers; returns their names.
std::pair<std::string, std::string> AddScaleAndZeroPoint(const std::string& tensor, const TensorQuant& q,
                                                         GraphView& view, onnx::GraphProto* graph) {
  std::vector<float> scales;
  std::vector<int64_t> zero_points;
  for (const auto& p : q.params) {
    scales.push_back(p.scale);
    zero_points.push_back(p.zero_point);
  }
  const std::string scale_name = view.UniqueName(tensor + "_scale");
  const std::string zp_name = view.UniqueName(tensor + "_zero_point");
  std::vector<int64_t> dims;
  if (q.axis >= 0) dims.push_back(static_cast<int64_t>(scales.size()));
  *graph->add_initializer() = MakeFloatTensor(scale_name, dims, scales);
  *graph->add_initializer() = MakeIntTensor(zp_name, OnnxDataType(q.type), dims, zero_points);
  return {scale_name, zp_name};
}

void ImportMicrosoftDomain(onnx::ModelProto* model) {
  for (const auto& opset : model->opset_import()) {
    if (opset.domain() == kMicrosoftDomain) return;
  }
  auto* opset = model->add_opset_import();
  opset->set_domain(kMicrosoftDomain);
  opset->set_version(1);
}

// Applies Relu / Clip folding: the producer now writes the folded node's output directly. Folded
// nodes lose their outputs at once, so a view built afterwards sees one producer per tensor.
void ApplyFolding(const QuantPlan& plan, onnx::GraphProto* graph) {
  for (int i = 0; i < graph->node_size(); ++i) {
    auto* node = graph->mutable_node(i);
    if (plan.removed_nodes.contains(i)) {
      node->clear_output();
      node->clear_input();
      continue;
    }
    for (auto& out : *node->mutable_output()) {
      if (const auto it = plan.renamed_outputs.find(out); it != plan.renamed_outputs.end()) out = it->second;
    }
  }
}

// What materializing adds to the graph besides initializers, gathered before the node list is rebuilt.
struct QdqEdits {
  std::vector<onnx::NodeProto> head;                   // DQ of weights and Q/DQ of graph inputs
  std::map<int, std::vector<onnx::NodeProto>> after;   // Q/DQ emitted right after the producer
  std::map<std::string, std::string> replacement;      // tensor -> dequantized tensor read by consumers
  std::map<std::string, std::string> quantized;        // tensor -> its QuantizeLinear output
  std::map<std::string, std::string> producer_rename;  // graph outputs: producer writes a new name
  std::set<std::string> consumed_initializers;
};

// A QuantizeLinear / DequantizeLinear pair on activation `tensor`, right after its producer (first in
// the graph for a graph input).
void AddActivationQdq(const std::string& tensor, const TensorQuant& q, QdqDomain domain, GraphView& view,
                      onnx::GraphProto* graph, QdqEdits* edits) {
  const auto [scale, zp] = AddScaleAndZeroPoint(tensor, q, view, graph);
  std::string source = tensor;
  std::string dq_output = view.UniqueName(tensor + "_DequantizeLinear_Output");
  if (view.IsGraphOutput(tensor)) {
    // Keep the graph output's name on the dequantized value.
    source = view.UniqueName(tensor + "_QuantizeInput");
    edits->producer_rename[tensor] = source;
    dq_output = tensor;
  } else {
    edits->replacement[tensor] = dq_output;
  }
  const std::string q_output = view.UniqueName(tensor + "_QuantizeLinear_Output");
  edits->quantized[tensor] = q_output;
  std::vector<onnx::NodeProto> pair;
  pair.push_back(MakeNode("QuantizeLinear", view.UniqueName(tensor + "_QuantizeLinear"), {source, scale, zp}, q_output,
                          -1, domain));
  pair.push_back(MakeNode("DequantizeLinear", view.UniqueName(tensor + "_DequantizeLinear"), {q_output, scale, zp},
                          dq_output, -1, domain));
  const int producer = view.Producer(tensor);
  auto& dest = producer >= 0 ? edits->after[producer] : edits->head;
  dest.insert(dest.end(), pair.begin(), pair.end());
}

// `values` of a tensor of `dims` quantized with `q`, per channel along q.axis or per tensor.
std::vector<int64_t> QuantizeWeight(const std::vector<float>& values, const std::vector<int64_t>& dims,
                                    const TensorQuant& q) {
  std::vector<int64_t> quantized(values.size());
  const int64_t inner = [&dims, axis = q.axis] {
    int64_t n = 1;
    for (size_t d = static_cast<size_t>(axis) + 1; axis >= 0 && d < dims.size(); ++d) n *= dims[d];
    return n;
  }();
  const int64_t channels = q.axis >= 0 ? dims[static_cast<size_t>(q.axis)] : 1;
  // Runs of `inner` values share a channel (all of them, per tensor).
  const size_t run = q.axis >= 0 ? static_cast<size_t>(inner) : values.size();
  for (size_t start = 0, r = 0; start < values.size(); start += run, ++r) {
    const size_t c = q.axis >= 0 ? r % static_cast<size_t>(channels) : 0;
    const size_t n = std::min(run, values.size() - start);
    QuantizeValues(std::span(values).subspan(start, n), q.params[c], q.range, std::span(quantized).subspan(start, n));
  }
  return quantized;
}

// The raw data of a float tensor of `dims` quantized with `q` to 8-bit codes (q.type INT8 or UINT8),
// per channel along q.axis or per tensor: the same codes as QuantizeWeight, without a float or int64
// copy of the tensor, on every worker of `pool`.
std::string QuantizeRawFloatsTo8Bit(const std::string& raw, const std::vector<int64_t>& dims, const TensorQuant& q,
                                    WorkerPool& pool) {
  std::string quantized;
  ResizeOnFreshMemory(&quantized, raw.size() / sizeof(float));
  auto* const out =
      reinterpret_cast<uint8_t*>(quantized.data());  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
  QuantizeRawTo8Bit(raw, LayoutOf(dims, q.axis), q.params, q.range, pool, std::span<uint8_t>(out, quantized.size()));
  return quantized;
}

// Whether the weight is a float tensor in raw data quantized to 8 bits: QuantizeRawFloatsTo8Bit's case.
bool IsRawFloatTo8Bit(const onnx::TensorProto& init, const TensorQuant& q) {
  const bool eight_bit = q.type == QuantType::kInt8 || q.type == QuantType::kUInt8;
  return eight_bit && init.data_type() == onnx::TensorProto::FLOAT && init.has_raw_data() &&
         static_cast<int64_t>(init.raw_data().size()) == ElementCount(init) * static_cast<int64_t>(sizeof(float)) &&
         (q.axis < 0 || static_cast<int64_t>(q.params.size()) == Dims(init)[static_cast<size_t>(q.axis)]);
}

// The quantized initializer `name` of `init` with `q`.
Result<onnx::TensorProto> QuantizedInitializer(const onnx::TensorProto& init, const std::string& name,
                                               const TensorQuant& q, WorkerPool& pool) {
  const auto dims = Dims(init);
  if (IsRawFloatTo8Bit(init, q)) {
    onnx::TensorProto quantized;
    quantized.set_name(name);
    quantized.set_data_type(OnnxDataType(q.type));
    for (const int64_t d : dims) quantized.add_dims(d);
    quantized.set_raw_data(QuantizeRawFloatsTo8Bit(init.raw_data(), dims, q, pool));
    return quantized;
  }
  ONNXQ_ASSIGN_OR_RETURN(const auto values, ToFloats(init));
  return MakeIntTensor(name, OnnxDataType(q.type), dims, QuantizeWeight(values, dims, q));
}

// Weights and biases: a quantized initializer read through DequantizeLinear. Every reader of `tensor`
// reads the DequantizeLinear instead (RebuildNodes), so its float values are released at once unless
// `kept` names it (a graph output, or read inside a subgraph).
Status AddWeightDequantize(const std::string& tensor, const TensorQuant& q, QdqDomain domain,
                           const std::set<std::string>& kept, WorkerPool& pool, GraphView& view,
                           onnx::GraphProto* graph, QdqEdits* edits) {
  auto* init = view.MutableInitializer(tensor);
  if (init == nullptr) return Internal("planned weight '" + tensor + "' is not an initializer");
  const std::string qname = view.UniqueName(tensor + "_quantized");
  ONNXQ_ASSIGN_OR_RETURN(onnx::TensorProto quantized, QuantizedInitializer(*init, qname, q, pool));
  if (!kept.contains(tensor)) {
    std::string().swap(*init->mutable_raw_data());  // frees it: clear_raw_data keeps the capacity
    init->clear_raw_data();
    init->clear_float_data();
  }
  const auto [scale, zp] = AddScaleAndZeroPoint(tensor, q, view, graph);
  *graph->add_initializer() = std::move(quantized);
  const std::string dq_output = view.UniqueName(tensor + "_DequantizeLinear_Output");
  edits->head.push_back(MakeNode("DequantizeLinear", view.UniqueName(tensor + "_DequantizeLinear"), {qname, scale, zp},
                                 dq_output, q.axis >= 0 ? q.axis : -1, domain));
  edits->replacement[tensor] = dq_output;
  edits->consumed_initializers.insert(tensor);
  return Status::Ok();
}

// Tensors still read after the rewrite whatever it replaces: graph outputs and the outer-scope reads of
// subgraphs.
std::set<std::string> ReadAfterRewrite(const onnx::GraphProto& graph) {
  std::set<std::string> read;
  for (const auto& out : graph.output()) read.insert(out.name());
  for (const auto& node : graph.node()) {
    for (const auto& name : OuterScopeReads(node)) read.insert(name);
  }
  return read;
}

// Every tensor the graph reads: node inputs, reads inside subgraphs and graph outputs.
std::set<std::string> NamesRead(const onnx::GraphProto& graph) {
  std::set<std::string> read = ReadAfterRewrite(graph);
  for (const auto& node : graph.node()) read.insert(node.input().begin(), node.input().end());
  return read;
}

// Shape and Size read only the shape of their input, which the quantized tensor has too: reading it,
// they leave its DequantizeLinear to the ops that need values. Read from the dequantized tensor, the
// DequantizeLinear runs for them alone wherever ONNX Runtime fuses the value readers into integer
// kernels (shufflenet_v2_x1_0's channel shuffles: 77 Shape nodes kept 77 DequantizeLinear).
bool ReadsOnlyTheShape(const onnx::NodeProto& node) {
  return (node.domain().empty() || node.domain() == "ai.onnx") &&
         (node.op_type() == "Shape" || node.op_type() == "Size");
}

// Removes the DequantizeLinear nodes materializing added whose output nothing reads.
void DropUnreadDequantize(const QdqEdits& edits, onnx::GraphProto* graph) {
  std::set<std::string> added;
  for (const auto& [tensor, dq_output] : edits.replacement) added.insert(dq_output);
  const std::set<std::string> read = NamesRead(*graph);
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (auto& node : *graph->mutable_node()) {
    const bool unread =
        node.op_type() == "DequantizeLinear" && added.contains(node.output(0)) && !read.contains(node.output(0));
    if (!unread) *kept.Add() = std::move(node);
  }
  graph->mutable_node()->Swap(&kept);
}

// Rebuilds the node list in topological order with consumers rewired: the head first, then each kept
// node followed by the Q/DQ nodes of its outputs.
void RebuildNodes(const QuantPlan& plan, QdqEdits* edits, onnx::GraphProto* graph) {
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (auto& n : edits->head) *nodes.Add() = std::move(n);
  for (int i = 0; i < graph->node_size(); ++i) {
    if (plan.removed_nodes.contains(i)) continue;
    onnx::NodeProto node = graph->node(i);
    const bool shape_only = ReadsOnlyTheShape(node);
    for (auto& in : *node.mutable_input()) {
      const auto quantized = edits->quantized.find(in);
      const auto dequantized = edits->replacement.find(in);
      if (shape_only && quantized != edits->quantized.end()) {
        in = quantized->second;
      } else if (dequantized != edits->replacement.end()) {
        in = dequantized->second;
      }
    }
    for (auto& out : *node.mutable_output()) {
      if (const auto it = edits->producer_rename.find(out); it != edits->producer_rename.end()) out = it->second;
    }
    *nodes.Add() = std::move(node);
    if (const auto it = edits->after.find(i); it != edits->after.end()) {
      for (auto& n : it->second) *nodes.Add() = std::move(n);
    }
  }
  graph->mutable_node()->Swap(&nodes);
}

// Drops the float initializers of `consumed` that nothing reads any more (and their graph-input
// entries, in old models).
void DropUnreadInitializers(const std::set<std::string>& consumed, onnx::GraphProto* graph) {
  const std::set<std::string> still_read = NamesRead(*graph);
  auto* inits = graph->mutable_initializer();
  for (int i = inits->size() - 1; i >= 0; --i) {
    const std::string& name = inits->Get(i).name();
    if (consumed.contains(name) && !still_read.contains(name)) inits->DeleteSubrange(i, 1);
  }
  auto* inputs = graph->mutable_input();
  for (int i = inputs->size() - 1; i >= 0; --i) {
    const std::string& name = inputs->Get(i).name();
    if (consumed.contains(name) && !still_read.contains(name)) inputs->DeleteSubrange(i, 1);
  }
}

}  // namespace

Status MaterializeQdq(const QuantPlan& plan, onnx::ModelProto* model, const MaterializeOptions& options) {
  onnx::GraphProto* graph = model->mutable_graph();
  if (options.domain == QdqDomain::kMicrosoft && !plan.tensors.empty()) ImportMicrosoftDomain(model);
  ApplyFolding(plan, graph);
  GraphView view(graph);
  QdqEdits edits;
  const std::set<std::string> kept = ReadAfterRewrite(*graph);
  WorkerPool pool(0);
  for (const auto& [tensor, q] : plan.tensors) {
    if (q.role == TensorRole::kActivation && !view.IsInitializer(tensor)) {
      AddActivationQdq(tensor, q, options.domain, view, graph, &edits);
    } else {
      ONNXQ_RETURN_IF_ERROR(AddWeightDequantize(tensor, q, options.domain, kept, pool, view, graph, &edits));
    }
  }
  RebuildNodes(plan, &edits, graph);
  DropUnreadDequantize(edits, graph);
  DropUnreadInitializers(edits.consumed_initializers, graph);
  // value_info of renamed or removed tensors would now be stale.
  graph->clear_value_info();
  return Status::Ok();
}

}  // namespace onnxq
