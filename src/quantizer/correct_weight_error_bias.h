// MeanBiasCorrection: each quantized Conv / Gemm gets the mean output error of its quantized weight
// folded into its bias, from its input's mean per channel measured while calibrating (the math, and
// why: algorithms/weight_error_bias.h). No extra pass over the data, unlike BiasCorrection
// (correct_bias.h), which measures each layer's error on its quantized input.
//
//   Before:  x -> Conv(W, b)     quantized as   DQ(x) -> Conv(DQ(Q(W)), DQ(Q(b)))
//   After:   x -> Conv(W, b')    b' = b + WeightErrorBias(W, DQ(Q(W)), E[x])
//
// Runs between DecideParams and MaterializeQdq: the weight's parameters are decided (they do not
// depend on the bias), the bias is not yet quantized (its scale, input scale x weight scale, does
// not depend on its values either). A layer is corrected when its bias is a float initializer read
// by it alone, its weight a planned weight, and its input's means are known; Gemm with transA is
// left alone, as are ConvTranspose and MatMul (no bias input).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "calibration/collect_statistics.h"
#include "ir/graph_view.h"
#include "quantizer/quant_plan.h"

namespace onnxq {

// The inputs whose channel means the correction needs, for the layers of `plan` it can correct.
ChannelMeanRequest MeanBiasInputs(const GraphView& graph, const QuantPlan& plan);

// Corrects the biases in place; returns the number of layers corrected.
Result<int> CorrectWeightErrorBias(GraphView& graph, const QuantPlan& plan,
                                   const std::map<std::string, std::vector<float>>& channel_means);

}  // namespace onnxq
