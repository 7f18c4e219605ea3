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

std::vector<std::string> PreparePassIds(const PassOptions& options) {
  std::vector<std::string> ids = {"constants_to_initializers", "eliminate_identity", "fold_batch_norm"};
  if (options.convert_bn_to_conv) ids.emplace_back("convert_bn_to_conv");
  if (options.replace_clip6_relu) ids.emplace_back("replace_clip6_with_relu");
  if (options.include_cle) ids.emplace_back("equalize_cross_layer");
  if (options.high_bias_absorption) ids.emplace_back("absorb_high_bias");
  return ids;
}

Result<PrepareReport> PrepareModel(onnx::ModelProto& model, const PrepareOptions& options) {
  PrepareReport report;
  report.opset_before = DefaultOpset(model);
  if (report.opset_before == 0) {
    return InvalidModel("the model does not import the default ONNX domain (no opset_import for \"\")");
  }
  const std::vector<std::string> ids = PreparePassIds(options.passes);
  PassContext context;
  auto note = [&report](const std::vector<PassRun>& runs) {
    for (const auto& run : runs) {
      for (const auto& line : run.report.notes) report.notes.push_back(run.id + ": " + line);
    }
  };
  ONNXQ_ASSIGN_OR_RETURN(const auto first, RunPasses({ids.front()}, model, options.passes, context));
  note(first);
  if (report.opset_before < options.min_opset) {
    constexpr int kTargetOpset = 13;
    try {
      model = onnx::version_conversion::ConvertVersion(model, kTargetOpset);
    } catch (const std::exception& e) {
      return Unsupported("the model uses opset " + std::to_string(report.opset_before) +
                         " and could not be upgraded to " + std::to_string(kTargetOpset) + " (" + e.what() +
                         "); re-export it with opset >= " + std::to_string(options.min_opset));
    }
    report.notes.push_back("opset upgraded from " + std::to_string(report.opset_before) + " to " +
                           std::to_string(kTargetOpset));
  }
  report.opset_after = DefaultOpset(model);
  ONNXQ_RETURN_IF_ERROR(InferShapes(model));
  ONNXQ_ASSIGN_OR_RETURN(
      const auto rest, RunPasses(std::vector<std::string>(ids.begin() + 1, ids.end()), model, options.passes, context));
  note(rest);
  // Passes drop the value_info of tensors they rename; inference types the new ones.
  ONNXQ_RETURN_IF_ERROR(InferShapes(model));
  return report;
}

}  // namespace onnxq
