#include "passes/fold_weight_casts.h"

#include <set>

#include "ir/graph_view.h"
#include "ir/tensor_util.h"
#include "passes/pass_helpers.h"

namespace onnxq {
namespace {

bool IsFloatingType(int32_t type) {
  return type == onnx::TensorProto::FLOAT16 || type == onnx::TensorProto::BFLOAT16 ||
         type == onnx::TensorProto::DOUBLE || type == onnx::TensorProto::FLOAT;
}

// The constant tensor a Cast reads: an initializer or a Constant node's `value`; null when it is none.
const onnx::TensorProto* ConstantSource(const GraphView& view, const std::string& tensor) {
  if (view.IsGraphInput(tensor)) return nullptr;
  if (const auto* init = view.Initializer(tensor)) return init;
  const int producer = view.Producer(tensor);
  if (producer < 0) return nullptr;
  const auto& node = view.graph().node(producer);
  if (node.op_type() != "Constant" || !IsDefaultDomain(node) || node.attribute_size() != 1 ||
      node.attribute(0).name() != "value" || !node.attribute(0).has_t()) {
    return nullptr;
  }
  return &node.attribute(0).t();
}

// The match: the constant a foldable Cast converts, or null.
const onnx::TensorProto* Match(const GraphView& view, const onnx::NodeProto& node) {
  if (node.op_type() != "Cast" || !IsDefaultDomain(node) || node.input_size() != 1 || node.output_size() != 1 ||
      AttrInt(node, "to", 0) != onnx::TensorProto::FLOAT || view.IsGraphOutput(node.output(0))) {
    return nullptr;
  }
  const onnx::TensorProto* source = ConstantSource(view, node.input(0));
  if (source == nullptr || !IsFloatingType(source->data_type()) ||
      source->data_location() == onnx::TensorProto::EXTERNAL) {
    return nullptr;
  }
  return source;
}

}  // namespace

Result<PassReport> FoldWeightCastsPass::Run(onnx::ModelProto& model, PassContext& /*context*/) const {
  onnx::GraphProto& graph = *model.mutable_graph();
  GraphView view(&graph);
  PassReport report;
  std::set<int> folded;
  std::set<std::string> sources;
  std::vector<onnx::TensorProto> added;
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    const onnx::TensorProto* source = Match(view, node);
    if (source == nullptr) continue;
    ONNXQ_ASSIGN_OR_RETURN(const std::vector<float> values, ToFloats(*source));
    added.push_back(MakeFloatTensor(node.output(0), Dims(*source), values));
    sources.insert(node.input(0));
    folded.insert(i);
  }
  if (folded.empty()) return report;
  EraseNodes(graph, folded);
  for (auto& tensor : added) *graph.add_initializer() = std::move(tensor);
  RemoveUnused(graph, sources);
  report.changes = static_cast<int64_t>(folded.size());
  report.notes.push_back(std::to_string(report.changes) + " Cast nodes of weights -> float32 initializers");
  return report;
}

}  // namespace onnxq
