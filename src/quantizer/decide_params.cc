#include "quantizer/decide_params.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <set>
#include <string>

#include "algorithms/raw_weights.h"
#include "common/worker_pool.h"
#include "ir/tensor_util.h"
#include "quantizer/align_concat_scales.h"
#include "quantizer/apply_tensor_overrides.h"
#include "quantizer/mark_nodes.h"

namespace onnxq {
namespace {

// True when quantizing with `q` already clips to [lo, hi], so the Relu / Clip can go.
bool QuantizationClipsTo(const TensorQuant& q, float lo, float hi) {
  const QuantParams& p = q.params[0];
  const float dq_min = DequantizeValue(q.range.qmin, p);
  const float dq_max = DequantizeValue(q.range.qmax, p);
  return dq_min >= lo && dq_max <= hi * (1.0F + 1e-6F);
}

// Ops that do no work of their own worth an integer kernel: an activation function, or an
// elementwise op with a constant operand (a LayerNorm's scale and shift written out as Mul and Add).
bool IsLightFollower(const GraphView& graph, const onnx::NodeProto& node) {
  if (!node.domain().empty() && node.domain() != "ai.onnx") return false;
  const std::string& op = node.op_type();
  if (op == "Relu" || op == "Clip" || op == "LeakyRelu") return true;
  if (op != "Mul" && op != "Add" && op != "Sub") return false;
  return node.input_size() == 2 && (graph.IsInitializer(node.input(0)) != graph.IsInitializer(node.input(1)));
}

// A light op whose activation input a float node computes stays float too, in graph order, so that
// chains of them do: quantized, it would round values on their way into the next quantized op, which
// quantizes its own input anyway (a LayerNorm written out as ReduceMean, Sub, Pow, Sqrt and Div, left
// float, then Mul, Add and Relu: one rounding instead of four).
void LeaveFloatFollowersFloat(const GraphView& graph, QuantPlan* plan) {
  const auto& g = graph.graph();
  std::vector<NodeMark> quantized;
  for (auto& mark : plan->marks) {
    const auto& node = g.node(mark.node);
    int float_producer = -1;
    bool all_float = IsLightFollower(graph, node);
    for (const auto& input : node.input()) {
      if (!all_float || input.empty() || graph.IsInitializer(input)) continue;
      const int producer = graph.Producer(input);
      if (producer < 0 || !plan->left_float.contains(producer)) {
        all_float = false;
      } else {
        float_producer = producer;
      }
    }
    if (all_float && float_producer >= 0) {
      plan->left_float[mark.node] = "follows float " + g.node(float_producer).op_type() + " '" +
                                    NodeLabel(g.node(float_producer), float_producer) +
                                    "' with no work of its own: the next quantized op quantizes its output";
    } else {
      quantized.push_back(std::move(mark));
    }
  }
  plan->marks = std::move(quantized);
}

// Nodes reading or writing an activation kept in float stay float.
void LeaveFloatTensorsFloat(const std::map<std::string, std::string>& float_tensors, QuantPlan* plan) {
  if (float_tensors.empty()) return;
  std::vector<NodeMark> quantized;
  for (auto& mark : plan->marks) {
    const auto it = std::find_if(mark.intents.begin(), mark.intents.end(), [&](const TensorIntent& intent) {
      return intent.role == TensorRole::kActivation && float_tensors.contains(intent.tensor);
    });
    if (it == mark.intents.end()) {
      quantized.push_back(std::move(mark));
    } else {
      plan->left_float[mark.node] = float_tensors.at(it->tensor);
    }
  }
  plan->marks = std::move(quantized);
}

// The grid of a Relu / Clip's output reaches past its bounds (symmetric or power-of-two): the node
// stays, and its input takes the output's parameters. Values beyond the grid saturate where the node
// would clip them anyway, so this is exact and finer than a grid of its own.
void ShareOutputParamsWithInput(const std::string& input, const std::string& output, NodeMark& mark,
                                NodeMark& producer_mark) {
  if (mark.clip_min <= 0.0F && mark.clip_max >= 0.0F) {
    for (auto* owner : {&mark, &producer_mark}) {
      for (auto& intent : owner->intents) {
        if (intent.tensor == input && intent.role == TensorRole::kActivation) intent.share_with = output;
      }
    }
  }
}

// Relu / Clip folding: a Relu / Clip whose producer is quantized goes when quantizing its output
// (with its override, if any) already clips the same way; the producer then writes the output itself.
// Returns each folded node's producer.
Result<std::map<int, int>> FoldReluAndClip(const GraphView& graph, const std::map<std::string, TensorRange>& ranges,
                                           const QuantizeOptions& options, QuantPlan* plan) {
  std::map<int, int> folded_into;  // a folded Relu / Clip node -> its producer's node
  std::map<int, size_t> mark_of_node;
  for (size_t m = 0; m < plan->marks.size(); ++m) mark_of_node[plan->marks[m].node] = m;
  std::vector<bool> drop(plan->marks.size(), false);
  for (size_t m = 0; m < plan->marks.size(); ++m) {
    const NodeMark& mark = plan->marks[m];
    if (!mark.foldable_activation) continue;
    const auto& node = graph.graph().node(mark.node);
    const std::string& input = node.input(0);
    const std::string& output = node.output(0);
    const int producer = graph.Producer(input);
    const auto pm = mark_of_node.find(producer);
    if (pm == mark_of_node.end() || drop[pm->second] || !ranges.contains(output)) continue;
    TensorQuant q = ActivationQuant(ranges.at(output), options);
    const auto pinned = options.tensor_overrides.find(output);
    if (pinned != options.tensor_overrides.end()) {
      ONNXQ_ASSIGN_OR_RETURN(q, OverrideActivation(output, q, ranges.at(output), pinned->second, options));
    }
    if (!QuantizationClipsTo(q, mark.clip_min, mark.clip_max)) {
      ShareOutputParamsWithInput(input, output, plan->marks[m], plan->marks[pm->second]);
      continue;
    }
    drop[m] = true;
    folded_into[mark.node] = producer;
    plan->removed_nodes.insert(mark.node);
    plan->renamed_outputs[input] = output;
    for (auto& intent : plan->marks[pm->second].intents) {
      if (intent.tensor == input) intent.tensor = output;
    }
  }
  std::vector<NodeMark> kept;
  for (size_t m = 0; m < plan->marks.size(); ++m) {
    if (!drop[m]) kept.push_back(std::move(plan->marks[m]));
  }
  plan->marks = std::move(kept);
  return folded_into;
}

// Whether `tensor` has a calibrated range, its own or, following `shared_from`, that of the tensor
// whose parameters it shares.
bool HasRange(std::string tensor, const std::map<std::string, TensorRange>& ranges,
              const std::map<std::string, std::string>& shared_from) {
  for (int hops = 0; hops < 64; ++hops) {
    if (ranges.contains(tensor)) return true;
    const auto it = shared_from.find(tensor);
    if (it == shared_from.end()) return false;
    tensor = it->second;
  }
  return false;
}

// Drops marks whose activations have no range (not float at run time, or never reached). Outputs
// that share their input's parameters are not calibrated: they have the range of what they share.
void LeaveUncalibratedFloat(const std::map<std::string, TensorRange>& ranges, QuantPlan* plan) {
  std::map<std::string, std::string> shared_from;
  for (const auto& mark : plan->marks) {
    for (const auto& intent : mark.intents) {
      if (!intent.share_with.empty()) shared_from[intent.tensor] = intent.share_with;
    }
  }
  std::vector<NodeMark> kept;
  for (auto& mark : plan->marks) {
    std::string missing;
    for (const auto& intent : mark.intents) {
      if (intent.role == TensorRole::kActivation && intent.share_with.empty() &&
          !HasRange(intent.tensor, ranges, shared_from)) {
        missing = intent.tensor;
        break;
      }
    }
    if (missing.empty()) {
      kept.push_back(std::move(mark));
    } else {
      plan->left_float[mark.node] = "no calibration range for '" + missing + "' (not a float tensor at run time)";
    }
  }
  plan->marks = std::move(kept);
}

// A Relu / Clip folded into a producer that stays float after all is put back, float: the float
// producer does not clip, and the node's input has no range of its own.
void UnfoldFromFloatProducers(const GraphView& graph, const std::map<int, int>& folded_into, QuantPlan* plan) {
  const auto& g = graph.graph();
  for (const auto& [node, producer] : folded_into) {
    if (!plan->left_float.contains(producer)) continue;
    plan->removed_nodes.erase(node);
    plan->renamed_outputs.erase(g.node(node).input(0));
    plan->left_float[node] = "its producer " + g.node(producer).op_type() + " '" +
                             NodeLabel(g.node(producer), producer) + "' stays float (" + plan->left_float.at(producer) +
                             ")";
  }
}

// Whether `init` is a float tensor in raw data of its full size, read by MinMaxWeightParamsOfRaw.
bool IsRawFloat(const onnx::TensorProto& init) {
  return init.data_type() == onnx::TensorProto::FLOAT && init.has_raw_data() &&
         static_cast<int64_t>(init.raw_data().size()) == ElementCount(init) * static_cast<int64_t>(sizeof(float));
}

// QuantizeWeightParams with WeightScaleMethod::kMinMax of the raw float tensor `init`, its ranges read
// from its bytes on every worker of `pool` (no float copy).
TensorQuant MinMaxWeightParamsOfRaw(const onnx::TensorProto& init, int axis, QuantType type,
                                    const RangeOptions& range_options, WorkerPool& pool) {
  const auto dims = Dims(init);
  const bool per_channel = axis >= 0 && static_cast<size_t>(axis) < dims.size();
  TensorQuant q{.role = TensorRole::kWeight, .type = type, .axis = per_channel ? axis : -1};
  q.range = QuantRange(type, range_options);
  if (!per_channel) {
    const ValueRange r = FiniteRangeOfRaw(init.raw_data(), pool);
    q.params.push_back(ComputeQuantParams(r.lo, r.hi, type, range_options));
    return q;
  }
  for (const ValueRange& r : ChannelRangesOfRaw(init.raw_data(), LayoutOf(dims, axis), pool)) {
    q.params.push_back(ComputeQuantParams(r.lo, r.hi, type, range_options));
  }
  return q;
}

// Parameters of every marked activation and weight. Returns the activations that share another
// tensor's parameters (tensor -> the tensor shared), for ResolveSharedParams.
Result<std::map<std::string, std::string>> DecideActivationsAndWeights(const GraphView& graph,
                                                                       const std::map<std::string, TensorRange>& ranges,
                                                                       const QuantizeOptions& options,
                                                                       QuantPlan* plan) {
  const bool per_channel_ok = options.per_channel;
  const WeightScaleMethod weight_method = WeightScaleMethodOf(options);
  std::map<std::string, std::string> shares;
  std::optional<WorkerPool> pool;  // started for the first weight read from raw data
  for (const auto& mark : plan->marks) {
    for (const auto& intent : mark.intents) {
      if (plan->tensors.contains(intent.tensor)) {
        auto& existing = plan->tensors[intent.tensor];
        // A weight wanted per-channel by one node and per-tensor by another: per-channel wins.
        if (existing.role != TensorRole::kWeight || intent.role != TensorRole::kWeight || existing.axis >= 0 ||
            intent.channel_axis < 0 || !per_channel_ok) {
          continue;
        }
      }
      switch (intent.role) {
        case TensorRole::kActivation:
          if (!intent.share_with.empty()) {
            shares[intent.tensor] = intent.share_with;
          } else if (ranges.contains(intent.tensor)) {
            plan->tensors[intent.tensor] = ActivationQuant(ranges.at(intent.tensor), options);
          }  // else a shared output, set below
          break;
        case TensorRole::kWeight: {
          const auto* init = graph.Initializer(intent.tensor);
          const int axis = per_channel_ok ? intent.channel_axis : -1;
          if (weight_method == WeightScaleMethod::kMinMax && IsRawFloat(*init)) {
            if (!pool) pool.emplace(0);
            plan->tensors[intent.tensor] =
                MinMaxWeightParamsOfRaw(*init, axis, options.weight_type, WeightRangeOptions(options), *pool);
            break;
          }
          ONNXQ_ASSIGN_OR_RETURN(const auto values, ToFloats(*init));
          const auto dims = Dims(*init);
          plan->tensors[intent.tensor] =
              QuantizeWeightParams(values, dims, axis, options.weight_type, WeightRangeOptions(options), weight_method);
          break;
        }
        case TensorRole::kBias:
          break;  // below, once inputs and weights are known
      }
    }
  }
  return shares;
}

// Outputs that share their input's parameters (follow chains such as Reshape -> Transpose).
void ResolveSharedParams(const std::map<std::string, std::string>& shares, QuantPlan* plan) {
  for (const auto& [tensor, source] : shares) {
    std::string root = source;
    for (int hops = 0; shares.contains(root) && hops < 64; ++hops) root = shares.at(root);
    const auto it = plan->tensors.find(root);
    if (it != plan->tensors.end()) plan->tensors[tensor] = it->second;
  }
}

// Biases: int32, scale = input scale x weight scale (per channel), zero point 0. Without Int32Bias
// (NPU-CNN), int8 with a scale of their own, calibrated from their values like a per-tensor weight
// (power-of-two with a power-of-two method).
// A bias whose codes at scale = input scale x weight scale would pass the int32 range gets the smallest
// scale that holds it instead (per channel). With 16-bit activations and weights that product can be
// 1e-10, where an ordinary bias of 0.5 would need the code 5e9. (Left float, such a bias would not stay
// float: ONNX Runtime's own bias quantization would then overflow the same way.)
Status WidenOverflowingBiasScales(const onnx::TensorProto& bias, TensorQuant* q) {
  ONNXQ_ASSIGN_OR_RETURN(const auto values, ToFloats(bias));
  const double limit = static_cast<double>(q->range.qmax);
  std::vector<double> largest(q->params.size(), 0.0);
  for (size_t i = 0; i < values.size(); ++i) {
    double& m = largest[q->axis >= 0 ? i % q->params.size() : 0];
    m = std::max(m, std::fabs(static_cast<double>(values[i])));
  }
  for (size_t c = 0; c < q->params.size(); ++c) {
    if (largest[c] / static_cast<double>(q->params[c].scale) > limit) {
      // Rounded up in float, so that the largest value's code stays within the range.
      q->params[c].scale = std::nextafter(static_cast<float>(largest[c] / limit), std::numeric_limits<float>::max());
    }
  }
  return Status::Ok();
}

}  // namespace

RangeOptions ActivationRangeOptions(const QuantizeOptions& options) {
  return {.symmetric = options.activation_symmetric,
          .reduce_range = false,
          .unsigned_symmetric_zero_point = options.unsigned_symmetric_zero_point};
}

RangeOptions WeightRangeOptions(const QuantizeOptions& options) {
  return {.symmetric = options.weight_symmetric,
          .reduce_range = options.reduce_range,
          .unsigned_symmetric_zero_point = options.unsigned_symmetric_zero_point};
}

Status DecideBiasParams(const GraphView& graph, const QuantizeOptions& options, QuantPlan* plan) {
  for (const auto& mark : plan->marks) {
    for (const auto& intent : mark.intents) {
      if (intent.role != TensorRole::kBias) continue;
      const auto in = plan->tensors.find(intent.bias_input);
      const auto w = plan->tensors.find(intent.bias_weight);
      if (in == plan->tensors.end() || w == plan->tensors.end()) continue;
      const auto* init = graph.Initializer(intent.tensor);
      const int64_t channels = init->dims_size() == 1 ? init->dims(0) : -1;
      if (channels < 0 || (w->second.axis >= 0 && static_cast<int64_t>(w->second.params.size()) != channels)) {
        continue;
      }
      if (!options.int32_bias) {
        ONNXQ_ASSIGN_OR_RETURN(const auto values, ToFloats(*init));
        const auto dims = Dims(*init);
        TensorQuant q = QuantizeWeightParams(values, dims, -1, QuantType::kInt8, WeightRangeOptions(options),
                                             WeightScaleMethodOf(options));
        q.role = TensorRole::kBias;
        plan->tensors[intent.tensor] = std::move(q);
        continue;
      }
      TensorQuant q{.role = TensorRole::kBias, .type = QuantType::kInt32};
      q.range = QuantRange(QuantType::kInt32, {});
      q.axis = w->second.axis >= 0 ? 0 : -1;
      for (const auto& wp : w->second.params) q.params.push_back({in->second.params[0].scale * wp.scale, 0});
      ONNXQ_RETURN_IF_ERROR(WidenOverflowingBiasScales(*init, &q));
      plan->tensors[intent.tensor] = q;
    }
  }
  return Status::Ok();
}

TensorQuant ActivationQuant(const TensorRange& range, const QuantizeOptions& options) {
  const RangeOptions ro = ActivationRangeOptions(options);
  TensorQuant q{.role = TensorRole::kActivation, .type = options.activation_type};
  q.range = QuantRange(options.activation_type, ro);
  q.params.push_back(range.pos ? PowerOfTwoQuantParams(*range.pos, range.rmin, range.rmax, options.activation_type, ro)
                               : ComputeQuantParams(range.rmin, range.rmax, options.activation_type, ro));
  return q;
}

TensorQuant QuantizeWeightParams(std::span<const float> values, std::span<const int64_t> dims, int axis, QuantType type,
                                 const RangeOptions& range_options, WeightScaleMethod method) {
  TensorQuant q{.role = TensorRole::kWeight, .type = type, .axis = axis};
  q.range = QuantRange(type, range_options);
  if (axis < 0 || static_cast<size_t>(axis) >= dims.size()) {
    q.axis = -1;
    q.params.push_back(WeightQuantParams(values, type, range_options, method));
    return q;
  }
  const int64_t channels = dims[static_cast<size_t>(axis)];
  const int64_t inner = std::accumulate(dims.begin() + axis + 1, dims.end(), int64_t{1}, std::multiplies<>());
  if (method != WeightScaleMethod::kMinMax) {
    // Gather each channel's values (strided unless axis is 0) and calibrate them on their own.
    const int64_t outer = channels * inner == 0 ? 0 : static_cast<int64_t>(values.size()) / (channels * inner);
    std::vector<float> channel;
    channel.reserve(static_cast<size_t>(outer * inner));
    for (int64_t c = 0; c < channels; ++c) {
      channel.clear();
      for (int64_t o = 0; o < outer; ++o) {
        const auto begin = values.begin() + static_cast<std::ptrdiff_t>((o * channels + c) * inner);
        channel.insert(channel.end(), begin, begin + static_cast<std::ptrdiff_t>(inner));
      }
      q.params.push_back(WeightQuantParams(channel, type, range_options, method));
    }
    return q;
  }
  std::vector<float> lo(static_cast<size_t>(channels), 0.0F);
  std::vector<float> hi(static_cast<size_t>(channels), 0.0F);
  for (size_t i = 0; i < values.size(); ++i) {
    const auto c = static_cast<size_t>((static_cast<int64_t>(i) / inner) % channels);
    lo[c] = std::min(lo[c], values[i]);
    hi[c] = std::max(hi[c], values[i]);
  }
  for (int64_t c = 0; c < channels; ++c) {
    q.params.push_back(ComputeQuantParams(lo[static_cast<size_t>(c)], hi[static_cast<size_t>(c)], type, range_options));
  }
  return q;
}

Result<std::vector<std::string>> DecideParams(const GraphView& graph, const std::map<std::string, TensorRange>& ranges,
                                              const QuantizeOptions& options, QuantPlan* plan,
                                              const std::map<std::string, std::string>& float_tensors) {
  LeaveFloatTensorsFloat(float_tensors, plan);
  LeaveFloatFollowersFloat(graph, plan);
  ONNXQ_ASSIGN_OR_RETURN(const auto folded_into, FoldReluAndClip(graph, ranges, options, plan));
  LeaveUncalibratedFloat(ranges, plan);
  UnfoldFromFloatProducers(graph, folded_into, plan);
  ONNXQ_ASSIGN_OR_RETURN(auto shares, DecideActivationsAndWeights(graph, ranges, options, plan));
  ResolveSharedParams(shares, plan);
  ONNXQ_ASSIGN_OR_RETURN(auto warnings, ApplyTensorOverrides(graph, ranges, options, plan));
  std::set<std::string> aligned;
  if (options.align_concat_scales) {
    std::set<std::string> pinned;
    for (const auto& [tensor, pinned_params] : options.tensor_overrides) pinned.insert(tensor);
    aligned = AlignConcatScales(graph, pinned, plan);
  }
  if (!options.tensor_overrides.empty() || !aligned.empty()) {
    // Tensors sharing an overridden or aligned tensor's parameters take them again; those overridden or
    // aligned keep theirs.
    std::erase_if(shares, [&](const auto& share) {
      return options.tensor_overrides.contains(share.first) || aligned.contains(share.first);
    });
    ResolveSharedParams(shares, plan);
  }
  if (options.quantize_bias) ONNXQ_RETURN_IF_ERROR(DecideBiasParams(graph, options, plan));
  return warnings;
}

}  // namespace onnxq
