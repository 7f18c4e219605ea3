// Phase 2 of quantization: turn the marks and the calibrated ranges into scales and zero points,
// fold Relu / Clip into their producers where quantization already clips the same way, and compute
// int32 bias scales (input scale x weight scale).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "calibration/calibration_table.h"
#include "calibration/weight_calibration.h"
#include "ir/graph_view.h"
#include "onnxq/options.h"
#include "quantizer/quant_plan.h"

namespace onnxq {

// `float_tensors` (tensor -> reason, float_tensors.h): activations to keep in float; every node that
// reads or writes one stays float with that reason. options.tensor_overrides apply after the
// activations and weights, before the biases (apply_tensor_overrides.h). Returns warnings for the
// report (an override of a tensor that is not quantized).
Result<std::vector<std::string>> DecideParams(const GraphView& graph, const std::map<std::string, TensorRange>& ranges,
                                              const QuantizeOptions& options, QuantPlan* plan,
                                              const std::map<std::string, std::string>& float_tensors = {});

// The biases' parameters again, from the plan's input and weight parameters (int32) or the biases'
// current values (int8, without Int32Bias): after a bias correction changed the values or a
// refinement the scales. DecideParams calls it once.
Status DecideBiasParams(const GraphView& graph, const QuantizeOptions& options, QuantPlan* plan);

// The grid options of activations and of weights (symmetry, reduce_range, the unsigned zero point).
RangeOptions ActivationRangeOptions(const QuantizeOptions& options);
RangeOptions WeightRangeOptions(const QuantizeOptions& options);

// Parameters of an activation calibrated to `range` (options' activation type and symmetry).
TensorQuant ActivationQuant(const TensorRange& range, const QuantizeOptions& options);

// Parameters of a weight tensor: per-channel along `axis` when axis >= 0, else per-tensor; scales
// chosen by `method` (calibration/weight_calibration.h).
TensorQuant QuantizeWeightParams(std::span<const float> values, std::span<const int64_t> dims, int axis, QuantType type,
                                 const RangeOptions& range_options,
                                 WeightScaleMethod method = WeightScaleMethod::kMinMax);

}  // namespace onnxq
