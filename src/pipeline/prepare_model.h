// Makes a loaded model ready for calibration and quantization: Constant weights become initializers,
// old opsets are upgraded (Q/DQ needs opset 10, per-channel axes opset 13), and shapes and types are
// inferred.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "onnxq/status.h"

namespace onnxq {

struct PrepareOptions {
  int64_t min_opset = 10;  // 13 when per-channel weights are asked for
};

struct PrepareReport {
  int64_t opset_before = 0;
  int64_t opset_after = 0;
  std::vector<std::string> notes;
};

Result<PrepareReport> PrepareModel(onnx::ModelProto& model, const PrepareOptions& options);

// ONNX shape inference; failures on single nodes are tolerated (their outputs stay untyped).
Status InferShapes(onnx::ModelProto& model);

}  // namespace onnxq
