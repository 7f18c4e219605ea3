#include "passes/equalize_cross_layer.h"

#include <map>

#include "algorithms/cross_layer_scales.h"
#include "algorithms/high_bias_absorption.h"
#include "ir/graph_view.h"
#include "ir/tensor_util.h"
#include "passes/equalization_chains.h"

namespace onnxq {
namespace {

enum class SetKind { kPair, kTriplet };

struct EqualizationSet {
  SetKind kind = SetKind::kPair;
  std::vector<const ChainLayer*> layers;  // head, tail or head, depthwise, tail
};

// dense -> depthwise -> dense is a triplet, any other neighbours a pair; the last layer of a set
// heads the next one.
std::vector<EqualizationSet> SplitIntoSets(const Chain& chain) {
  std::vector<EqualizationSet> sets;
  const auto& l = chain.layers;
  size_t i = 0;
  while (i + 1 < l.size()) {
    if (i + 2 < l.size() && l[i].layout.kind == LayerKind::kDense && l[i + 1].layout.kind == LayerKind::kDepthwise &&
        l[i + 2].layout.kind == LayerKind::kDense) {
      sets.push_back({SetKind::kTriplet, {&l[i], &l[i + 1], &l[i + 2]}});
      i += 2;
    } else {
      sets.push_back({SetKind::kPair, {&l[i], &l[i + 1]}});
      i += 1;
    }
  }
  return sets;
}

// The weights and biases of every layer in a set, held as floats while the steps run.
class LayerTensors {
 public:
  Status Load(const GraphView& view, const std::string& name) {
    if (name.empty() || tensors_.contains(name)) return Status::Ok();
    auto tensor = ReadFloatInitializer(view, name);
    if (!tensor) return Internal("equalization tensor '" + name + "' is not a float32 initializer");
    tensors_.emplace(name, std::move(*tensor));
    return Status::Ok();
  }
  FloatInitializer& at(const std::string& name) { return tensors_.at(name); }
  FloatInitializer* bias(const std::string& name) { return name.empty() ? nullptr : &tensors_.at(name); }
  const std::map<std::string, FloatInitializer>& all() const { return tensors_; }

