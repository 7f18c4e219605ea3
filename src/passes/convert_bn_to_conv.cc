#include "passes/convert_bn_to_conv.h"

#include <optional>

#include "algorithms/batch_norm_fold.h"
#include "ir/graph_view.h"
#include "ir/tensor_util.h"
#include "passes/pass_helpers.h"

namespace onnxq {
namespace {

struct ConvertMatch {
  int batch_norm = -1;
  size_t rank = 0;
  BatchNormParams params;
};

struct MatchResult {
  std::optional<ConvertMatch> match;
  std::string skip_reason;  // empty when the node is no batch norm
};

MatchResult Skip(std::string reason) { return {std::nullopt, std::move(reason)}; }

MatchResult Match(const GraphView& view, int index) {
  const auto& bn = view.graph().node(index);
  if (bn.op_type() != "BatchNormalization" || !IsDefaultDomain(bn) || bn.input_size() != 5 || bn.output_size() < 1 ||
      bn.output(0).empty()) {
    return {};
  }
  if (AttrInt(bn, "training_mode", 0) != 0 || AttrInt(bn, "spatial", 1) != 1) return Skip("not in inference mode");
  for (int o = 1; o < bn.output_size(); ++o) {
    if (!bn.output(o).empty() && (!view.Consumers(bn.output(o)).empty() || view.IsGraphOutput(bn.output(o)))) {
      return Skip("its running statistics outputs are read");
    }
  }
  const auto gamma = ConstantValues(view, bn.input(1));
  const auto beta = ConstantValues(view, bn.input(2));
  const auto mean = ConstantValues(view, bn.input(3));
  const auto var = ConstantValues(view, bn.input(4));
  if (!gamma || !beta || !mean || !var) return Skip("its parameters are not constant");
  if (view.ElemType(bn.input(0)) != onnx::TensorProto::FLOAT) return Skip("its input is not known to be float32");
  auto shape = view.Shape(bn.input(0));
  if (!shape) shape = view.Shape(bn.output(0));
  if (!shape) return Skip("the rank of its input is unknown");
  if (shape->size() < 3) return Skip("its input has rank " + std::to_string(shape->size()) + " (Conv needs >= 3)");
  if ((*shape)[1] >= 0 && (*shape)[1] != static_cast<int64_t>(gamma->size())) {
    return Skip("its input has " + std::to_string((*shape)[1]) + " channels, its parameters " +
                std::to_string(gamma->size()));
  }
  ConvertMatch m{.batch_norm = index, .rank = shape->size()};
  m.params = {.gamma = *gamma, .beta = *beta, .mean = *mean, .var = *var, .epsilon = AttrFloat(bn, "epsilon", 1e-5F)};
  return {std::move(m), {}};
}

Status Rewrite(const ConvertMatch& m, GraphView& view) {
  onnx::NodeProto& node = *view.graph().mutable_node(m.batch_norm);
  std::vector<float> weight;
  std::vector<float> bias;
  const EqualizationStatus status = BatchNormAsDepthwise(m.params, weight, bias);
  if (!status.ok()) return InvalidModel(Describe(node, m.batch_norm) + ": cannot convert: " + status.message());
  const auto channels = static_cast<int64_t>(weight.size());
  std::vector<int64_t> weight_dims(m.rank, 1);
  weight_dims[0] = channels;
  const std::string base = node.name().empty() ? node.output(0) : node.name();
  const std::string weight_name = view.UniqueName(base + "_weight");
  const std::string bias_name = view.UniqueName(base + "_bias");
  *view.graph().add_initializer() = MakeFloatTensor(weight_name, weight_dims, weight);
  *view.graph().add_initializer() = MakeFloatTensor(bias_name, std::span<const int64_t>(&channels, 1), bias);

  std::set<std::string> unused(node.input().begin() + 1, node.input().end());
  const std::string input = node.input(0);
  const std::string output = node.output(0);
  node.clear_input();
  node.clear_output();
  node.clear_attribute();
  node.set_op_type("Conv");
  node.set_domain("");
  node.add_input(input);
  node.add_input(weight_name);
  node.add_input(bias_name);
  node.add_output(output);
  auto* group = node.add_attribute();
  group->set_name("group");
  group->set_type(onnx::AttributeProto::INT);
  group->set_i(channels);
  SetAttrInts(node, "kernel_shape", std::vector<int64_t>(m.rank - 2, 1));
  RemoveUnused(view.graph(), unused);
  view.Rebuild();
  return Status::Ok();
}

}  // namespace

Result<PassReport> ConvertBnToConvPass::Run(onnx::ModelProto& model, PassContext& /*context*/) const {
  GraphView view(model.mutable_graph());
  PassReport report;
  std::vector<std::string> skipped;
  for (int i = view.graph().node_size() - 1; i >= 0; --i) {
    if (i >= view.graph().node_size()) continue;  // a rewrite also removed unused nodes before i
    const MatchResult result = Match(view, i);
    if (!result.match) {
      if (!result.skip_reason.empty()) {
        skipped.push_back(Describe(view.graph().node(i), i) + " stays: " + result.skip_reason);
      }
      continue;
    }
    ONNXQ_RETURN_IF_ERROR(Rewrite(*result.match, view));
    ++report.changes;
  }
  if (report.changes > 0) {
    report.notes.push_back(std::to_string(report.changes) + " BatchNormalization -> depthwise 1x1 Conv");
  }
  report.notes.insert(report.notes.end(), skipped.rbegin(), skipped.rend());
  return report;
}

}  // namespace onnxq
