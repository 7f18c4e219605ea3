// Everything the pipeline does to a loaded model before calibration (load -> [prepare] -> calibrate),
// none of it running the model: what `onnxq quantize` and `onnxq calibrate` do before any ONNX
// Runtime session exists. In order:
//   1. CheckFloatModel     refuses a model that is already quantized (check_model.h)
//   2. PrepareModel        opset and IR version, graph passes, shape inference (prepare_model.h)
//   3. CheckPreparedModel  the ONNX checker, now rather than after calibration (check_model.h)
//   4. MarkNodes           which nodes are quantized, and which tensors calibration must give ranges
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "onnxq/options.h"
#include "onnxq/status.h"
#include "pipeline/prepare_model.h"
#include "quantizer/quant_plan.h"

namespace onnxq {

struct PreparedQuantization {
  onnx::ModelProto model;            // the prepared float model
  PrepareReport report;              // notes go to the user as warnings
  QuantPlan plan;                    // marks only: no parameters yet
  std::vector<std::string> tensors;  // TensorsToCalibrate(plan)
};

Result<PreparedQuantization> PrepareQuantization(onnx::ModelProto input, const QuantizeOptions& options);

}  // namespace onnxq
