#include "quantizer/align_concat_scales.h"

#include "passes/pass_helpers.h"

namespace onnxq {

std::set<std::string> AlignConcatScales(const GraphView& graph, const std::set<std::string>& pinned, QuantPlan* plan) {
  std::set<std::string> aligned;
  for (const auto& mark : plan->marks) {
    const auto& node = graph.graph().node(mark.node);
    if (node.op_type() != "Concat" || !IsDefaultDomain(node) || node.output_size() == 0) continue;
    const auto output = plan->tensors.find(node.output(0));
    if (output == plan->tensors.end() || output->second.params.size() != 1) continue;
    const TensorQuant target = output->second;
    for (const std::string& input : node.input()) {
      const auto it = plan->tensors.find(input);
      if (it == plan->tensors.end() || pinned.contains(input)) continue;
      TensorQuant& q = it->second;
      if (q.role != TensorRole::kActivation || q.type != target.type || q.params.size() != 1) continue;
      if (q.params[0].scale == target.params[0].scale && q.params[0].zero_point == target.params[0].zero_point) {
        continue;
      }
      q.params = target.params;
      q.range = target.range;
      aligned.insert(input);
    }
  }
  return aligned;
}

}  // namespace onnxq
