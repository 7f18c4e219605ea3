// Passes by id, for `onnxq optimize --passes a,b,c` and for the quantize pipeline.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "passes/graph_pass.h"

namespace onnxq {

// A new instance of the pass with this id, or NotFound naming the known ids.
Result<std::unique_ptr<GraphPass>> CreatePass(const std::string& id);
std::vector<std::string> PassIds();

// Runs the passes in order, stopping at the first error (which names the pass).
Result<std::vector<PassReport>> RunPasses(const std::vector<std::string>& ids, onnx::ModelProto& model);

}  // namespace onnxq
