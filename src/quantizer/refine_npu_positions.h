#pragma once

#include <set>
#include <span>
#include <string>

#include "algorithms/sqnr.h"
#include "ir/graph_view.h"
#include "onnxq/options.h"
#include "onnxq/quantize.h"
#include "quantizer/quant_plan.h"

namespace onnxq {

// NPULimitationCheck on a decided plan: the quantized graph packed into the DPU's view of it
// (algorithms/npu_positions.h: each node with its quantized input, weight, bias and output positions,
// a conv-like node's output taken after its fused activation, and a HardSigmoid's, AveragePool's or
// GlobalAveragePool's after SimulateDPU's constant Mul), refined, and every moved position written back
// into the plan as scale 2^-pos (zero points stay: the grids are symmetric). int32 biases follow their
// input and weight scales (DecideBiasParams). Only per-tensor power-of-two parameters take part.
//
// Each adjustment is reported with the moved tensor's quantization SQNR at the old and the new
// position, measured on its values for weights and biases; activations are left NaN for the caller,
// who has the data (MeasureActivationAdjustments). The `pinned` tensors (TensorQuantOverrides) keep
// their positions; the moves asked of them are reported as held.
Result<NpuRefinementReport> RefineNpuPlan(const GraphView& graph, const NpuLimitationOptions& options,
                                          const std::set<std::string>& pinned, QuantPlan* plan);

// Adds `values` against themselves quantized with `q`'s grid at scale 2^-pos to `sums`.
void AddQuantizedAtPosition(std::span<const float> values, const TensorQuant& q, int pos, SqnrSums* sums);

// The SimulateDPU correction Mul is part of the DPU's op (pool or HardSigmoid): no Q/DQ between the
// producer and it in NPU-CNN mode (the same rule as RemoveFusedActivationQdq).
int RemoveDpuCorrectionQdq(const GraphView& graph, QuantPlan* plan);

}  // namespace onnxq
