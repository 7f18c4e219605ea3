// Quantization parameters: integer ranges of the quantized types and the mapping from a real range
// [rmin, rmax] to (scale, zero point). Pure math, no graph.
//
//   q = clamp(round_half_even(x / scale) + zero_point, qmin, qmax)
//   x' = (q - zero_point) * scale
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "onnxq/quant_types.h"

namespace onnxq {

bool IsIntegerType(QuantType type);
bool IsSignedType(QuantType type);
int BitWidth(QuantType type);
// ONNX TensorProto data type enum value of the quantized type.
int32_t OnnxDataType(QuantType type);

struct IntRange {
  int64_t qmin = 0;
  int64_t qmax = 0;
};

struct RangeOptions {
  bool symmetric = false;
  // 7-bit weights for old x86 VNNI-less kernels, as ONNX Runtime's `reduce_range`.
  bool reduce_range = false;
  UnsignedSymmetricZeroPoint unsigned_symmetric_zero_point = UnsignedSymmetricZeroPoint::kOnnxRuntime;
};

// Integer range of an integer type. Symmetric signed ranges drop the most negative value
// (int8: [-127, 127]) so that zero sits in the middle.
IntRange QuantRange(QuantType type, const RangeOptions& options);

struct QuantParams {
  float scale = 1.0F;
  int64_t zero_point = 0;
};

// Maps [rmin, rmax] (widened to contain 0) to scale and zero point.
// Asymmetric: scale = (rmax - rmin) / (qmax - qmin), zp = round(qmin - rmin / scale).
// Symmetric:  scale = max(|rmin|, |rmax|) / ((qmax - qmin) / 2), zp = 0 for signed types and the
//             UnsignedSymmetricZeroPoint choice for unsigned ones.
// A degenerate range (rmax == rmin == 0) gives scale 1 and the symmetric or qmin-based zero point.
QuantParams ComputeQuantParams(float rmin, float rmax, QuantType type, const RangeOptions& options);

// Power-of-two variant: the scale is replaced by 2^-pos. See power_of_two.h for how pos is chosen.
QuantParams PowerOfTwoQuantParams(int pos, float rmin, float rmax, QuantType type, const RangeOptions& options);

int64_t QuantizeValue(float x, const QuantParams& params, const IntRange& range);
// QuantizeValue of each of `values`, into `out` (of the same size).
void QuantizeValues(std::span<const float> values, const QuantParams& params, const IntRange& range,
                    std::span<int64_t> out);
// The same codes as QuantizeValues for an 8-bit `range` (within [-128, 255]), stored as bytes: the low
// byte of each code, as an INT8 or UINT8 tensor's raw data holds it.
void QuantizeValuesTo8Bit(std::span<const float> values, const QuantParams& params, const IntRange& range,
                          std::span<uint8_t> out);
float DequantizeValue(int64_t q, const QuantParams& params);
inline float FakeQuantize(float x, const QuantParams& params, const IntRange& range) {
  return DequantizeValue(QuantizeValue(x, params, range), params);
}

// Largest |x - fake_quantize(x)| over the data; used by tests and error reports.
float MaxAbsQuantError(std::span<const float> data, const QuantParams& params, const IntRange& range);

}  // namespace onnxq
