// AlignConcat with float scales (Quark's A8W8 and A16W8 set AlignConcat=True): every quantized
// activation input of a quantized Concat takes the Concat output's parameters, so the concatenation
// moves integers without requantizing any input.
//
//   Before:  a (scale 0.01) ─┐
//                            Concat -> y (scale 0.04)
//            b (scale 0.04) ─┘
//   After:   a and b both at y's scale 0.04 and zero point
//
// The output's calibrated range holds every input's values, so no input is clipped that was not; an
// input of small range loses resolution instead. An input keeps its own parameters when it is pinned
// (TensorQuantOverrides), of another type than the output, per-channel, or not quantized.
#pragma once

#include <set>
#include <string>

#include "ir/graph_view.h"
#include "quantizer/quant_plan.h"

namespace onnxq {

// Applies the alignment to every quantized Concat (default domain) of `plan`; returns the inputs whose
// parameters changed.
std::set<std::string> AlignConcatScales(const GraphView& graph, const std::set<std::string>& pinned, QuantPlan* plan);

}  // namespace onnxq
