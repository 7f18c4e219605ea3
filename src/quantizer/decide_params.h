// Phase 2 of quantization: turn the marks and the calibrated ranges into scales and zero points,
// fold Relu / Clip into their producers where quantization already clips the same way, and compute
// int32 bias scales (input scale x weight scale).
#pragma once

#include <map>
#include <string>

#include "calibration/calibration_table.h"
#include "calibration/weight_calibration.h"
#include "ir/graph_view.h"
#include "onnxq/options.h"
#include "quantizer/quant_plan.h"

namespace onnxq {

Status DecideParams(const GraphView& graph, const std::map<std::string, TensorRange>& ranges,
                    const QuantizeOptions& options, QuantPlan* plan);

// Parameters of a weight tensor: per-channel along `axis` when axis >= 0, else per-tensor; scales
// chosen by `method` (calibration/weight_calibration.h).
TensorQuant QuantizeWeightParams(std::span<const float> values, std::span<const int64_t> dims, int axis, QuantType type,
                                 const RangeOptions& range_options,
                                 WeightScaleMethod method = WeightScaleMethod::kMinMax);

}  // namespace onnxq
