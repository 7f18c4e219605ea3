// The runnability report (onnxq/runnability.h) with the engine handed in, and its classification of an
// optimized graph, which needs no engine.
//
// Classes, for each node of the engine's optimized main graph, first match wins:
//   quantize_dequantize    QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear
//   integer_kernels        QLinear* (any domain), QGemm, MatMulIntegerToFloat, ConvInteger,
//                          MatMulInteger, DynamicQuantizeMatMul, QAttention, ...
//   integer_data_movement  an op that only moves values (MaxPool, Reshape, Transpose, Concat, ...) whose
//                          first input is a quantized tensor: the output of a QuantizeLinear, of an
//                          integer kernel that requantizes, or of another such op
//   float_between_qdq      any other node that takes the output of a DequantizeLinear of an activation
//                          (not of an initializer: a dequantized weight feeding a float op is weight-only
//                          quantization) or feeds a QuantizeLinear
//   float_ops              the rest
#pragma once

#include <onnx/onnx_pb.h>

#include "calibration/inference_backend.h"
#include "onnxq/runnability.h"
#include "onnxq/status.h"

namespace onnxq {

// Classifies the nodes of `optimized`, an engine's optimized model (ops of any domain; never checked).
RunnabilityReport ClassifyRunnability(const onnx::ModelProto& optimized);

// `backend`'s optimized model of `model`, classified. The backend's error when it cannot write one.
Result<RunnabilityReport> InspectRunnability(const InferenceBackend& backend, const onnx::ModelProto& model);

}  // namespace onnxq
