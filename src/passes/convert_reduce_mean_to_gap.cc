#include "passes/convert_reduce_mean_to_gap.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ir/graph_view.h"
#include "passes/pass_helpers.h"

namespace onnxq {
namespace {

// A match, or why a ReduceMean that may average over H and W stays (empty: not one to convert, no note).
struct MatchResult {
  bool match = false;
  std::string skip_reason;
};

MatchResult Skip(std::string reason) { return {.match = false, .skip_reason = std::move(reason)}; }

bool IsGapType(int32_t type) {
  return type == onnx::TensorProto::FLOAT || type == onnx::TensorProto::FLOAT16 || type == onnx::TensorProto::DOUBLE;
}

MatchResult Match(const GraphView& view, const onnx::NodeProto& node) {
  if (node.op_type() != "ReduceMean" || !IsDefaultDomain(node) || node.input_size() < 1 || node.output_size() != 1 ||
      node.input(0).empty()) {
    return {};
  }
  std::vector<int64_t> axes = AttrInts(node, "axes");
  if (FindAttr(node, "axes") == nullptr && node.input_size() > 1 && !node.input(1).empty()) {
    const auto values = ConstantInts(view, node.input(1));
    if (!values) return Skip("its axes are not constant");
    axes = *values;
  }
  if (axes.empty()) return {};  // every axis, or none (noop_with_empty_axes)
  const std::optional<std::vector<int64_t>> shape = view.Shape(node.input(0));
  if (shape) {
    const auto rank = static_cast<int64_t>(shape->size());
    for (int64_t& axis : axes) axis += axis < 0 ? rank : 0;
  }
  std::ranges::sort(axes);
  const bool spatial = axes == std::vector<int64_t>{2, 3} || (!shape && axes == std::vector<int64_t>{-2, -1});
  if (!spatial) return {};
  if (!shape) return Skip("its input's rank is unknown");
  if (shape->size() != 4) return {};
  if (AttrInt(node, "keepdims", 1) != 1) return Skip("keepdims is 0 (GlobalAveragePool keeps the reduced dims)");
  if (!IsGapType(view.ElemType(node.input(0)))) return Skip("its type is not float32, float16 or double");
  return {.match = true, .skip_reason = {}};
}

}  // namespace

Result<PassReport> ConvertReduceMeanToGapPass::Run(onnx::ModelProto& model, PassContext& /*context*/) const {
  GraphView view(model.mutable_graph());
  PassReport report;
  std::set<std::string> axes;
  for (auto& node : *view.graph().mutable_node()) {
    const MatchResult result = Match(view, node);
    if (!result.match) {
      if (!result.skip_reason.empty()) report.notes.push_back(Describe(node) + " stays: " + result.skip_reason);
      continue;
    }
    for (int i = 1; i < node.input_size(); ++i) axes.insert(node.input(i));
    const std::string input = node.input(0);
    node.clear_input();
    node.add_input(input);
    node.clear_attribute();
    node.set_op_type("GlobalAveragePool");
    node.set_domain("");
    ++report.changes;
  }
  if (report.changes == 0) return report;
  axes.erase("");
  RemoveUnused(view.graph(), axes);
  report.notes.insert(report.notes.begin(),
                      std::to_string(report.changes) + " ReduceMean over [2, 3] -> GlobalAveragePool");
  return report;
}

}  // namespace onnxq
