#pragma once

#include <string>

#include "ir/graph_view.h"
#include "onnxq/options.h"
#include "quantizer/quant_plan.h"

namespace onnxq {

// The NPU modes: an NPU computes a conv-like node and the activation after it in one step, so no
// Q/DQ may sit between them (Quark's RemoveQDQConvRelu / Clip / LeakyRelu / PRelu).
//
//   Before:  Conv -> Q -> DQ -> Relu -> Q -> DQ
//   After:   Conv ---------------> Relu -> Q -> DQ
//
// Preconditions: the producer is a Conv, ConvTranspose, Gemm, MatMul, Add, MaxPool, AveragePool or
// GlobalAveragePool (default domain) that is quantized, its output has that activation as its only
// reader and is not a graph output, and the activation (switched on in `options`) is quantized. The
// plan then drops the producer output's parameters; the activation's output keeps its own. Returns how
// many pairs went.
// Relu, Clip, LeakyRelu, PRelu: the activations an NPU computes inside their producer.
bool IsFusedActivationOp(const std::string& op_type);

int RemoveFusedActivationQdq(const GraphView& graph, const FusedActivationOptions& options, QuantPlan* plan);

}  // namespace onnxq
