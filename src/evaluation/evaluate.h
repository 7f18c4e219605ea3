// Evaluation with the inference backend handed in; onnxq/evaluate.h's EvaluateClassifier runs ONNX
// Runtime's.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <span>

#include "calibration/inference_backend.h"
#include "onnxq/data_reader.h"
#include "onnxq/evaluate.h"

namespace onnxq {

// EvaluateClassifier (onnxq/evaluate.h) in a session of `backend`.
Result<AccuracyReport> EvaluateClassifier(const InferenceBackend& backend, const onnx::ModelProto& model,
                                          CalibrationDataReader& reader, std::span<const int64_t> labels,
                                          const EvaluateOptions& options = {});

}  // namespace onnxq
