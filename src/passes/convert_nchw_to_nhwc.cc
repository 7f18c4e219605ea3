#include "passes/convert_nchw_to_nhwc.h"

#include <set>
#include <string>
#include <vector>

#include "ir/graph_view.h"
#include "passes/pass_helpers.h"

namespace onnxq {
namespace {

// Why the graph input `input` stays NCHW; empty when it is converted.
std::string SkipReason(const onnx::ValueInfoProto& input, const std::set<std::string>& outputs,
                       const std::set<std::string>& subgraph_reads) {
  const auto& type = input.type();
  if (!type.has_tensor_type() || !type.tensor_type().has_shape()) return "its rank is unknown";
  if (const int rank = type.tensor_type().shape().dim_size(); rank != 4) {
    return "it has rank " + std::to_string(rank) + ", not 4";
  }
  if (outputs.contains(input.name())) return "it is also a graph output";
  if (subgraph_reads.contains(input.name())) return "a subgraph reads it";
  return "";
}

}  // namespace

Result<PassReport> ConvertNchwToNhwcPass::Run(onnx::ModelProto& model, PassContext& /*context*/) const {
  onnx::GraphProto& graph = *model.mutable_graph();
  GraphView view(&graph);
  std::set<std::string> initializers;
  for (const auto& init : graph.initializer()) initializers.insert(init.name());
  std::set<std::string> outputs;
  for (const auto& out : graph.output()) outputs.insert(out.name());
  const std::set<std::string> subgraph_reads = NamesReadBySubgraphs(graph);
  PassReport report;
  std::vector<onnx::NodeProto> transposes;
  std::set<std::string> renamed;
  for (auto& input : *graph.mutable_input()) {
    if (initializers.contains(input.name())) continue;
    if (const std::string reason = SkipReason(input, outputs, subgraph_reads); !reason.empty()) {
      report.notes.push_back("input '" + input.name() + "' stays as it is: " + reason);
      continue;
    }
    const std::string nchw = view.UniqueName(input.name() + "_nchw");
    for (const int consumer : view.Consumers(input.name())) {
      auto& node = *graph.mutable_node(consumer);
      for (auto& name : *node.mutable_input()) {
        if (name == input.name()) name = nchw;
      }
    }
    auto& shape = *input.mutable_type()->mutable_tensor_type()->mutable_shape();
    const onnx::TensorShapeProto nchw_shape = shape;
    constexpr int kFrom[4] = {0, 2, 3, 1};  // NHWC axis i is NCHW axis kFrom[i]
    for (int i = 0; i < 4; ++i) *shape.mutable_dim(i) = nchw_shape.dim(kFrom[i]);
    onnx::NodeProto transpose;
    transpose.set_name(view.UniqueName(input.name() + "_to_nchw"));
    transpose.set_op_type("Transpose");
    transpose.add_input(input.name());
    transpose.add_output(nchw);
    auto& perm = *transpose.add_attribute();
    perm.set_name("perm");
    perm.set_type(onnx::AttributeProto::INTS);
    for (const int64_t axis : {0, 3, 1, 2}) perm.add_ints(axis);
    transposes.push_back(std::move(transpose));
    renamed.insert(input.name());
    report.notes.push_back("input '" + input.name() + "' takes NHWC data, Transpose to NCHW '" + nchw + "'");
    ++report.changes;
  }
  if (transposes.empty()) return report;
  // The Transposes first, so the node list stays in topological order.
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (auto& t : transposes) *nodes.Add() = std::move(t);
  for (auto& node : *graph.mutable_node()) *nodes.Add() = std::move(node);
  graph.mutable_node()->Swap(&nodes);
  EraseValueInfo(graph, renamed);
  return report;
}

}  // namespace onnxq
