// ONNX Runtime's CPU engine behind InferenceBackend. Only the pipeline, evaluation and tests name it;
// calibration and bias correction receive it as an InferenceBackend. Its target (onnxq_onnxruntime) is
// the only one that links the runtime.
#pragma once

#include <onnx/onnx_pb.h>

#include <memory>

#include "calibration/inference_backend.h"
#include "onnxq/status.h"

namespace onnxq {

// The process's one ONNX Runtime backend: sessions from CreateOnnxRuntimeSession; Load starts the
// runtime's environment and probes its blocked layout.
const InferenceBackend& OnnxRuntimeBackend();

// Builds an ONNX Runtime CPU session for the model. Models over 2 GB are staged through a temporary
// directory with external data. Runtime exceptions become Status values.
Result<std::unique_ptr<InferenceSession>> CreateOnnxRuntimeSession(const onnx::ModelProto& model,
                                                                   const SessionOptions& options = {});

}  // namespace onnxq
