#include "passes/unshare_biases.h"

#include <map>
#include <string>

#include "ir/graph_view.h"
#include "passes/pass_helpers.h"

namespace onnxq {
namespace {

bool TakesBias(const onnx::NodeProto& node) {
  return IsDefaultDomain(node) &&
         (node.op_type() == "Conv" || node.op_type() == "ConvTranspose" || node.op_type() == "Gemm") &&
         node.input_size() > 2 && !node.input(2).empty();
}

}  // namespace

Result<PassReport> UnshareBiasesPass::Run(onnx::ModelProto& model, PassContext& /*context*/) const {
  GraphView view(model.mutable_graph());
  PassReport report;
  // Reads of each initializer so far, in node order: the first reader keeps it. Initializers are
  // held by pointer, so adding copies leaves the view's lookups valid.
  std::map<std::string, int64_t> reads;
  std::map<std::string, int64_t> copies;
  auto& graph = view.graph();
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    for (int k = 0; k < node.input_size(); ++k) {
      const std::string tensor = node.input(k);  // a copy: the input is renamed below
      if (tensor.empty() || !view.IsInitializer(tensor)) continue;
      const bool shared = reads[tensor]++ > 0 || view.ReadBySubgraph(tensor) || view.IsGraphOutput(tensor);
      if (k != 2 || !TakesBias(node) || !shared || view.IsGraphInput(tensor)) continue;
      onnx::TensorProto copy = *view.Initializer(tensor);
      copy.set_name(view.UniqueName(tensor));
      graph.mutable_node(i)->set_input(2, copy.name());
      *graph.add_initializer() = std::move(copy);
      ++copies[tensor];
      ++report.changes;
    }
  }
  for (const auto& [tensor, count] : copies) {
    if (report.notes.size() == 3) {
      report.notes.push_back("... " + std::to_string(report.changes) + " biases copied in all");
      break;
    }
    report.notes.push_back("bias '" + tensor + "' copied for " + std::to_string(count) +
                           (count == 1 ? " more layer" : " more layers"));
  }
  return report;
}

}  // namespace onnxq
