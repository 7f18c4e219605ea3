// Checks that refuse a model before onnxq spends time on it: what would fail after calibration (the
// ONNX checker on the result) or silently give a wrong result (quantizing a quantized model) fails
// here, in milliseconds.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

#include "onnxq/status.h"

namespace onnxq {

// InvalidModel when the model holds quantized ops, at any depth: QuantizeLinear, DequantizeLinear,
// DynamicQuantizeLinear, QLinear* (QLinearConv, QLinearMatMul, com.microsoft's QLinearAdd ...),
// ConvInteger, MatMulInteger and ONNX Runtime's other integer contrib ops (QGemm, QAttention,
// DynamicQuantizeMatMul, MatMulIntegerToFloat, MatMulNBits ...). onnxq quantizes float models; on a
// quantized one it would stack a second quantization on the first. `origin` names the model in the
// message (a quoted file name, or "the model"):
//   "'m.onnx' is already quantized (6 QuantizeLinear/DequantizeLinear, 1 QLinearConv): give onnxq the float model"
Status CheckFloatModel(const onnx::ModelProto& model, const std::string& origin);

// InvalidModel when an output of the main graph is neither produced by a node nor a graph input or an
// initializer. The ONNX checker lets such a model pass, and ONNX's version converter dereferences a null
// value on it; ONNX Runtime refuses it.
Status CheckGraphOutputs(const onnx::GraphProto& graph);

// The ONNX checker on the prepared float model, before calibration: the quantized model must pass
// it at the end, and what fails here would fail there too. InvalidModel with the checker's message
// when the model as given fails as well; Internal when only the prepared model does (a graph pass
// broke it): `input_passes_checker` says which.
Status CheckPreparedModel(const onnx::ModelProto& prepared, bool input_passes_checker);

// Whether the ONNX checker accepts `model` (CheckPreparedModel's `input_passes_checker`).
bool PassesChecker(const onnx::ModelProto& model);

}  // namespace onnxq
