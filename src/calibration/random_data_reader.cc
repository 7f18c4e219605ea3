#include "calibration/random_data_reader.h"

#include <random>
#include <set>

namespace onnxq {
namespace {

struct InputSpec {
  std::string name;
  std::vector<int64_t> shape;
};

class RandomDataReader final : public CalibrationDataReader {
 public:
  RandomDataReader(std::vector<InputSpec> inputs, const RandomDataOptions& options)
      : inputs_(std::move(inputs)), options_(options), rng_(options.seed) {}

  Result<std::optional<Feeds>> GetNext() override {
    if (produced_ >= options_.samples) return std::optional<Feeds>();
    std::uniform_real_distribution<float> dist(options_.low, options_.high);
    Feeds feeds;
    for (const auto& input : inputs_) {
      int64_t count = 1;
      for (int64_t d : input.shape) count *= d;
      std::vector<float> values(static_cast<size_t>(count));
      for (float& v : values) v = dist(rng_);
      feeds.push_back(Tensor::FromFloats(input.name, input.shape, values));
    }
    produced_ += inputs_.empty() || inputs_[0].shape.empty() ? 1 : inputs_[0].shape[0];
    return std::optional<Feeds>(std::move(feeds));
  }

  Status Rewind() override {
    produced_ = 0;
    rng_.seed(options_.seed);
    return Status::Ok();
  }

  int64_t SampleCount() const override { return options_.samples; }

 private:
  std::vector<InputSpec> inputs_;
  RandomDataOptions options_;
  std::mt19937_64 rng_;
  int64_t produced_ = 0;
};

}  // namespace

Result<std::unique_ptr<CalibrationDataReader>> MakeRandomDataReader(const onnx::ModelProto& model,
                                                                    const RandomDataOptions& options) {
  std::set<std::string> initializers;
  for (const auto& init : model.graph().initializer()) initializers.insert(init.name());
  std::vector<InputSpec> inputs;
  for (const auto& input : model.graph().input()) {
    if (initializers.contains(input.name())) continue;
    if (input.type().tensor_type().elem_type() != onnx::TensorProto::FLOAT) {
      return Unsupported("random calibration data supports float inputs only; input '" + input.name() +
                         "' is not float: give calibration data");
    }
    InputSpec spec{input.name(), {}};
    if (const auto it = options.input_shapes.find(input.name()); it != options.input_shapes.end()) {
      spec.shape = it->second;
    } else {
      for (const auto& d : input.type().tensor_type().shape().dim()) {
        spec.shape.push_back(d.has_dim_value() && d.dim_value() > 0 ? d.dim_value() : 1);
      }
    }
    inputs.push_back(std::move(spec));
  }
  return std::unique_ptr<CalibrationDataReader>(std::make_unique<RandomDataReader>(std::move(inputs), options));
}

}  // namespace onnxq
