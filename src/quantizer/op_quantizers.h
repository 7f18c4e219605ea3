// Per-op quantizers: each one only *declares* which inputs and outputs of a node should be quantized
// and how (activation, weight with its channel axis, int32 bias, shared parameters). They never edit
// the graph; the materializer does that, once, for every op.
#pragma once

#include <onnx/onnx_pb.h>

#include <optional>
#include <string>
#include <vector>

#include "ir/graph_view.h"
#include "quantizer/quant_plan.h"

namespace onnxq {

struct MarkResult {
  std::optional<NodeMark> mark;  // nullopt: the node stays float
  std::string reason;            // why, when it stays float
};

using OpQuantizer = MarkResult (*)(const GraphView& graph, int node_index);

// The quantizer for an op type of the default domain, or nullptr if onnxq does not quantize it.
OpQuantizer FindOpQuantizer(const std::string& op_type);

// Every op type with a quantizer, sorted (for --help and reports).
std::vector<std::string> SupportedOpTypes();

// Whether the constant `init` holds inf or NaN, which no integer grid holds (false when its values are
// not numbers ToFloats reads). A float tensor in raw data is read from its bytes, without a copy.
bool HoldsNonFinite(const onnx::TensorProto& init);

// Why nodes of an op type without a quantizer stay float: a reason of its own for the op types real
// networks use and onnxq leaves float on purpose (recurrent ops, Log, Exp ...), else a generic one.
std::string UnquantizedReason(const std::string& op_type);

}  // namespace onnxq
