#include "passes/split_large_kernel_pool.h"

#include <optional>
#include <string>
#include <vector>

#include "algorithms/dpu_approximations.h"
#include "ir/graph_view.h"
#include "passes/pass_helpers.h"

namespace onnxq {
namespace {

struct SplitMatch {
  int64_t kernel_h = 1;
  int64_t kernel_w = 1;
};

// A match, or why a GlobalAveragePool stays (empty: small enough or not one to split, no note).
struct MatchResult {
  std::optional<SplitMatch> match;
  std::string skip_reason;
};

MatchResult Skip(std::string reason) { return {.match = std::nullopt, .skip_reason = std::move(reason)}; }

MatchResult Match(const GraphView& view, const onnx::NodeProto& node) {
  if (node.op_type() != "GlobalAveragePool" || !IsDefaultDomain(node) || node.input_size() != 1 ||
      node.output_size() != 1 || node.input(0).empty()) {
    return {};
  }
  const std::optional<std::vector<int64_t>> shape = view.Shape(node.input(0));
  if (!shape) return Skip("its input's shape is unknown");
  if (shape->size() != 4) return {};
  const int64_t h = (*shape)[2];
  const int64_t w = (*shape)[3];
  if (h <= 0 || w <= 0) return Skip("its input's height or width is unknown");
  if (h * w <= kDpuMaxGlobalPoolSize) return {};
  const SplitMatch m{.kernel_h = LargestFactorUpToRoot(h), .kernel_w = LargestFactorUpToRoot(w)};
  if (m.kernel_h * m.kernel_w == 1) {
    return Skip("averages " + std::to_string(h) + " x " + std::to_string(w) +
                " values, but both are prime: no blocks to split into");
  }
  return {.match = m, .skip_reason = {}};
}

const onnx::ValueInfoProto* FindValueInfo(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto* infos : {&graph.input(), &graph.value_info(), &graph.output()}) {
    for (const auto& info : *infos) {
      if (info.name() == name) return &info;
    }
  }
  return nullptr;
}

// The value_info of the block means: x's, with H and W divided by the kernel; nullopt when x has none of
// rank 4 (its shape came from an initializer).
std::optional<onnx::ValueInfoProto> BlockMeansInfo(const onnx::GraphProto& graph, const std::string& x,
                                                   const std::string& name, const std::vector<int64_t>& shape,
                                                   const SplitMatch& m) {
  const auto* input = FindValueInfo(graph, x);
  if (input == nullptr || input->type().tensor_type().shape().dim_size() != 4) return std::nullopt;
  onnx::ValueInfoProto info;
  info.set_name(name);
  *info.mutable_type() = input->type();
  auto* dims = info.mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim();
  dims->Mutable(2)->set_dim_value(shape[2] / m.kernel_h);
  dims->Mutable(3)->set_dim_value(shape[3] / m.kernel_w);
  return info;
}

}  // namespace

Result<PassReport> SplitLargeKernelPoolPass::Run(onnx::ModelProto& model, PassContext& /*context*/) const {
  GraphView view(model.mutable_graph());
  PassReport report;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  std::vector<onnx::ValueInfoProto> infos;
  for (auto& node : *view.graph().mutable_node()) {
    const MatchResult result = Match(view, node);
    if (!result.match) {
      if (!result.skip_reason.empty()) report.notes.push_back(Describe(node) + " stays: " + result.skip_reason);
      *nodes.Add() = std::move(node);
      continue;
    }
    const SplitMatch& m = *result.match;
    const std::string x = node.input(0);
    const std::string base = node.name().empty() ? node.output(0) : node.name();
    const std::string blocks = view.UniqueName(node.output(0) + "_block_means");
    onnx::NodeProto& pool = *nodes.Add();
    pool.set_op_type("AveragePool");
    pool.set_name(view.UniqueName(base + "_blocks"));
    pool.add_input(x);
    pool.add_output(blocks);
    SetAttrInts(pool, "kernel_shape", {m.kernel_h, m.kernel_w});
    SetAttrInts(pool, "strides", {m.kernel_h, m.kernel_w});
    if (auto info = BlockMeansInfo(view.graph(), x, blocks, *view.Shape(x), m)) infos.push_back(std::move(*info));
    node.set_input(0, blocks);
    *nodes.Add() = std::move(node);
    ++report.changes;
  }
  view.graph().mutable_node()->Swap(&nodes);
  for (auto& info : infos) *view.graph().add_value_info() = std::move(info);
  if (report.changes > 0) {
    report.notes.insert(report.notes.begin(), std::to_string(report.changes) +
                                                  " GlobalAveragePool over > 512 values split into an AveragePool "
                                                  "over blocks and a GlobalAveragePool");
  }
  return report;
}

}  // namespace onnxq
