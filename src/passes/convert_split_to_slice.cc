#include "passes/convert_split_to_slice.h"

#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ir/graph_view.h"
#include "ir/tensor_util.h"
#include "passes/pass_helpers.h"

namespace onnxq {
namespace {

// Slice takes starts, ends and axes as inputs from opset 10, and negative axes from 11.
constexpr int64_t kSliceInputsOpset = 10;
constexpr int64_t kNegativeAxesOpset = 11;

struct SplitMatch {
  int64_t axis = 0;
  std::vector<int64_t> sizes;  // one per output
};

// A match, or why a Split stays.
struct MatchResult {
  std::optional<SplitMatch> match;
  std::string skip_reason;
};

MatchResult Skip(std::string reason) { return {.match = std::nullopt, .skip_reason = std::move(reason)}; }

// Equal parts of `length` for `outputs` outputs; nullopt with the reason when there are none.
std::optional<std::vector<int64_t>> EqualParts(const onnx::NodeProto& split, int64_t length, int64_t outputs,
                                               std::string* why) {
  if (length < 0) {
    *why = "it has no split sizes and the length of its axis is unknown";
    return std::nullopt;
  }
  if (const auto* num = FindAttr(split, "num_outputs"); num != nullptr) {
    if (num->i() != outputs) {
      *why = "num_outputs is " + std::to_string(num->i()) + " but it has " + std::to_string(outputs) + " outputs";
      return std::nullopt;
    }
    const int64_t chunk = (length + outputs - 1) / outputs;
    const int64_t last = length - chunk * (outputs - 1);
    if (last < 0) {
      *why = "a length of " + std::to_string(length) + " leaves nothing for its last outputs";
      return std::nullopt;
    }
    std::vector<int64_t> sizes(static_cast<size_t>(outputs), chunk);
    sizes.back() = last;
    return sizes;
  }
  if (length % outputs != 0) {
    *why = "a length of " + std::to_string(length) + " does not split into " + std::to_string(outputs) + " equal parts";
    return std::nullopt;
  }
  return std::vector<int64_t>(static_cast<size_t>(outputs), length / outputs);
}

MatchResult Match(const GraphView& view, const onnx::NodeProto& node, int64_t opset) {
  if (node.op_type() != "Split" || !IsDefaultDomain(node) || node.input_size() < 1 || node.input(0).empty() ||
      node.output_size() < 1) {
    return {};
  }
  if (opset < kSliceInputsOpset) return Skip("Slice takes its bounds as inputs from opset 10");
  for (const auto& output : node.output()) {
    if (output.empty()) return Skip("an output has no name");
  }
  SplitMatch m{.axis = AttrInt(node, "axis", 0), .sizes = {}};
  const std::optional<std::vector<int64_t>> shape = view.Shape(node.input(0));
  if (shape) {
    const auto rank = static_cast<int64_t>(shape->size());
    if (m.axis < 0) m.axis += rank;
    if (m.axis < 0 || m.axis >= rank) return Skip("its axis is out of range");
  } else if (m.axis < 0 && opset < kNegativeAxesOpset) {
    return Skip("its axis is negative, its input's rank unknown, and Slice takes negative axes from opset 11");
  }
  const int64_t length = shape && m.axis >= 0 ? (*shape)[m.axis] : -1;
  const auto outputs = static_cast<int64_t>(node.output_size());
  if (FindAttr(node, "split") != nullptr) {
    m.sizes = AttrInts(node, "split");
  } else if (node.input_size() > 1 && !node.input(1).empty()) {
    const auto sizes = ConstantInts(view, node.input(1));
    if (!sizes) return Skip("its split sizes are not constant");
    m.sizes = *sizes;
  } else {
    std::string why;
    auto sizes = EqualParts(node, length, outputs, &why);
    if (!sizes) return Skip(why);
    m.sizes = std::move(*sizes);
  }
  if (static_cast<int64_t>(m.sizes.size()) != outputs) {
    return Skip("it has " + std::to_string(m.sizes.size()) + " split sizes for " + std::to_string(outputs) +
                " outputs");
  }
  for (const int64_t size : m.sizes) {
    if (size < 0) return Skip("a split size is negative");
  }
  const int64_t total = std::accumulate(m.sizes.begin(), m.sizes.end(), int64_t{0});
  if (length >= 0 && total != length) {
    return Skip("its split sizes sum to " + std::to_string(total) + ", its axis has length " + std::to_string(length));
  }
  return {.match = std::move(m), .skip_reason = {}};
}

onnx::TensorProto Int64Scalar1D(const std::string& name, int64_t value) {
  const int64_t dims = 1;
  return MakeIntTensor(name, onnx::TensorProto::INT64, std::span<const int64_t>(&dims, 1),
                       std::span<const int64_t>(&value, 1));
}

}  // namespace

Result<PassReport> ConvertSplitToSlicePass::Run(onnx::ModelProto& model, PassContext& /*context*/) const {
  const int64_t opset = DefaultOpset(model);
  GraphView view(model.mutable_graph());
  PassReport report;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  std::vector<onnx::TensorProto> bounds;
  std::set<std::string> sizes;
  int64_t slices = 0;
  for (auto& node : *view.graph().mutable_node()) {
    const MatchResult result = Match(view, node, opset);
    if (!result.match) {
      if (!result.skip_reason.empty()) report.notes.push_back(Describe(node) + " stays: " + result.skip_reason);
      *nodes.Add() = std::move(node);
      continue;
    }
    const SplitMatch& m = *result.match;
    const std::string base = node.name().empty() ? node.output(0) : node.name();
    const std::string axes = view.UniqueName(base + "_axes");
    bounds.push_back(Int64Scalar1D(axes, m.axis));
    int64_t offset = 0;
    for (int i = 0; i < node.output_size(); ++i) {
      const std::string& output = node.output(i);
      const std::string starts = view.UniqueName(output + "_starts");
      const std::string ends = view.UniqueName(output + "_ends");
      bounds.push_back(Int64Scalar1D(starts, offset));
      offset += m.sizes[static_cast<size_t>(i)];
      bounds.push_back(Int64Scalar1D(ends, offset));
      onnx::NodeProto& slice = *nodes.Add();
      slice.set_op_type("Slice");
      slice.set_name(view.UniqueName(base + "_slice_" + std::to_string(i)));
      slice.add_input(node.input(0));
      slice.add_input(starts);
      slice.add_input(ends);
      slice.add_input(axes);
      slice.add_output(output);
    }
    if (node.input_size() > 1 && !node.input(1).empty()) sizes.insert(node.input(1));
    slices += node.output_size();
    ++report.changes;
  }
  view.graph().mutable_node()->Swap(&nodes);
  for (auto& bound : bounds) *view.graph().add_initializer() = std::move(bound);
  if (report.changes == 0) return report;
  RemoveUnused(view.graph(), sizes);
  report.notes.insert(report.notes.begin(),
                      std::to_string(report.changes) + " Split -> " + std::to_string(slices) + " Slice");
  return report;
}

}  // namespace onnxq
