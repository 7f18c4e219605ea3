// TensorQuantOverrides (QuantizeOptions::tensor_overrides, ONNX Runtime's semantics) applied to a plan
// whose activations and weights are decided: DecideParams runs it before the biases, so that an int32
// bias scale (input scale x weight scale) follows an overridden input or weight.
//
//   scale, zero_point  used as they are; the zero point must lie in the type's integer range
//   rmin, rmax         the grid recomputed over [rmin, rmax] (widened to contain 0); a bound not given
//                      is the tensor's own: an activation's calibrated range, a weight's min / max
//   quant_type         the tensor's type and integer range; alone, the grid recomputed over the
//                      tensor's own range in that type
//   symmetric          the grid's symmetry; unset, the options' for the tensor's role
//
// scale / zero_point win over rmin / rmax. A weight overridden by a scale or a range gets one scale
// (per-tensor); by type or symmetry alone it keeps its channels. Overridden grids have float scales,
// under a power-of-two method too. A weight's override changes only its own parameters; an
// activation's reaches the tensors that share its parameters (Reshape, MaxPool ... outputs) unless they
// have an override of their own.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "calibration/calibration_table.h"
#include "ir/graph_view.h"
#include "onnxq/options.h"
#include "quantizer/quant_plan.h"

namespace onnxq {

// Applies every override whose tensor has parameters in `plan` (each entry as ValidateOptions accepts
// it). Returns a warning for each override of a tensor the plan does not quantize (left float, a bias,
// or not in the model); a zero point outside the tensor's type's range is an error naming the tensor.
Result<std::vector<std::string>> ApplyTensorOverrides(const GraphView& graph,
                                                      const std::map<std::string, TensorRange>& ranges,
                                                      const QuantizeOptions& options, QuantPlan* plan);

// `q`, the parameters of the activation `tensor` calibrated to `range`, with `pinned` applied.
Result<TensorQuant> OverrideActivation(const std::string& tensor, const TensorQuant& q, const TensorRange& range,
                                       const TensorOverride& pinned, const QuantizeOptions& options);

}  // namespace onnxq
