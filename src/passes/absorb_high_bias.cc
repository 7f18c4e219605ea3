#include "passes/absorb_high_bias.h"

#include <algorithm>
#include <map>

#include "algorithms/high_bias_absorption.h"
#include "ir/graph_view.h"
#include "ir/tensor_util.h"
#include "passes/equalization_chains.h"

namespace onnxq {
namespace {

bool UnitGemm(const onnx::NodeProto& node) {
  return node.op_type() != "Gemm" || (AttrFloat(node, "alpha", 1.0F) == 1.0F && AttrFloat(node, "beta", 1.0F) == 1.0F);
}

TailLayout TailLayoutOf(const ChainLayer& tail) {
  if (tail.layout.kind == LayerKind::kDepthwise) return {.in_axis = 1, .out_axis = 0, .kind = TailKind::kDepthwise};
  return {.in_axis = tail.layout.in_axis, .out_axis = tail.layout.out_axis, .kind = TailKind::kDense};
}

}  // namespace

Result<PassReport> AbsorbHighBiasPass::Run(onnx::ModelProto& model, PassContext& context) const {
  GraphView view(model.mutable_graph());
  const std::set<std::string> subgraph_reads = NamesReadBySubgraphs(view.graph());
  PassReport report;
  std::map<std::string, int64_t> skipped;
  int64_t channels = 0;
  std::map<int, std::string> created_bias;  // tails that got a bias here, by node
  const ChainSearch search = FindEqualizationChains(view);
  for (const auto& chain : search.chains) {
    for (size_t i = 0; i + 1 < chain.layers.size(); ++i) {
      const ChainLayer& head = chain.layers[i];
      const ChainLayer& tail = chain.layers[i + 1];
      const ChainLink& link = chain.links[i];
      const auto stats = context.batch_norm_stats.find(head.output);
      if (stats == context.batch_norm_stats.end()) {
        ++skipped["no folded batch-norm statistics for the head"];
        continue;
      }
      const std::string head_bias_name = head.bias.empty() ? created_bias[head.node] : head.bias;
      if (head_bias_name.empty()) {
        ++skipped["the head has no bias"];
        continue;
      }
      if (!UnitGemm(view.graph().node(head.node)) || !UnitGemm(view.graph().node(tail.node))) {
        ++skipped["Gemm with alpha or beta other than 1"];
        continue;
      }
      if (link.padding && !options_.through_padding) {
        ++skipped["the tail pads its input"];
        continue;
      }
      const AbsorbOptions absorb{.activation = link.activation ? ActivationBetween::kRelu : ActivationBetween::kNone,
                                 .num_std = options_.num_std};
      const std::vector<float> absorbed = AbsorbableBias(stats->second.beta, stats->second.gamma, absorb);
      auto head_bias = ReadFloatInitializer(view, head_bias_name);
      auto tail_weight = ReadFloatInitializer(view, tail.weight);
      auto tail_bias = tail.bias.empty() ? std::optional<FloatInitializer>() : ReadFloatInitializer(view, tail.bias);
      if (!head_bias || !tail_weight || (!tail.bias.empty() && !tail_bias)) {
        return Internal("absorb_high_bias: layer tensors changed under the pass");
      }
      std::vector<float> new_tail_bias = tail_bias ? tail_bias->values : std::vector<float>();
      const EqualizationStatus status = AbsorbHighBias(absorbed, head_bias->values, tail_weight->values,
                                                       tail_weight->dims, TailLayoutOf(tail), new_tail_bias);
      if (!status.ok()) {
        ++skipped["sizes do not agree (" + status.message() + ")"];
        continue;
      }
      *view.MutableInitializer(head_bias_name) = MakeFloatTensor(head_bias_name, head_bias->dims, head_bias->values);
      const std::vector<int64_t> tail_dims =
          tail_bias ? tail_bias->dims : std::vector<int64_t>{static_cast<int64_t>(new_tail_bias.size())};
      const auto& tail_node = view.graph().node(tail.node);
      created_bias[tail.node] =
          SetNodeInitializer(view, tail.node, 2, (tail_node.name().empty() ? tail.output : tail_node.name()) + "_bias",
                             tail_dims, new_tail_bias, subgraph_reads);
      view.Rebuild();
      if (!ShiftBatchNormMeans(stats->second.beta, absorbed).ok()) context.batch_norm_stats.erase(stats);
      channels += std::count_if(absorbed.begin(), absorbed.end(), [](float c) { return c > 0.0F; });
      ++report.changes;
    }
  }
  if (report.changes > 0) {
    report.notes.push_back(std::to_string(report.changes) + " layer pairs absorbed bias (" + std::to_string(channels) +
                           " channels with c > 0)");
  }
  for (const auto& [reason, count] : skipped) {
    report.notes.push_back(std::to_string(count) + " layer pairs skipped: " + reason);
  }
  return report;
}

}  // namespace onnxq
