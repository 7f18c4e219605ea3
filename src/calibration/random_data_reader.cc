#include "calibration/random_data_reader.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <sstream>

namespace onnxq {
namespace {

struct InputSpec {
  std::string name;
  ElementType type = ElementType::kFloat;
  std::vector<int64_t> shape;
  bool batch_axis = true;
  RandomValueRange range;  // float: [low, high); integers: the whole numbers in [low, high]
};

// Element types random data can fill, by ONNX element type.
std::optional<ElementType> RandomElementType(int32_t onnx_type) {
  switch (onnx_type) {
    case onnx::TensorProto::FLOAT:
      return ElementType::kFloat;
    case onnx::TensorProto::INT64:
      return ElementType::kInt64;
    case onnx::TensorProto::INT32:
      return ElementType::kInt32;
    case onnx::TensorProto::INT8:
      return ElementType::kInt8;
    case onnx::TensorProto::UINT8:
      return ElementType::kUInt8;
    case onnx::TensorProto::BOOL:
      return ElementType::kBool;
    default:
      return std::nullopt;
  }
}

// The values an integer type holds, as doubles (int64's ends rounded inwards to doubles it holds).
RandomValueRange TypeLimits(ElementType type) {
  switch (type) {
    case ElementType::kBool:
      return {0, 1};
    case ElementType::kUInt8:
      return {0, 255};
    case ElementType::kInt8:
      return {-128, 127};
    case ElementType::kInt32:
      return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
    case ElementType::kInt64:
    case ElementType::kFloat:
      break;
  }
  return {-0x1p63, 0x1p63 - 1024};  // the largest doubles inside int64
}

// The range of an integer input without one given: the type's own for bool, uint8 and int8; [0, 1]
// for int32 and int64, whose meaningful values (a sample rate, token ids) cannot be guessed.
RandomValueRange DefaultIntegerRange(ElementType type) {
  return type == ElementType::kInt32 || type == ElementType::kInt64 ? RandomValueRange{0, 1} : TypeLimits(type);
}

std::string NumberText(double x) {
  if (std::floor(x) == x && std::fabs(x) < 1e18) return std::to_string(static_cast<int64_t>(x));
  std::ostringstream out;
  out.precision(10);
  out << x;
  return out.str();
}

std::string RangeText(const RandomValueRange& range) {
  return "[" + NumberText(range.low) + ", " + NumberText(range.high) + "]";
}

template <typename T>
void Store(std::span<const int64_t> values, std::vector<std::byte>& bytes) {
  bytes.resize(values.size() * sizeof(T));
  for (size_t i = 0; i < values.size(); ++i) {
    const T v = static_cast<T>(values[i]);
    std::memcpy(bytes.data() + i * sizeof(T), &v, sizeof(T));
  }
}

class RandomDataReader final : public CalibrationDataReader {
 public:
  RandomDataReader(std::vector<InputSpec> inputs, const RandomDataOptions& options)
      : inputs_(std::move(inputs)), options_(options), rng_(options.seed) {}

  Result<std::optional<Feeds>> GetNext() override {
    if (produced_ >= options_.samples) return std::optional<Feeds>();
    Feeds feeds;
    for (const auto& input : inputs_) {
      int64_t count = 1;
      for (int64_t d : input.shape) count *= d;
      Tensor t = input.type == ElementType::kFloat ? RandomFloats(input, count) : RandomIntegers(input, count);
      t.batch_axis = input.batch_axis;
      feeds.push_back(std::move(t));
    }
    produced_ += SamplesIn(feeds);
    return std::optional<Feeds>(std::move(feeds));
  }

  Status Rewind() override {
    produced_ = 0;
    rng_.seed(options_.seed);
    return Status::Ok();
  }

  int64_t SampleCount() const override { return options_.samples; }

 private:
  Tensor RandomFloats(const InputSpec& input, int64_t count) {
    const auto low = static_cast<float>(input.range.low);
    const auto high = static_cast<float>(input.range.high);
    std::vector<float> values(static_cast<size_t>(count), low);
    if (low < high) {
      std::uniform_real_distribution<float> dist(low, high);
      for (float& v : values) v = dist(rng_);
    }
    return Tensor::FromFloats(input.name, input.shape, values);
  }

