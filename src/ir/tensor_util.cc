#include "ir/tensor_util.h"

#include <cstring>
#include <functional>
#include <numeric>

namespace onnxq {
namespace {

template <typename T>
std::vector<T> FromRaw(const std::string& raw) {
  std::vector<T> out(raw.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), raw.data(), out.size() * sizeof(T));
  return out;
}

// A tensor of integers of type T (stored in int32_data unless raw) widened to int64.
template <typename T>
std::vector<int64_t> Widen(const onnx::TensorProto& tensor, bool raw) {
  if (raw) {
    const std::vector<T> v = FromRaw<T>(tensor.raw_data());
    return {v.begin(), v.end()};
  }
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(tensor.int32_data_size()));
  for (const int32_t x : tensor.int32_data()) out.push_back(static_cast<T>(x));
  return out;
}

uint32_t FloatBits(float value) {
  uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

float FloatFromBits(uint32_t bits) {
  float value = 0;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

// Float16 and bfloat16 tensors hold 16-bit patterns: raw little-endian bytes or one per int32_data entry.
std::vector<uint16_t> SixteenBitPatterns(const onnx::TensorProto& tensor) {
  if (tensor.has_raw_data()) return FromRaw<uint16_t>(tensor.raw_data());
  std::vector<uint16_t> bits;
  bits.reserve(static_cast<size_t>(tensor.int32_data_size()));
  for (const int v : tensor.int32_data()) bits.push_back(static_cast<uint16_t>(v));
  return bits;
}

}  // namespace

float HalfToFloat(uint16_t half) {
  const uint32_t sign = (half & 0x8000U) << 16U;
  uint32_t exp = (half >> 10U) & 0x1FU;
  uint32_t mant = half & 0x3FFU;
  if (exp == 0x1F) return FloatFromBits(sign | 0x7F800000U | (mant << 13U));  // inf, NaN
  if (exp == 0) {
    if (mant == 0) return FloatFromBits(sign);  // +-0
    // Subnormal: mant x 2^-24. Normalize: shift the leading 1 into the implicit bit.
    exp = 127 - 15 + 1;
    while ((mant & 0x400U) == 0) {
      mant <<= 1U;
      --exp;
    }
    return FloatFromBits(sign | (exp << 23U) | ((mant & 0x3FFU) << 13U));
  }
  return FloatFromBits(sign | ((exp + 127 - 15) << 23U) | (mant << 13U));
}

uint16_t FloatToHalf(float value) {
  const uint32_t bits = FloatBits(value);
  const auto sign = static_cast<uint16_t>((bits >> 16U) & 0x8000U);
  const uint32_t magnitude = bits & 0x7FFFFFFFU;
  if (magnitude >= 0x7F800000U) {  // inf, NaN (quiet, with the top of the payload)
    if (magnitude == 0x7F800000U) return sign | 0x7C00U;
    return static_cast<uint16_t>(sign | 0x7E00U | ((magnitude >> 13U) & 0x3FFU));
  }
  const int exp = static_cast<int>(magnitude >> 23U) - 127;  // unbiased; -127 for zeros and subnormals
  if (exp > 15) return sign | 0x7C00U;
  // Rounds `significand >> shift` to nearest, ties to even. A carry out of the mantissa moves to the
  // next exponent, which is the right encoding (up to 0x7C00, inf).
  auto round_shift = [](uint32_t significand, uint32_t shift) {
    const uint32_t kept = significand >> shift;
    const uint32_t rest = significand & ((1U << shift) - 1U);
    const uint32_t half_way = 1U << (shift - 1U);
    return kept + ((rest > half_way || (rest == half_way && (kept & 1U) != 0)) ? 1U : 0U);
  };
  if (exp >= -14) {  // normal half: 10 of the 23 mantissa bits, exponent rebiased by 15
    const uint32_t rebiased = (static_cast<uint32_t>(exp + 15) << 23U) | (magnitude & 0x7FFFFFU);
    return static_cast<uint16_t>(sign | round_shift(rebiased, 13));
  }
  if (exp < -25) return sign;
  // Subnormal half: value / 2^-24 = significand x 2^(exp + 1), with the implicit bit made explicit.
  const uint32_t significand = (magnitude & 0x7FFFFFU) | 0x800000U;
  return static_cast<uint16_t>(sign | round_shift(significand, static_cast<uint32_t>(-(exp + 1))));
}

float BFloat16ToFloat(uint16_t bits) { return FloatFromBits(static_cast<uint32_t>(bits) << 16U); }

uint16_t FloatToBFloat16(float value) {
  const uint32_t bits = FloatBits(value);
  if ((bits & 0x7FFFFFFFU) > 0x7F800000U) return static_cast<uint16_t>((bits >> 16U) | 0x0040U);  // quiet NaN
  const uint32_t rounding = 0x7FFFU + ((bits >> 16U) & 1U);
  return static_cast<uint16_t>((bits + rounding) >> 16U);
}

int64_t ElementCount(const onnx::TensorProto& tensor) {
  return std::accumulate(tensor.dims().begin(), tensor.dims().end(), int64_t{1}, std::multiplies<>());
}

std::vector<int64_t> Dims(const onnx::TensorProto& tensor) { return {tensor.dims().begin(), tensor.dims().end()}; }

Result<std::vector<float>> ToFloats(const onnx::TensorProto& tensor) {
  const bool raw = tensor.has_raw_data();
  std::vector<float> out;
  switch (tensor.data_type()) {
    case onnx::TensorProto::FLOAT:
      out = raw ? FromRaw<float>(tensor.raw_data())
                : std::vector<float>(tensor.float_data().begin(), tensor.float_data().end());
      break;
    case onnx::TensorProto::DOUBLE: {
      const auto d = raw ? FromRaw<double>(tensor.raw_data())
                         : std::vector<double>(tensor.double_data().begin(), tensor.double_data().end());
      out.assign(d.begin(), d.end());
      break;
    }
    case onnx::TensorProto::FLOAT16:
      for (const uint16_t v : SixteenBitPatterns(tensor)) out.push_back(HalfToFloat(v));
      break;
    case onnx::TensorProto::BFLOAT16:
      for (const uint16_t v : SixteenBitPatterns(tensor)) out.push_back(BFloat16ToFloat(v));
      break;
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::INT64: {
      ONNXQ_ASSIGN_OR_RETURN(const auto ints, ToInt64s(tensor));
      out.assign(ints.begin(), ints.end());
      break;
    }
    default:
      return Unsupported("tensor '" + tensor.name() + "' has data type " + std::to_string(tensor.data_type()) +
                         ", expected a floating-point type");
  }
  if (static_cast<int64_t>(out.size()) != ElementCount(tensor)) {
    return InvalidModel("tensor '" + tensor.name() + "' holds " + std::to_string(out.size()) +
                        " values but its dims say " + std::to_string(ElementCount(tensor)));
  }
  return out;
}

Result<std::vector<int64_t>> ToInt64s(const onnx::TensorProto& tensor) {
  const bool raw = tensor.has_raw_data();
  std::vector<int64_t> out;
  switch (tensor.data_type()) {
    case onnx::TensorProto::INT64:
      out = raw ? FromRaw<int64_t>(tensor.raw_data())
                : std::vector<int64_t>(tensor.int64_data().begin(), tensor.int64_data().end());
      break;
    case onnx::TensorProto::INT32:
      out = Widen<int32_t>(tensor, raw);
      break;
    case onnx::TensorProto::UINT8:
      out = Widen<uint8_t>(tensor, raw);
      break;
    case onnx::TensorProto::INT8:
      out = Widen<int8_t>(tensor, raw);
      break;
    case onnx::TensorProto::INT16:
      out = Widen<int16_t>(tensor, raw);
      break;
    case onnx::TensorProto::UINT16:
      out = Widen<uint16_t>(tensor, raw);
      break;
    default:
      return Unsupported("tensor '" + tensor.name() + "' has data type " + std::to_string(tensor.data_type()) +
                         ", expected an integer type");
  }
  return out;
}

namespace {

// A tensor named `name` of `data_type` and `dims`, holding `values` as raw little-endian bytes.
template <typename T>
onnx::TensorProto RawTensor(const std::string& name, int32_t data_type, std::span<const int64_t> dims,
                            std::span<const T> values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(data_type);
  for (int64_t d : dims) t.add_dims(d);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size_bytes()));
  return t;
}

