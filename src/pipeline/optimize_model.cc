// OptimizeModel and the pass list (onnxq/optimize.h).
#include <set>
#include <string>

#include "ir/infer_shapes.h"
#include "onnxq/optimize.h"
#include "passes/convert_nchw_to_nhwc.h"
#include "passes/pass_registry.h"

namespace onnxq {

std::vector<PassInfo> ListPasses() {
  const std::vector<std::string> ids = PassIds();
  std::vector<PassInfo> passes;
  passes.reserve(ids.size());
  for (const auto& id : ids) {
    auto pass = CreatePass(id);
    passes.push_back({.id = id, .summary = pass.ok() ? std::string((*pass)->summary()) : std::string()});
  }
  return passes;
}

Status CheckPassIds(const std::vector<std::string>& ids, const PassOptions& options) {
  for (const auto& id : ids) ONNXQ_RETURN_IF_ERROR(CreatePass(id, options).status());
  return Status::Ok();
}

Result<std::vector<PassSummary>> OptimizeModel(onnx::ModelProto& model, const std::vector<std::string>& ids,
                                               const PassOptions& options) {
  ONNXQ_RETURN_IF_ERROR(CheckPassIds(ids, options));
  const bool had_value_info = model.graph().value_info_size() > 0;
  ONNXQ_RETURN_IF_ERROR(InferShapes(model));
  PassContext context;
  ONNXQ_ASSIGN_OR_RETURN(const std::vector<PassRun> runs, RunPasses(ids, model, options, context));
  if (!had_value_info) model.mutable_graph()->clear_value_info();
  std::vector<PassSummary> summaries;
  summaries.reserve(runs.size());
  for (const auto& run : runs) {
    summaries.push_back({.id = run.id, .changes = run.report.changes, .notes = run.report.notes});
  }
  return summaries;
}

onnx::ModelProto InputsAsFed(const onnx::ModelProto& model, const PassOptions& options) {
  onnx::ModelProto fed;
  fed.set_ir_version(model.ir_version());
  *fed.mutable_opset_import() = model.opset_import();
  std::set<std::string> initializers;
  for (const auto& init : model.graph().initializer()) initializers.insert(init.name());
  for (const auto& input : model.graph().input()) {
    if (!initializers.contains(input.name())) *fed.mutable_graph()->add_input() = input;
  }
  if (options.convert_nchw_to_nhwc) {
    PassContext context;
    // Inputs and a Transpose each: the pass cannot fail on them.
    (void)ConvertNchwToNhwcPass().Run(fed, context);
  }
  return fed;
}

}  // namespace onnxq
