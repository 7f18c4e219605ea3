#include "quantizer/apply_tensor_overrides.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "calibration/weight_calibration.h"
#include "ir/tensor_util.h"
#include "quantizer/decide_params.h"

namespace onnxq {
namespace {

struct Bounds {
  float lo = 0.0F;
  float hi = 0.0F;
};

Status OverrideError(const std::string& tensor, const std::string& why) {
  return InvalidArgument("TensorQuantOverrides: tensor '" + tensor + "': " + why);
}

// `q` as one grid of the pinned's type and symmetry: its scale and zero point, or the grid over
// [rmin, rmax], each bound defaulting to `own`.
Result<TensorQuant> PerTensorOverride(const std::string& tensor, TensorQuant q, Bounds own,
                                      const TensorOverride& pinned, RangeOptions range_options) {
  if (pinned.symmetric) range_options.symmetric = *pinned.symmetric;
  q.type = pinned.type.value_or(q.type);
  q.range = QuantRange(q.type, range_options);
  q.axis = -1;
  if (pinned.scale) {
    if (*pinned.zero_point < q.range.qmin || *pinned.zero_point > q.range.qmax) {
      return OverrideError(tensor, "zero_point " + std::to_string(*pinned.zero_point) + " is outside " +
                                       std::string(QuantTypeName(q.type)) + "'s range [" +
                                       std::to_string(q.range.qmin) + ", " + std::to_string(q.range.qmax) + "]");
    }
    q.params = {{.scale = *pinned.scale, .zero_point = *pinned.zero_point}};
    return q;
  }
  const float rmin = pinned.rmin.value_or(own.lo);
  const float rmax = pinned.rmax.value_or(own.hi);
  q.params = {ComputeQuantParams(std::min(rmin, rmax), std::max(rmin, rmax), q.type, range_options)};
  return q;
}

// The real values the per-tensor grid of `q` spans: the own range of a tensor that shares another's
// parameters and has no calibrated range.
Bounds GridBounds(const TensorQuant& q) {
  return {.lo = DequantizeValue(q.range.qmin, q.params[0]), .hi = DequantizeValue(q.range.qmax, q.params[0])};
}

// The weight `tensor` (parameters `q`) with `pinned` applied: recomputed from its values.
Result<TensorQuant> OverrideWeight(const GraphView& graph, const std::string& tensor, const TensorQuant& q,
                                   const TensorOverride& pinned, const QuantizeOptions& options) {
  const onnx::TensorProto& init = *graph.Initializer(tensor);
  ONNXQ_ASSIGN_OR_RETURN(const std::vector<float> values, ToFloats(init));
  RangeOptions range_options = WeightRangeOptions(options);
  if (!pinned.scale && !pinned.rmin && !pinned.rmax) {
    // Type or symmetry alone: the same calibration, per channel where it was.
    if (pinned.symmetric) range_options.symmetric = *pinned.symmetric;
    return QuantizeWeightParams(values, Dims(init), q.axis, pinned.type.value_or(q.type), range_options,
                                WeightScaleMethodOf(options));
  }
  Bounds own;
  for (const float v : values) {
    if (!std::isfinite(v)) continue;
    own.lo = std::min(own.lo, v);
    own.hi = std::max(own.hi, v);
  }
  return PerTensorOverride(tensor, q, own, pinned, range_options);
}

}  // namespace

Result<TensorQuant> OverrideActivation(const std::string& tensor, const TensorQuant& q, const TensorRange& range,
                                       const TensorOverride& pinned, const QuantizeOptions& options) {
  return PerTensorOverride(tensor, q, {.lo = range.rmin, .hi = range.rmax}, pinned, ActivationRangeOptions(options));
}

Result<std::vector<std::string>> ApplyTensorOverrides(const GraphView& graph,
                                                      const std::map<std::string, TensorRange>& ranges,
                                                      const QuantizeOptions& options, QuantPlan* plan) {
  std::set<std::string> biases;
  for (const auto& mark : plan->marks) {
    for (const auto& intent : mark.intents) {
      if (intent.role == TensorRole::kBias) biases.insert(intent.tensor);
    }
  }
  std::vector<std::string> warnings;
  for (const auto& [tensor, pinned] : options.tensor_overrides) {
    if (biases.contains(tensor)) {
      warnings.push_back("TensorQuantOverrides: '" + tensor +
                         "' is a bias: its parameters follow its input's and weight's (override those)");
      continue;
    }
    const auto it = plan->tensors.find(tensor);
    if (it == plan->tensors.end()) {
      warnings.push_back("TensorQuantOverrides: '" + tensor + "' is not quantized (left float or not in the model)");
      continue;
    }
    TensorQuant& q = it->second;
    if (q.role == TensorRole::kWeight) {
      ONNXQ_ASSIGN_OR_RETURN(q, OverrideWeight(graph, tensor, q, pinned, options));
      continue;
    }
    const auto range = ranges.find(tensor);
    const Bounds own =
        range != ranges.end() ? Bounds{.lo = range->second.rmin, .hi = range->second.rmax} : GridBounds(q);
    ONNXQ_ASSIGN_OR_RETURN(q, PerTensorOverride(tensor, q, own, pinned, ActivationRangeOptions(options)));
  }
  return warnings;
}

}  // namespace onnxq