 private:
  std::map<std::string, FloatInitializer> tensors_;
};

EqualizedLayer ViewOf(FloatInitializer& weight, int axis, FloatInitializer* bias) {
  return {.weight = {.data = weight.values, .dims = weight.dims},
          .channel_axis = axis,
          .bias = bias != nullptr ? std::span<float>(bias->values) : std::span<float>()};
}

std::string SetLabel(const GraphView& view, const EqualizationSet& set) {
  std::string label;
  for (const auto* layer : set.layers) {
    label += (label.empty() ? "" : " -> ") + Describe(view.graph().node(layer->node), layer->node);
  }
  return label;
}

// Keeps the folded batch-norm statistics of `output` in step with a layer whose output channels were
// multiplied by `factor`.
void RescaleStats(PassContext& context, const std::string& output, std::span<const float> factor) {
  const auto it = context.batch_norm_stats.find(output);
  if (it == context.batch_norm_stats.end()) return;
  if (!ScaleBatchNormStats(it->second.gamma, it->second.beta, factor).ok()) context.batch_norm_stats.erase(it);
}

Status EqualizePair(const GraphView& view, const EqualizationSet& set, const CleOptions& options, LayerTensors& tensors,
                    PassContext& context) {
  const ChainLayer& head = *set.layers[0];
  const ChainLayer& tail = *set.layers[1];
  FloatInitializer& hw = tensors.at(head.weight);
  FloatInitializer* hb = tensors.bias(head.bias);
  FloatInitializer& tw = tensors.at(tail.weight);
  const int head_axis = head.layout.out_axis;
  const int tail_axis = tail.layout.in_axis;
  const std::vector<float> head_range = options.scale_append_bias && hb != nullptr
                                            ? HeadRangeWithBias(hw.values, hw.dims, head_axis, hb->values)
                                            : AbsMaxAlongAxis(hw.values, hw.dims, head_axis);
  const std::vector<float> tail_range = AbsMaxAlongAxis(tw.values, tw.dims, tail_axis);
  const std::vector<float> scales = PairScales(head_range, tail_range,
                                               {.use_small_range_threshold = options.use_small_range_threshold,
                                                .small_range_threshold = options.small_range_threshold});
  if (scales.empty() || head_range.size() != static_cast<size_t>(head.layout.out_channels)) {
    return InvalidModel(SetLabel(view, set) + ": the head has " + std::to_string(head_range.size()) +
                        " output channels, the tail " + std::to_string(tail_range.size()) + " input channels");
  }
  const EqualizationStatus status = ApplyPairScales(ViewOf(hw, head_axis, hb), ViewOf(tw, tail_axis, nullptr), scales);
  if (!status.ok()) return InvalidModel(SetLabel(view, set) + ": " + status.message());
  RescaleStats(context, head.output, scales);
  return Status::Ok();
}

Status EqualizeTriplet(const GraphView& view, const EqualizationSet& set, LayerTensors& tensors, PassContext& context) {
  const ChainLayer& head = *set.layers[0];
  const ChainLayer& depthwise = *set.layers[1];
  const ChainLayer& tail = *set.layers[2];
  FloatInitializer& hw = tensors.at(head.weight);
  FloatInitializer& dw = tensors.at(depthwise.weight);
  FloatInitializer& tw = tensors.at(tail.weight);
  const TripletScaleFactors factors =
      TripletScales(AbsMaxAlongAxis(hw.values, hw.dims, head.layout.out_axis), AbsMaxAlongAxis(dw.values, dw.dims, 0),
                    AbsMaxAlongAxis(tw.values, tw.dims, tail.layout.in_axis));
  if (factors.s12.empty()) return InvalidModel(SetLabel(view, set) + ": the three layers differ in channel count");
  const EqualizationStatus status = ApplyTripletScales(ViewOf(hw, head.layout.out_axis, tensors.bias(head.bias)),
                                                       ViewOf(dw, 0, tensors.bias(depthwise.bias)),
                                                       ViewOf(tw, tail.layout.in_axis, nullptr), factors);
  if (!status.ok()) return InvalidModel(SetLabel(view, set) + ": " + status.message());
  const TripletOutputScales rescaled = OutputScalesOf(factors);
  RescaleStats(context, head.output, rescaled.head);
  RescaleStats(context, depthwise.output, rescaled.depthwise);
  return Status::Ok();
}

const char* StopReasonText(CleStopReason reason) {
  switch (reason) {
    case CleStopReason::kConverged:
      return "converged";
    case CleStopReason::kStagnated:
      return "stagnated";
    case CleStopReason::kStepLimit:
      return "step limit";
    case CleStopReason::kNotStopped:
      break;
  }
  return "running";
}

}  // namespace

Result<PassReport> EqualizeCrossLayerPass::Run(onnx::ModelProto& model, PassContext& context) const {
  GraphView view(model.mutable_graph());
  PassReport report;
  const ChainSearch search = FindEqualizationChains(view);
  std::vector<EqualizationSet> sets;
  for (const auto& chain : search.chains) {
    for (auto& set : SplitIntoSets(chain)) sets.push_back(std::move(set));
  }
  for (const auto& [reason, count] : search.skipped) {
    report.notes.push_back(std::to_string(count) + " layers not equalized: " + reason);
  }
  if (sets.empty()) {
    report.notes.insert(report.notes.begin(),
                        "no Conv / Gemm pair linked by Relu, LeakyRelu, PRelu or zero Pad (Clip(0, 6) links need "
                        "replace_clip6_with_relu first)");
    return report;
  }
  if (options_.steps == 0) return report;

  LayerTensors tensors;
  std::vector<std::string> weights;
  for (const auto& set : sets) {
    for (const auto* layer : set.layers) {
      if (!tensors.all().contains(layer->weight)) weights.push_back(layer->weight);
      ONNXQ_RETURN_IF_ERROR(tensors.Load(view, layer->weight));
      ONNXQ_RETURN_IF_ERROR(tensors.Load(view, layer->bias));
    }
  }
  CleStopOptions stop;
  stop.max_steps = options_.steps < 0 ? kAdaptiveCleSteps : options_.steps;
  stop.total_diff_threshold = options_.total_layer_diff_threshold;
  CleConvergence convergence(stop);
  while (convergence.ShouldContinue()) {
    std::map<std::string, std::vector<float>> previous;
    for (const auto& name : weights) previous.emplace(name, tensors.at(name).values);
    for (const auto& set : sets) {
      if (set.kind == SetKind::kPair) {
        ONNXQ_RETURN_IF_ERROR(EqualizePair(view, set, options_, tensors, context));
      } else {
        ONNXQ_RETURN_IF_ERROR(EqualizeTriplet(view, set, tensors, context));
      }
    }
    double total_diff = 0.0;
    for (const auto& name : weights) total_diff += MeanAbsDifference(previous.at(name), tensors.at(name).values);
    convergence.RecordStep(total_diff);
  }
  for (const auto& [name, tensor] : tensors.all()) {
    *view.MutableInitializer(name) = MakeFloatTensor(name, tensor.dims, tensor.values);
  }
  int64_t pairs = 0;
  for (const auto& set : sets) pairs += set.kind == SetKind::kPair ? 1 : 0;
  report.changes = static_cast<int64_t>(sets.size());
  report.notes.insert(report.notes.begin(),
                      std::to_string(pairs) + " pairs and " + std::to_string(sets.size() - static_cast<size_t>(pairs)) +
                          " depthwise triplets equalized in " + std::to_string(convergence.steps()) + " steps (" +
                          StopReasonText(convergence.StopReason()) + ", last total change " +
                          std::to_string(convergence.reference_diff()) + ")");
  return report;
}

}  // namespace onnxq
