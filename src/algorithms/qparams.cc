#include "algorithms/qparams.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

#include "common/simd.h"

namespace onnxq {

bool IsIntegerType(QuantType type) { return type != QuantType::kFloat16 && type != QuantType::kBFloat16; }

bool IsSignedType(QuantType type) {
  return type == QuantType::kInt8 || type == QuantType::kInt16 || type == QuantType::kInt32;
}

int BitWidth(QuantType type) {
  switch (type) {
    case QuantType::kInt8:
    case QuantType::kUInt8:
      return 8;
    case QuantType::kInt16:
    case QuantType::kUInt16:
    case QuantType::kFloat16:
    case QuantType::kBFloat16:
      return 16;
    case QuantType::kInt32:
    case QuantType::kUInt32:
      return 32;
  }
  return 8;
}

int32_t OnnxDataType(QuantType type) {
  // Values of onnx::TensorProto_DataType, repeated here to keep this file free of protobuf.
  switch (type) {
    case QuantType::kInt8:
      return 3;
    case QuantType::kUInt8:
      return 2;
    case QuantType::kInt16:
      return 5;
    case QuantType::kUInt16:
      return 4;
    case QuantType::kInt32:
      return 6;
    case QuantType::kUInt32:
      return 12;
    case QuantType::kFloat16:
      return 10;
    case QuantType::kBFloat16:
      return 16;
  }
  return 0;
}

IntRange QuantRange(QuantType type, const RangeOptions& options) {
  int bits = BitWidth(type);
  if (options.reduce_range && bits == 8) bits = 7;
  if (IsSignedType(type)) {
    const int64_t half = int64_t{1} << (bits - 1);
    return options.symmetric ? IntRange{-(half - 1), half - 1} : IntRange{-half, half - 1};
  }
  const int64_t top = (int64_t{1} << bits) - 1;
  return IntRange{0, top};
}

namespace {

int64_t SymmetricZeroPoint(QuantType type, const RangeOptions& options, const IntRange& range) {
  if (IsSignedType(type)) return 0;
  const int64_t half = (range.qmax + 1) / 2;  // 128 for uint8
  return options.unsigned_symmetric_zero_point == UnsignedSymmetricZeroPoint::kNpu ? half : half - 1;
}

// Number of quantization steps from zero to the positive end of a symmetric range.
int64_t SymmetricHalfSteps(QuantType type, const RangeOptions& options, const IntRange& range) {
  if (IsSignedType(type)) return range.qmax;
  (void)options;
  return (range.qmax + 1) / 2 - 1;  // 127 for uint8 with either zero point convention
}

}  // namespace

QuantParams ComputeQuantParams(float rmin, float rmax, QuantType type, const RangeOptions& options) {
  const IntRange range = QuantRange(type, options);
  rmin = std::min(rmin, 0.0F);
  rmax = std::max(rmax, 0.0F);
  QuantParams params;
  if (options.symmetric) {
    const float absmax = std::max(std::fabs(rmin), std::fabs(rmax));
    params.zero_point = SymmetricZeroPoint(type, options, range);
    const auto steps = static_cast<float>(SymmetricHalfSteps(type, options, range));
    params.scale = absmax / steps;
  } else {
    params.scale = (rmax - rmin) / static_cast<float>(range.qmax - range.qmin);
    if (params.scale >= std::numeric_limits<float>::min()) {
      const double zp = std::nearbyint(static_cast<double>(range.qmin) - static_cast<double>(rmin) / params.scale);
      params.zero_point = std::clamp(static_cast<int64_t>(zp), range.qmin, range.qmax);
    }
  }
  if (!(params.scale >= std::numeric_limits<float>::min()) || !std::isfinite(params.scale)) {
    params.scale = 1.0F;
    params.zero_point = options.symmetric ? SymmetricZeroPoint(type, options, range) : range.qmin;
  }
  return params;
}

QuantParams PowerOfTwoQuantParams(int pos, float rmin, float rmax, QuantType type, const RangeOptions& options) {
  const IntRange range = QuantRange(type, options);
  QuantParams params;
  params.scale = std::ldexp(1.0F, -pos);
  if (options.symmetric) {
    params.zero_point = SymmetricZeroPoint(type, options, range);
  } else {
    rmin = std::min(rmin, 0.0F);
    (void)rmax;
    const double zp = std::nearbyint(static_cast<double>(range.qmin) - static_cast<double>(rmin) / params.scale);
    params.zero_point = std::clamp(static_cast<int64_t>(zp), range.qmin, range.qmax);
  }
  return params;
}

int64_t QuantizeValue(float x, const QuantParams& params, const IntRange& range) {
  const double q = std::nearbyint(static_cast<double>(x) / params.scale) + static_cast<double>(params.zero_point);
  if (!(q >= static_cast<double>(range.qmin))) return range.qmin;  // also maps NaN to qmin
  if (q > static_cast<double>(range.qmax)) return range.qmax;
  return static_cast<int64_t>(q);
}

// Compiled per x86 level so that rounding is an instruction rather than a call into libm.
ONNXQ_FOR_EACH_X86_LEVEL
void QuantizeValues(std::span<const float> values, const QuantParams& params, const IntRange& range,
                    std::span<int64_t> out) {
  assert(out.size() == values.size());
  const auto scale = static_cast<double>(params.scale);
  const auto zero_point = static_cast<double>(params.zero_point);
  const auto qmin = static_cast<double>(range.qmin);
  const auto qmax = static_cast<double>(range.qmax);
  for (size_t i = 0; i < values.size(); ++i) {
    // QuantizeValue, spelled so that the loop vectorizes (NaN still maps to qmin).
    const double q = std::nearbyint(static_cast<double>(values[i]) / scale) + zero_point;
    out[i] = static_cast<int64_t>(q >= qmin ? (q > qmax ? qmax : q) : qmin);
  }
}

ONNXQ_FOR_EACH_X86_LEVEL
void QuantizeValuesTo8Bit(std::span<const float> values, const QuantParams& params, const IntRange& range,
                          std::span<uint8_t> out) {
  assert(out.size() == values.size());
  assert(range.qmin >= -128 && range.qmax <= 255);
  const auto scale = static_cast<double>(params.scale);
  const auto zero_point = static_cast<double>(params.zero_point);
  const auto qmin = static_cast<double>(range.qmin);
  const auto qmax = static_cast<double>(range.qmax);
  // Adding and taking away 1.5 * 2^52 rounds a double to the nearest integer, ties to even, as
  // nearbyint does in the default rounding mode, but in a form the loop vectorizes. Values too large
  // for the trick stay beyond qmin or qmax, so they clamp as before; NaN still maps to qmin.
  constexpr double kRound = 6755399441055744.0;
  for (size_t i = 0; i < values.size(); ++i) {
    const double q = ((static_cast<double>(values[i]) / scale + kRound) - kRound) + zero_point;
    const double clamped = q >= qmin ? (q > qmax ? qmax : q) : qmin;
    out[i] = static_cast<uint8_t>(static_cast<int32_t>(clamped));
  }
}

float DequantizeValue(int64_t q, const QuantParams& params) {
  return static_cast<float>(q - params.zero_point) * params.scale;
}

float MaxAbsQuantError(std::span<const float> data, const QuantParams& params, const IntRange& range) {
  float worst = 0.0F;
  for (float x : data) worst = std::max(worst, std::fabs(x - FakeQuantize(x, params, range)));
  return worst;
}

}  // namespace onnxq
