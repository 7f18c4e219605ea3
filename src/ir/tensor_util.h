// Conversions between onnx::TensorProto and plain float vectors.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "onnxq/status.h"

namespace onnxq {

// IEEE 754 binary16 <-> binary32. Every half value is exact as a float. FloatToHalf rounds to nearest,
// ties to even: |x| >= 65520 becomes +-inf (65504 = 0x7BFF is the largest half), values below 2^-14
// become subnormals (2^-24 = 0x0001 is the smallest), |x| <= 2^-25 becomes a zero of x's sign; NaN
// stays a (quiet) NaN.
float HalfToFloat(uint16_t half);
uint16_t FloatToHalf(float value);
// bfloat16 is the top half of a binary32: 0x3F80 = 1.0. FloatToBFloat16 rounds to nearest even, NaN stays NaN.
float BFloat16ToFloat(uint16_t bits);
uint16_t FloatToBFloat16(float value);

// Values of a float, float16, bfloat16, double, int32 or int64 tensor as floats. Errors name the tensor.
Result<std::vector<float>> ToFloats(const onnx::TensorProto& tensor);
// Values of an integer tensor (int64/int32/int16/uint16/uint8/int8) as int64.
Result<std::vector<int64_t>> ToInt64s(const onnx::TensorProto& tensor);

int64_t ElementCount(const onnx::TensorProto& tensor);
std::vector<int64_t> Dims(const onnx::TensorProto& tensor);

onnx::TensorProto MakeFloatTensor(const std::string& name, std::span<const int64_t> dims,
                                  std::span<const float> values);
// Integer tensor of the given onnx data type (INT8, UINT8, INT16, UINT16, INT32, UINT32), stored as raw_data.
onnx::TensorProto MakeIntTensor(const std::string& name, int32_t data_type, std::span<const int64_t> dims,
                                std::span<const int64_t> values);
// A FLOAT16 tensor of `values` rounded to half (FloatToHalf), stored as raw_data.
onnx::TensorProto MakeFloat16Tensor(const std::string& name, std::span<const int64_t> dims,
                                    std::span<const float> values);
onnx::TensorProto MakeScalarFloat(const std::string& name, float value);

}  // namespace onnxq
