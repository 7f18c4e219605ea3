#include "onnxq/tensor.h"

#include <cstring>
#include <functional>
#include <numeric>

namespace onnxq {

size_t ElementSize(ElementType type) {
  switch (type) {
    case ElementType::kFloat:
    case ElementType::kInt32:
      return 4;
    case ElementType::kInt64:
      return 8;
    case ElementType::kUInt8:
    case ElementType::kInt8:
    case ElementType::kBool:
      return 1;
  }
  return 1;
}

const char* ElementTypeName(ElementType type) {
  switch (type) {
    case ElementType::kFloat:
      return "float32";
    case ElementType::kInt64:
      return "int64";
    case ElementType::kInt32:
      return "int32";
    case ElementType::kUInt8:
      return "uint8";
    case ElementType::kInt8:
      return "int8";
    case ElementType::kBool:
      return "bool";
  }
  return "?";
}

Tensor Tensor::FromFloats(std::string name, std::vector<int64_t> shape, std::span<const float> values) {
  Tensor t;
  t.name = std::move(name);
  t.type = ElementType::kFloat;
  t.shape = std::move(shape);
  t.bytes.resize(values.size_bytes());
  if (!values.empty()) std::memcpy(t.bytes.data(), values.data(), values.size_bytes());
  return t;
}

int64_t Tensor::element_count() const {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

std::span<const float> Tensor::floats() const {
  return {reinterpret_cast<const float*>(bytes.data()), bytes.size() / sizeof(float)};
}

std::span<float> Tensor::mutable_floats() {
  return {reinterpret_cast<float*>(bytes.data()), bytes.size() / sizeof(float)};
}

int64_t SamplesIn(const Feeds& feeds) {
  for (const Tensor& t : feeds) {
    if (t.batch_axis && !t.shape.empty()) return t.shape[0];
  }
  return 1;
}

}  // namespace onnxq
