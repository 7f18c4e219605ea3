// A named, dense, host-memory tensor: what data readers hand to calibration and evaluation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace onnxq {

enum class ElementType { kFloat, kInt64, kInt32, kUInt8, kInt8, kBool };

size_t ElementSize(ElementType type);
const char* ElementTypeName(ElementType type);

struct Tensor {
  std::string name;
  ElementType type = ElementType::kFloat;
  std::vector<int64_t> shape;
  std::vector<std::byte> bytes;
  // Whether axis 0 counts samples (a batch that can be cut and stacked). False for a tensor fed
  // whole as one sample: a scalar input, or a state such as an LSTM's h of shape [2, batch, 64].
  bool batch_axis = true;

  static Tensor FromFloats(std::string name, std::vector<int64_t> shape, std::span<const float> values);
  int64_t element_count() const;
  std::span<const float> floats() const;  // only for kFloat
  std::span<float> mutable_floats();      // only for kFloat
};

// The inputs of one model run, by input name.
using Feeds = std::vector<Tensor>;

// Samples in one model run: axis 0 of the first tensor with a batch axis, or 1 when none has one.
int64_t SamplesIn(const Feeds& feeds);

}  // namespace onnxq
