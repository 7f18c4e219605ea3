// Which parts of a QDQ model ONNX Runtime's CPU provider runs as integer kernels, read from the
// runtime's own optimized graph (the graph a session builds, written out and read back), not
// predicted: any QDQ model qualifies, whichever tool made it.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "onnxq/status.h"

namespace onnxq {

// A float node of the optimized graph next to a Q/DQ pair: it takes a dequantized activation or
// feeds a QuantizeLinear, so the runtime dequantizes, computes in float and requantizes around it.
struct FloatBetweenQdq {
  std::string node;  // node name (or "<op> #index" when unnamed)
  std::string op_type;
};

// Nodes of the optimized graph by class, each as op type -> count. A fused node group (a
// DequantizeLinear / op / QuantizeLinear group the runtime's QDQ selectors matched) is one node.
struct RunnabilityReport {
  // Integer kernels: QLinearConv, QLinearMatMul, QGemm, MatMulIntegerToFloat, ConvInteger, every
  // QLinear* contrib op ...
  std::map<std::string, int64_t> integer_kernels;
  // Ops that only move 8-bit values (MaxPool, Reshape, Transpose, Concat ... on a quantized tensor).
  std::map<std::string, int64_t> integer_data_movement;
  // Float ops between Q/DQ pairs (FloatBetweenQdq), by op type; each one is listed in float_nodes.
  std::map<std::string, int64_t> float_between_qdq;
  std::vector<FloatBetweenQdq> float_nodes;
  // QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear nodes left in the optimized graph.
  std::map<std::string, int64_t> quantize_dequantize;
  // Every other node: float compute away from any Q/DQ pair (the runtime's own fusions, e.g.
  // com.microsoft FusedConv, count here under their op type).
  std::map<std::string, int64_t> float_ops;
  int64_t nodes = 0;  // in the optimized graph's main graph
};

// Sum of the counts in `counts`.
int64_t TotalCount(const std::map<std::string, int64_t>& counts);

// "integer kernels 52 node groups, float between Q/DQ 3 (HardSigmoid 2, Erf 1)": the report in one line.
std::string RunnabilitySummary(const RunnabilityReport& report);

// Builds an ONNX Runtime CPU session for `model` with every graph optimization on, has it write its
// optimized model and classifies that model's nodes. RuntimeError when the runtime refuses the model.
Result<RunnabilityReport> InspectRunnability(const onnx::ModelProto& model);

}  // namespace onnxq