// A raw tensor of `values` narrowed to T.
template <typename T>
onnx::TensorProto NarrowedTensor(const std::string& name, int32_t data_type, std::span<const int64_t> dims,
                                 std::span<const int64_t> values) {
  std::vector<T> narrowed(values.size());
  for (size_t i = 0; i < values.size(); ++i) narrowed[i] = static_cast<T>(values[i]);
  return RawTensor<T>(name, data_type, dims, narrowed);
}

}  // namespace

onnx::TensorProto MakeFloatTensor(const std::string& name, std::span<const int64_t> dims,
                                  std::span<const float> values) {
  return RawTensor<float>(name, onnx::TensorProto::FLOAT, dims, values);
}

onnx::TensorProto MakeIntTensor(const std::string& name, int32_t data_type, std::span<const int64_t> dims,
                                std::span<const int64_t> values) {
  switch (data_type) {
    case onnx::TensorProto::INT8:
      return NarrowedTensor<int8_t>(name, data_type, dims, values);
    case onnx::TensorProto::UINT8:
      return NarrowedTensor<uint8_t>(name, data_type, dims, values);
    case onnx::TensorProto::INT16:
      return NarrowedTensor<int16_t>(name, data_type, dims, values);
    case onnx::TensorProto::UINT16:
      return NarrowedTensor<uint16_t>(name, data_type, dims, values);
    case onnx::TensorProto::INT32:
      return NarrowedTensor<int32_t>(name, data_type, dims, values);
    case onnx::TensorProto::UINT32:
      return NarrowedTensor<uint32_t>(name, data_type, dims, values);
    default:
      return NarrowedTensor<int64_t>(name, data_type, dims, values);
  }
}

onnx::TensorProto MakeFloat16Tensor(const std::string& name, std::span<const int64_t> dims,
                                    std::span<const float> values) {
  std::vector<uint16_t> halves(values.size());
  for (size_t i = 0; i < values.size(); ++i) halves[i] = FloatToHalf(values[i]);
  return RawTensor<uint16_t>(name, onnx::TensorProto::FLOAT16, dims, halves);
}

onnx::TensorProto MakeScalarFloat(const std::string& name, float value) {
  return MakeFloatTensor(name, {}, std::span<const float>(&value, 1));
}

}  // namespace onnxq
