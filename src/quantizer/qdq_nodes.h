// Small questions the rewrites that run on a materialized QDQ graph (ExpressHardSigmoidAsAdd,
// PadConvInputChannels, PadDepthwiseChannels, FoldOffsetsIntoBiases) ask of its QuantizeLinear /
// DequantizeLinear nodes.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph_view.h"

namespace onnxq {

// Whether `domain` is one MaterializeQdq writes Q / DQ nodes in: the default one or ONNX Runtime's.
bool IsQdqDomain(const std::string& domain);

// The 8-bit element type (UINT8 or INT8) of a Q / DQ node's zero point initializer (input 2), or 0 when
// it is absent, not an initializer or wider.
int32_t EightBitType(const GraphView& graph, const onnx::NodeProto& node);

// Whether every value of a zero point initializer is 0 (symmetric weights); false when it is not an
// integer tensor.
bool AllZero(const onnx::TensorProto& zero_point);

// The DequantizeLinear (of a QDQ domain, with all three inputs) that writes `tensor`, or null.
const onnx::NodeProto* DequantizeWriting(const GraphView& graph, const std::string& tensor);

// The node that alone reads `tensor` (no subgraph, not a graph output), or -1.
int OnlyReader(const GraphView& graph, const std::string& tensor);

// A node's quantized parameter: input `input` written by a DequantizeLinear of an initializer of
// `type` with zero points 0, the DequantizeLinear and its three initializers read by nothing else;
// a vector of scales runs along axis 0 (output channels).
struct QuantizedParameter {
  onnx::TensorProto* values = nullptr;
  onnx::TensorProto* scale = nullptr;
  onnx::TensorProto* zero_point = nullptr;
};
std::optional<QuantizedParameter> OwnedParameter(GraphView& graph, const onnx::NodeProto& node, int input,
                                                 int32_t type);

// The value of a scalar initializer (float or integer), or nothing.
std::optional<double> ScalarInitializerValue(const GraphView& graph, const std::string& name);
// The value of a scalar constant: a scalar initializer, or a DequantizeLinear of scalar initializers
// ((code - zero point) x scale); nothing for any other tensor.
std::optional<double> ScalarConstantValue(const GraphView& graph, const std::string& tensor);

// Drops the DequantizeLinear nodes whose outputs are among `candidates` and that nothing reads any
// more, then the initializers among `candidates` and those nodes' inputs that nothing reads (graph
// inputs and outputs stay).
void RemoveUnreadDequantizes(const std::vector<std::string>& candidates, onnx::GraphProto* graph);

}  // namespace onnxq
