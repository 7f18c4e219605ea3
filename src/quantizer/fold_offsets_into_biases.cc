#include "quantizer/fold_offsets_into_biases.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ir/graph_view.h"
#include "ir/tensor_util.h"
#include "quantizer/qdq_nodes.h"

namespace onnxq {
namespace {

bool IsLayer(const onnx::NodeProto& node) {
  return (node.op_type() == "Conv" || node.op_type() == "Gemm") && node.domain().empty() && node.input_size() == 3 &&
         node.output_size() == 1;
}

bool IsQuantize(const onnx::NodeProto& node) {
  return node.op_type() == "QuantizeLinear" && IsQdqDomain(node.domain()) && node.input_size() == 3;
}

// What one fold removes.
struct Folded {
  std::set<int> nodes;           // the first QuantizeLinear, its DequantizeLinear and the Add
  std::set<std::string> inputs;  // what they read, to drop when nothing else does
};

bool FoldOne(GraphView& graph, int add_index, Folded* folded) {
  const auto& add = graph.graph().node(add_index);
  if (add.op_type() != "Add" || !add.domain().empty() || add.input_size() != 2) return false;
  for (int side = 0; side < 2; ++side) {
    const auto offset = ScalarConstantValue(graph, add.input(1 - side));
    const auto* dq = DequantizeWriting(graph, add.input(side));
    if (!offset || dq == nullptr || OnlyReader(graph, add.input(side)) != add_index) continue;
    const int q_index = graph.Producer(dq->input(0));
    if (q_index < 0 || !IsQuantize(graph.graph().node(q_index)) || OnlyReader(graph, dq->input(0)) < 0) continue;
    const auto& q = graph.graph().node(q_index);
    const int layer_index = graph.Producer(q.input(0));
    if (layer_index < 0 || !IsLayer(graph.graph().node(layer_index)) || OnlyReader(graph, q.input(0)) != q_index) {
      continue;
    }
    const int out_index = OnlyReader(graph, add.output(0));
    if (out_index < 0 || !IsQuantize(graph.graph().node(out_index))) continue;
    auto& out_q = *graph.graph().mutable_node(out_index);
    const int32_t type = EightBitType(graph, q);
    if (type == 0 || EightBitType(graph, out_q) != type || out_q.domain() != q.domain()) continue;
    const auto bias = OwnedParameter(graph, graph.graph().node(layer_index), 2, onnx::TensorProto::INT32);
    if (!bias || Dims(*bias->values).size() != 1) continue;
    const auto codes = ToInt64s(*bias->values);
    const auto scales = ToFloats(*bias->scale);
    if (!codes.ok() || !scales.ok() || (scales->size() != 1 && scales->size() != codes->size())) continue;
    std::vector<int64_t> shifted(codes->size());
    bool fits = true;
    for (size_t m = 0; m < codes->size(); ++m) {
      const double step = static_cast<double>((*scales)[scales->size() == 1 ? 0 : m]);
      const double code = static_cast<double>((*codes)[m]) + std::nearbyint(*offset / step);
      fits = fits && step > 0.0 && std::abs(code) <= static_cast<double>(std::numeric_limits<int32_t>::max());
      shifted[m] = static_cast<int64_t>(code);
    }
    if (!fits) continue;
    *bias->values = MakeIntTensor(bias->values->name(), onnx::TensorProto::INT32, Dims(*bias->values), shifted);
    out_q.set_input(0, q.input(0));
    folded->nodes.insert({q_index, graph.Producer(add.input(side)), add_index});
    for (const auto* node : {&q, dq, &add}) {
      for (const auto& input : node->input()) folded->inputs.insert(input);
    }
    return true;
  }
  return false;
}

// Removes the folded nodes, then the DequantizeLinear nodes and initializers they read that nothing
// else does.
void Remove(onnx::GraphProto* graph, const Folded& folded) {
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (int i = 0; i < graph->node_size(); ++i) {
    if (!folded.nodes.contains(i)) *kept.Add() = std::move(*graph->mutable_node(i));
  }
  graph->mutable_node()->Swap(&kept);
  RemoveUnreadDequantizes(std::vector<std::string>(folded.inputs.begin(), folded.inputs.end()), graph);
}

}  // namespace

bool FoldsOffsetsIntoBiases(const QuantizeOptions& options) {
  return options.placement == QdqPlacement::kRuntimeFused && options.npu_mode == NpuMode::kNone;
}

int FoldOffsetsIntoBiases(onnx::GraphProto* graph) {
  GraphView view(graph);
  Folded folded;
  int count = 0;
  for (int i = 0; i < graph->node_size(); ++i) {
    if (FoldOne(view, i, &folded)) ++count;
  }
  if (count > 0) Remove(graph, folded);
  return count;
}

}  // namespace onnxq
