// CompareLatency (onnxq/latency.h) with the inference backend handed in.
#pragma once

#include <onnx/onnx_pb.h>

#include "calibration/inference_backend.h"
#include "onnxq/latency.h"

namespace onnxq {

Result<LatencyComparison> CompareLatency(const InferenceBackend& backend, const onnx::ModelProto& float_model,
                                         const onnx::ModelProto& quantized_model, CalibrationDataReader& reader,
                                         const LatencyOptions& options);

}  // namespace onnxq
