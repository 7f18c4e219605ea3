// OptimizeModel and the pass list (onnxq/optimize.h).
#include "ir/infer_shapes.h"
#include "onnxq/optimize.h"
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

}  // namespace onnxq
