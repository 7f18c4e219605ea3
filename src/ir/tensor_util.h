// Conversions between onnx::TensorProto and plain float vectors.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "onnxq/status.h"

namespace onnxq {

// Values of a float, float16, double, int32 or int64 tensor as floats. Errors name the tensor.
Result<std::vector<float>> ToFloats(const onnx::TensorProto& tensor);
// Values of an integer tensor (int64/int32/uint8/int8) as int64.
Result<std::vector<int64_t>> ToInt64s(const onnx::TensorProto& tensor);

int64_t ElementCount(const onnx::TensorProto& tensor);
std::vector<int64_t> Dims(const onnx::TensorProto& tensor);

onnx::TensorProto MakeFloatTensor(const std::string& name, std::span<const int64_t> dims,
                                  std::span<const float> values);
// Integer tensor of the given onnx data type (INT8, UINT8, INT16, UINT16, INT32, UINT32), stored as raw_data.
onnx::TensorProto MakeIntTensor(const std::string& name, int32_t data_type, std::span<const int64_t> dims,
                                std::span<const int64_t> values);
onnx::TensorProto MakeScalarFloat(const std::string& name, float value);

}  // namespace onnxq
