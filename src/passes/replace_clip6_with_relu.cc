#include "passes/replace_clip6_with_relu.h"

#include <cmath>
#include <limits>
#include <optional>

#include "ir/graph_view.h"
#include "passes/pass_helpers.h"

namespace onnxq {
namespace {

enum class ClipKind { kRelu6, kRelu };

// The value of bound `input` (1: min, 2: max) or attribute `attr`; +-inf when absent, nullopt when
// it is not a constant scalar.
std::optional<float> Bound(const GraphView& view, const onnx::NodeProto& clip, int input, const std::string& attr,
                           float absent) {
  if (const auto* a = FindAttr(clip, attr); a != nullptr) return a->f();
  if (clip.input_size() <= input || clip.input(input).empty()) return absent;
  const auto values = ConstantValues(view, clip.input(input));
  if (!values || values->size() != 1) return std::nullopt;
  return (*values)[0];
}

std::optional<ClipKind> Match(const GraphView& view, const onnx::NodeProto& node) {
  if (node.op_type() != "Clip" || !IsDefaultDomain(node) || node.input_size() < 1 || node.output_size() != 1) {
    return std::nullopt;
  }
  const auto lo = Bound(view, node, 1, "min", -std::numeric_limits<float>::infinity());
  const auto hi = Bound(view, node, 2, "max", std::numeric_limits<float>::infinity());
  if (!lo || !hi || *lo != 0.0F) return std::nullopt;
  if (*hi == 6.0F) return ClipKind::kRelu6;
  if (std::isinf(*hi) && *hi > 0) return ClipKind::kRelu;
  return std::nullopt;
}

}  // namespace

Result<PassReport> ReplaceClip6WithReluPass::Run(onnx::ModelProto& model, PassContext& /*context*/) const {
  GraphView view(model.mutable_graph());
  PassReport report;
  int64_t relu6 = 0;
  int64_t relu = 0;
  std::set<std::string> bounds;
  for (auto& node : *view.graph().mutable_node()) {
    const auto kind = Match(view, node);
    if (!kind) continue;
    (*kind == ClipKind::kRelu6 ? relu6 : relu) += 1;
    for (int i = 1; i < node.input_size(); ++i) bounds.insert(node.input(i));
    const std::string input = node.input(0);
    node.clear_input();
    node.add_input(input);
    node.clear_attribute();
    node.set_op_type("Relu");
    ++report.changes;
  }
  if (report.changes == 0) return report;
  bounds.erase("");
  RemoveUnused(view.graph(), bounds);
  if (relu6 > 0) {
    report.notes.push_back(std::to_string(relu6) + " Clip(0, 6) -> Relu (outputs above 6 are no longer clipped)");
  }
  if (relu > 0) report.notes.push_back(std::to_string(relu) + " Clip(0, no max) -> Relu");
  return report;
}

}  // namespace onnxq