  Tensor RandomIntegers(const InputSpec& input, int64_t count) {
    std::uniform_int_distribution<int64_t> dist(static_cast<int64_t>(input.range.low),
                                                static_cast<int64_t>(input.range.high));
    std::vector<int64_t> values(static_cast<size_t>(count));
    for (int64_t& v : values) v = dist(rng_);
    Tensor t;
    t.name = input.name;
    t.type = input.type;
    t.shape = input.shape;
    switch (input.type) {
      case ElementType::kInt64:
        Store<int64_t>(values, t.bytes);
        break;
      case ElementType::kInt32:
        Store<int32_t>(values, t.bytes);
        break;
      case ElementType::kInt8:
        Store<int8_t>(values, t.bytes);
        break;
      case ElementType::kUInt8:
      case ElementType::kBool:
        Store<uint8_t>(values, t.bytes);
        break;
      case ElementType::kFloat:
        break;
    }
    return t;
  }

  std::vector<InputSpec> inputs_;
  RandomDataOptions options_;
  std::mt19937_64 rng_;
  int64_t produced_ = 0;
};

}  // namespace

Result<RandomData> MakeRandomDataReader(const onnx::ModelProto& model, const RandomDataOptions& options) {
  std::set<std::string> initializers;
  for (const auto& init : model.graph().initializer()) initializers.insert(init.name());
  std::set<std::string> names;
  for (const auto& input : model.graph().input()) {
    if (!initializers.contains(input.name())) names.insert(input.name());
  }
  for (const auto& [name, range] : options.input_ranges) {
    if (!names.contains(name)) {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "'" : ", '") + n + "'";
      return InvalidArgument("a random data range is given for input '" + name + "', which the model does not have " +
                             "(its inputs: " + known + ")");
    }
  }
  RandomData result;
  std::vector<InputSpec> inputs;
  for (const auto& input : model.graph().input()) {
    if (initializers.contains(input.name())) continue;
    const auto& tensor_type = input.type().tensor_type();
    const auto type = RandomElementType(tensor_type.elem_type());
    if (!type) {
      return Unsupported("random calibration data supports float, int64, int32, int8, uint8 and bool inputs; input '" +
                         input.name() + "' is of ONNX element type " + std::to_string(tensor_type.elem_type()) +
                         ": give calibration data");
    }
    InputSpec spec{.name = input.name(), .type = *type};
    const auto& dims = tensor_type.shape().dim();
    spec.batch_axis = !dims.empty() && (!dims.Get(0).has_dim_value() || dims.Get(0).dim_value() <= 1);
    if (const auto it = options.input_shapes.find(input.name()); it != options.input_shapes.end()) {
      spec.shape = it->second;
    } else {
      for (const auto& d : dims) spec.shape.push_back(d.has_dim_value() && d.dim_value() > 0 ? d.dim_value() : 1);
    }
    const auto given = options.input_ranges.find(input.name());
    if (*type == ElementType::kFloat) {
      spec.range = given != options.input_ranges.end() ? given->second : RandomValueRange{options.low, options.high};
    } else if (given != options.input_ranges.end()) {
      spec.range = given->second;
      const RandomValueRange limits = TypeLimits(*type);
      if (std::floor(spec.range.low) != spec.range.low || std::floor(spec.range.high) != spec.range.high ||
          spec.range.low < limits.low || spec.range.high > limits.high) {
        return InvalidArgument("the random data range " + RangeText(spec.range) + " of input '" + input.name() +
                               "' does not fit its type " + ElementTypeName(*type) + ": give whole numbers within " +
                               RangeText(limits));
      }
    } else {
      spec.range = DefaultIntegerRange(*type);
      if (*type != ElementType::kBool) {
        result.warnings.push_back("input '" + input.name() + "' is " + ElementTypeName(*type) + ": random values in " +
                                  RangeText(spec.range) + "; give --random-data-input-range " + input.name() +
                                  ":LOW,HIGH for meaningful values");
      }
    }
    inputs.push_back(std::move(spec));
  }
  result.reader = std::make_unique<RandomDataReader>(std::move(inputs), options);
  return result;
}

}  // namespace onnxq
