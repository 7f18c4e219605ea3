#include "passes/fold_batch_norm.h"

#include <optional>

#include "algorithms/batch_norm_fold.h"
#include "ir/graph_view.h"
#include "passes/pass_helpers.h"

namespace onnxq {
namespace {

// A batch norm that can fold into the layer before it, with everything the rewrite needs read.
struct FoldMatch {
  int batch_norm = -1;
  int layer = -1;
  LayerLayout layout;
  FloatInitializer weight;
  std::optional<FloatInitializer> bias;
  BatchNormParams params;
};

// The match, or the reason there is none (empty when the batch norm does not follow a layer at all).
struct MatchResult {
  std::optional<FoldMatch> match;
  std::string skip_reason;
};

MatchResult Skip(std::string reason) { return {std::nullopt, std::move(reason)}; }

MatchResult Match(const GraphView& view, int index, const std::set<std::string>& subgraph_reads) {
  const auto& bn = view.graph().node(index);
  if (bn.op_type() != "BatchNormalization" || !IsDefaultDomain(bn) || bn.input_size() != 5 || bn.output_size() < 1 ||
      bn.output(0).empty()) {
    return {};
  }
  const int layer = view.Producer(bn.input(0));
  if (layer < 0) return {};
  const auto& node = view.graph().node(layer);
  if (!IsDefaultDomain(node) ||
      (node.op_type() != "Conv" && node.op_type() != "ConvTranspose" && node.op_type() != "Gemm")) {
    return {};
  }
  if (AttrInt(bn, "training_mode", 0) != 0 || AttrInt(bn, "spatial", 1) != 1) return Skip("not in inference mode");
  for (int o = 1; o < bn.output_size(); ++o) {
    if (!bn.output(o).empty() && (!view.Consumers(bn.output(o)).empty() || view.IsGraphOutput(bn.output(o)))) {
      return Skip("its running statistics outputs are read");
    }
  }
  if (node.output_size() < 1 || node.output(0) != bn.input(0) ||
      SoleConsumer(view, bn.input(0), subgraph_reads) != index) {
    return Skip("the " + node.op_type() + " output has other readers");
  }
  FoldMatch m{.batch_norm = index, .layer = layer};
  const auto gamma = ConstantValues(view, bn.input(1));
  const auto beta = ConstantValues(view, bn.input(2));
  const auto mean = ConstantValues(view, bn.input(3));
  const auto var = ConstantValues(view, bn.input(4));
  if (!gamma || !beta || !mean || !var) return Skip("its parameters are not constant");
  m.params = {.gamma = *gamma, .beta = *beta, .mean = *mean, .var = *var, .epsilon = AttrFloat(bn, "epsilon", 1e-5F)};

  if (node.input_size() < 2) return Skip("the " + node.op_type() + " has no weight");
  auto weight = ReadFloatInitializer(view, node.input(1));
  if (!weight) return Skip("the " + node.op_type() + " weight is not a float32 initializer");
  m.weight = std::move(*weight);
  const auto layout = LayoutOf(node, m.weight.dims);
  if (!layout) return Skip("the " + node.op_type() + " weight has an unexpected shape");
  if (node.op_type() == "ConvTranspose" && layout->kind == LayerKind::kGrouped) {
    return Skip("grouped ConvTranspose (output channels are not one weight axis)");
  }
  m.layout = *layout;
  if (static_cast<int64_t>(m.params.gamma.size()) != layout->out_channels) {
    return Skip("it has " + std::to_string(m.params.gamma.size()) + " channels, the " + node.op_type() + " has " +
                std::to_string(layout->out_channels) + " outputs");
  }
  if (node.input_size() > 2 && !node.input(2).empty()) {
    auto bias = ReadFloatInitializer(view, node.input(2));
    if (!bias) return Skip("the " + node.op_type() + " bias is not a float32 initializer");
    if (static_cast<int64_t>(bias->values.size()) != layout->out_channels) {
      return Skip("the " + node.op_type() + " bias is not one value per output channel");
    }
    if (node.op_type() == "Gemm") {
      const float beta_attr = AttrFloat(node, "beta", 1.0F);
      for (float& b : bias->values) b *= beta_attr;
    }
    m.bias = std::move(*bias);
  }
  return {std::move(m), {}};
}

void SetFloatAttr(onnx::NodeProto& node, const std::string& name, float value) {
  for (auto& attr : *node.mutable_attribute()) {
    if (attr.name() == name) {
      attr.set_f(value);
      return;
    }
  }
  auto* attr = node.add_attribute();
  attr->set_name(name);
  attr->set_type(onnx::AttributeProto::FLOAT);
  attr->set_f(value);
}

// What the folds of one sweep leave to remove, all at once when the sweep ends (a removal per fold
// rebuilt the graph each time: quadratic in the number of batch norms).
struct Leftovers {
  std::set<int> batch_norms;      // nodes to erase
  std::set<std::string> outputs;  // the layers' old outputs, whose value_info goes
  std::set<std::string> unused;   // initializers and constants that may no longer be read
};

// Folds one match: the layer takes the batch norm's output and the folded weight and bias; the batch
// norm and what only it read go into `leftovers`. The graph is unchanged on error.
Status Rewrite(FoldMatch m, GraphView& view, PassContext& context, const std::set<std::string>& subgraph_reads,
               Leftovers& leftovers) {
  const onnx::NodeProto bn = view.graph().node(m.batch_norm);
  const std::string label = Describe(bn, m.batch_norm);
  std::vector<float> bias = m.bias ? m.bias->values : std::vector<float>();
  const EqualizationStatus folded = FoldBatchNorm(m.weight.values, m.weight.dims, m.layout.out_axis, bias, m.params);
  if (!folded.ok()) return InvalidModel(label + ": cannot fold: " + folded.message());

  auto& layer = *view.graph().mutable_node(m.layer);
  const std::string base = layer.name().empty() ? bn.output(0) : layer.name();
  SetNodeInitializer(view, m.layer, 1, m.weight.name + "_folded", m.weight.dims, m.weight.values, subgraph_reads);
  const int64_t channels = static_cast<int64_t>(bias.size());
  SetNodeInitializer(view, m.layer, 2, base + "_bias", std::span<const int64_t>(&channels, 1), bias, subgraph_reads);
  if (layer.op_type() == "Gemm") SetFloatAttr(layer, "beta", 1.0F);

  const std::string old_output = layer.output(0);
  layer.set_output(0, bn.output(0));
  context.batch_norm_stats[bn.output(0)] = {.gamma = m.params.gamma, .beta = m.params.beta};

  leftovers.unused.insert(m.weight.name);
  if (m.bias) leftovers.unused.insert(m.bias->name);
  for (int i = 1; i < bn.input_size(); ++i) leftovers.unused.insert(bn.input(i));
  leftovers.batch_norms.insert(m.batch_norm);
  leftovers.outputs.insert(old_output);
  return Status::Ok();
}

}  // namespace

Result<PassReport> FoldBatchNormPass::Run(onnx::ModelProto& model, PassContext& context) const {
  GraphView view(model.mutable_graph());
  const std::set<std::string> subgraph_reads = NamesReadBySubgraphs(view.graph());
  PassReport report;
  std::map<std::string, int64_t> by_layer;
  std::map<std::string, std::string> skipped;  // batch norm -> reason, from the last sweep
  // Sweeps until nothing folds: folding Conv -> BN -> BN takes two. Within a sweep the view is not
  // rebuilt: each fold touches only its own layer and batch norm, and the nodes are erased at its end.
  bool folded = true;
  while (folded) {
    folded = false;
    skipped.clear();
    Leftovers leftovers;
    for (int i = view.graph().node_size() - 1; i >= 0; --i) {
      MatchResult result = Match(view, i, subgraph_reads);
      if (!result.match) {
        if (!result.skip_reason.empty()) skipped[Describe(view.graph().node(i), i)] = result.skip_reason;
        continue;
      }
      const std::string layer_type = view.graph().node(result.match->layer).op_type();
      ONNXQ_RETURN_IF_ERROR(Rewrite(std::move(*result.match), view, context, subgraph_reads, leftovers));
      ++by_layer[layer_type];
      ++report.changes;
      folded = true;
    }
    if (folded) {
      EraseNodes(view.graph(), leftovers.batch_norms);
      EraseValueInfo(view.graph(), leftovers.outputs);
      RemoveUnused(view.graph(), leftovers.unused);
      view.Rebuild();
    }
  }
  if (report.changes > 0) {
    std::string line = std::to_string(report.changes) + " BatchNormalization folded (";
    bool first = true;
    for (const auto& [type, count] : by_layer) {
      line += (first ? "" : ", ") + std::to_string(count) + " into " + type;
      first = false;
    }
    report.notes.push_back(line + ")");
  }
  for (const auto& [node, reason] : skipped) report.notes.push_back(node + " not folded: " + reason);
  return report;
}

}  // namespace onnxq
