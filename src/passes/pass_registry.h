// Passes by id, for `onnxq optimize --passes a,b,c` and for the quantize pipeline.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "onnxq/options.h"
#include "passes/graph_pass.h"

namespace onnxq {

// A new instance of the pass with this id, configured from `options` where the pass has settings, or
// NotFound naming the known ids.
Result<std::unique_ptr<GraphPass>> CreatePass(const std::string& id, const PassOptions& options = {});
std::vector<std::string> PassIds();

struct PassRun {
  std::string id;
  PassReport report;
};

// Runs the passes in order on one shared context, stopping at the first error (which names the pass).
Result<std::vector<PassRun>> RunPasses(const std::vector<std::string>& ids, onnx::ModelProto& model,
                                       const PassOptions& options, PassContext& context);
// The same with default options and a fresh context.
Result<std::vector<PassRun>> RunPasses(const std::vector<std::string>& ids, onnx::ModelProto& model);

}  // namespace onnxq
