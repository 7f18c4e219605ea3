#include "pipeline/prepare_model.h"

#include <onnx/shape_inference/implementation.h>
#include <onnx/version_converter/convert.h>

#include "ir/graph_view.h"
#include "passes/pass_registry.h"

namespace onnxq {

Status InferShapes(onnx::ModelProto& model) {
  try {
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(/*check_type_val=*/false, /*strict_mode_val=*/0));
  } catch (const std::exception& e) {
    return InvalidModel(std::string("shape inference failed: ") + e.what());
  }
  return Status::Ok();
}

Result<PrepareReport> PrepareModel(onnx::ModelProto& model, const PrepareOptions& options) {
  PrepareReport report;
  report.opset_before = DefaultOpset(model);
  if (report.opset_before == 0) {
    return InvalidModel("the model does not import the default ONNX domain (no opset_import for \"\")");
  }
  ONNXQ_RETURN_IF_ERROR(RunPasses({"constants_to_initializers"}, model).status());
  if (report.opset_before < options.min_opset) {
    constexpr int kTargetOpset = 13;
    try {
      model = onnx::version_conversion::ConvertVersion(model, kTargetOpset);
    } catch (const std::exception& e) {
      return Unsupported("the model uses opset " + std::to_string(report.opset_before) + " and could not be upgraded to " +
                         std::to_string(kTargetOpset) + " (" + e.what() + "); re-export it with opset >= " +
                         std::to_string(options.min_opset));
    }
    report.notes.push_back("opset upgraded from " + std::to_string(report.opset_before) + " to " +
                           std::to_string(kTargetOpset));
  }
  report.opset_after = DefaultOpset(model);
  ONNXQ_RETURN_IF_ERROR(InferShapes(model));
  return report;
}

}  // namespace onnxq
