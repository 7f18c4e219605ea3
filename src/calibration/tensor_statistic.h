// Per-tensor statistics folded in one batch at a time (memory never grows with the sample count),
// mergeable across shards, and serializable into the calibration table.
#pragma once

#include <nlohmann/json.hpp>

#include <limits>
#include <memory>
#include <span>

#include "onnxq/status.h"

namespace onnxq {

class TensorStatistic {
 public:
  virtual ~TensorStatistic() = default;
  // Folds the values of one batch.
  virtual void Collect(std::span<const float> values) = 0;
  // Adds a statistic of the same kind computed on other data.
  virtual Status Merge(const TensorStatistic& other) = 0;
  virtual nlohmann::json ToJson() const = 0;
  // True until Collect has seen a value.
  virtual bool empty() const = 0;
};

// Running min and max; optionally the exponential moving average of per-batch min and max
// (CalibMovingAverage): m <- m + c * (batch - m).
class MinMaxStatistic final : public TensorStatistic {
 public:
  struct Options {
    bool moving_average = false;
    float moving_average_constant = 0.01F;
  };
  explicit MinMaxStatistic(Options options) : options_(options) {}

  void Collect(std::span<const float> values) override;
  Status Merge(const TensorStatistic& other) override;
  nlohmann::json ToJson() const override;
  bool empty() const override { return batches_ == 0; }
  static Result<std::unique_ptr<MinMaxStatistic>> FromJson(const nlohmann::json& json, Options options);

  float min() const { return min_; }
  float max() const { return max_; }
  int64_t batches() const { return batches_; }

 private:
  Options options_;
  float min_ = std::numeric_limits<float>::infinity();
  float max_ = -std::numeric_limits<float>::infinity();
  int64_t batches_ = 0;
};

// Min and max of a span in one pass.
void MinMaxOf(std::span<const float> values, float* min, float* max);

// Sum of a span, accumulated in double (in an order of its own, the same for equal spans).
double SumOf(std::span<const float> values);

}  // namespace onnxq
