#include "pipeline/prepare_quantization.h"

#include "ir/graph_view.h"
#include "pipeline/check_model.h"
#include "quantizer/keep_unfused_ops_float.h"
#include "quantizer/mark_nodes.h"

namespace onnxq {

Result<PreparedQuantization> PrepareQuantization(onnx::ModelProto input, const QuantizeOptions& options) {
  ONNXQ_RETURN_IF_ERROR(CheckFloatModel(input, "the model"));
  const bool input_passes_checker = PassesChecker(input);  // for CheckPreparedModel's message, if it fails
  PreparedQuantization prepared{.model = std::move(input)};
  ONNXQ_ASSIGN_OR_RETURN(prepared.report, PrepareModel(prepared.model, {.min_opset = options.per_channel ? 13 : 10,
                                                                        .passes = options.passes}));
  ONNXQ_RETURN_IF_ERROR(
      CheckPreparedModel(prepared.model, input_passes_checker));  // fails now what would fail after calibration
  const GraphView graph(prepared.model.mutable_graph());
  ONNXQ_ASSIGN_OR_RETURN(prepared.plan, MarkNodes(graph, options));
  KeepUnfusedOpsFloat(graph, options, &prepared.plan);
  prepared.tensors = TensorsToCalibrate(prepared.plan);
  return prepared;
}

}  // namespace onnxq
