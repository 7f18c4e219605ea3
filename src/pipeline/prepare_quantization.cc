#include "pipeline/prepare_quantization.h"

#include <algorithm>
#include <string>

#include "ir/graph_view.h"
#include "pipeline/check_model.h"
#include "quantizer/keep_unfused_ops_float.h"
#include "quantizer/mark_nodes.h"
#include "quantizer/write_out_hard_swish.h"

namespace onnxq {
namespace {

bool IsSixteenBit(QuantType type) { return type == QuantType::kInt16 || type == QuantType::kUInt16; }

// A 16-bit activation or weight type, or a TensorQuantOverrides entry to one.
bool HasSixteenBitType(const QuantizeOptions& options) {
  if (IsSixteenBit(options.activation_type) || IsSixteenBit(options.weight_type)) return true;
  return std::ranges::any_of(options.tensor_overrides,
                             [](const auto& entry) { return entry.second.type && IsSixteenBit(*entry.second.type); });
}

}  // namespace

Result<PreparedQuantization> PrepareQuantization(onnx::ModelProto input, const QuantizeOptions& options) {
  ONNXQ_RETURN_IF_ERROR(CheckFloatModel(input, "the model"));
  const bool input_passes_checker = PassesChecker(input);  // for CheckPreparedModel's message, if it fails
  PreparedQuantization prepared{.model = std::move(input)};
  ONNXQ_ASSIGN_OR_RETURN(prepared.report, PrepareModel(prepared.model, {.min_opset = options.per_channel ? 13 : 10,
                                                                        .passes = options.passes}));
  if (HasSixteenBitType(options) && prepared.report.qdq_domain != QdqDomain::kMicrosoft) {
    prepared.report.qdq_domain = QdqDomain::kMicrosoft;
    prepared.report.notes.emplace_back(
        "16-bit QuantizeLinear / DequantizeLinear are written in ONNX Runtime's com.microsoft domain (ONNX has "
        "them from opset 21, past the opsets this build's ONNX checker knows)");
  }
  if (const int written = WriteOutHardSwish(prepared.model.mutable_graph(), options); written > 0) {
    prepared.report.notes.push_back("write_out_hard_swish: " + std::to_string(written) +
                                    " HardSwish written out as x * HardSigmoid(x), which ONNX Runtime runs as "
                                    "QLinearAdd and QLinearMul");
  }
  ONNXQ_RETURN_IF_ERROR(
      CheckPreparedModel(prepared.model, input_passes_checker));  // fails now what would fail after calibration
  const GraphView graph(prepared.model.mutable_graph());
  ONNXQ_ASSIGN_OR_RETURN(prepared.plan, MarkNodes(graph, options));
  KeepUnfusedOpsFloat(graph, options, &prepared.plan);
  prepared.tensors = TensorsToCalibrate(prepared.plan);
  return prepared;
}

}  // namespace onnxq
