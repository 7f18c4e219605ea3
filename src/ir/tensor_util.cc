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

float HalfToFloat(uint16_t h) {
  const uint32_t sign = (h & 0x8000U) << 16U;
  uint32_t exp = (h >> 10U) & 0x1FU;
  uint32_t mant = h & 0x3FFU;
  uint32_t bits = 0;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal
      exp = 127 - 15 + 1;
      while ((mant & 0x400U) == 0) {
        mant <<= 1U;
        --exp;
      }
      mant &= 0x3FFU;
      bits = sign | (exp << 23U) | (mant << 13U);
    }
  } else if (exp == 0x1F) {
    bits = sign | 0x7F800000U | (mant << 13U);
  } else {
    bits = sign | ((exp + 127 - 15) << 23U) | (mant << 13U);
  }
  float f = 0;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

}  // namespace

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
    case onnx::TensorProto::FLOAT16: {
      std::vector<uint16_t> h;
      if (raw) {
        h = FromRaw<uint16_t>(tensor.raw_data());
      } else {
        for (int v : tensor.int32_data()) h.push_back(static_cast<uint16_t>(v));
      }
      out.reserve(h.size());
      for (uint16_t v : h) out.push_back(HalfToFloat(v));
      break;
    }
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
    case onnx::TensorProto::INT32: {
      const auto v = raw ? FromRaw<int32_t>(tensor.raw_data())
                         : std::vector<int32_t>(tensor.int32_data().begin(), tensor.int32_data().end());
      out.assign(v.begin(), v.end());
      break;
    }
    case onnx::TensorProto::UINT8: {
      const auto v = raw ? FromRaw<uint8_t>(tensor.raw_data())
                         : std::vector<uint8_t>(tensor.int32_data().begin(), tensor.int32_data().end());
      out.assign(v.begin(), v.end());
      break;
    }
    case onnx::TensorProto::INT8: {
      const auto v = raw ? FromRaw<int8_t>(tensor.raw_data())
                         : std::vector<int8_t>(tensor.int32_data().begin(), tensor.int32_data().end());
      out.assign(v.begin(), v.end());
      break;
    }
    default:
      return Unsupported("tensor '" + tensor.name() + "' has data type " + std::to_string(tensor.data_type()) +
                         ", expected an integer type");
  }
  return out;
}

onnx::TensorProto MakeFloatTensor(const std::string& name, std::span<const int64_t> dims,
                                  std::span<const float> values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t.add_dims(d);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size_bytes()));
  return t;
}

namespace {

// `values` narrowed to T, as raw little-endian bytes.
template <typename T>
std::string NarrowedBytes(std::span<const int64_t> values) {
  std::vector<T> narrowed(values.size());
  for (size_t i = 0; i < values.size(); ++i) narrowed[i] = static_cast<T>(values[i]);
  return {reinterpret_cast<const char*>(narrowed.data()), narrowed.size() * sizeof(T)};
}

}  // namespace

onnx::TensorProto MakeIntTensor(const std::string& name, int32_t data_type, std::span<const int64_t> dims,
                                std::span<const int64_t> values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(data_type);
  for (int64_t d : dims) t.add_dims(d);
  switch (data_type) {
    case onnx::TensorProto::INT8:
      t.set_raw_data(NarrowedBytes<int8_t>(values));
      break;
    case onnx::TensorProto::UINT8:
      t.set_raw_data(NarrowedBytes<uint8_t>(values));
      break;
    case onnx::TensorProto::INT16:
      t.set_raw_data(NarrowedBytes<int16_t>(values));
      break;
    case onnx::TensorProto::UINT16:
      t.set_raw_data(NarrowedBytes<uint16_t>(values));
      break;
    case onnx::TensorProto::INT32:
      t.set_raw_data(NarrowedBytes<int32_t>(values));
      break;
    case onnx::TensorProto::UINT32:
      t.set_raw_data(NarrowedBytes<uint32_t>(values));
      break;
    default:
      t.set_raw_data(NarrowedBytes<int64_t>(values));
      break;
  }
  return t;
}

onnx::TensorProto MakeScalarFloat(const std::string& name, float value) {
  return MakeFloatTensor(name, {}, std::span<const float>(&value, 1));
}

}  // namespace onnxq
