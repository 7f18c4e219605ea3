#include "calibration/tensor_statistic.h"

#include <algorithm>

namespace onnxq {

void MinMaxOf(std::span<const float> values, float* min, float* max) {
  float lo = std::numeric_limits<float>::infinity();
  float hi = -std::numeric_limits<float>::infinity();
  for (const float v : values) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  *min = lo;
  *max = hi;
}

void MinMaxStatistic::Collect(std::span<const float> values) {
  if (values.empty()) return;
  float lo = 0;
  float hi = 0;
  MinMaxOf(values, &lo, &hi);
  if (options_.moving_average && batches_ > 0) {
    min_ += options_.moving_average_constant * (lo - min_);
    max_ += options_.moving_average_constant * (hi - max_);
  } else if (options_.moving_average) {
    min_ = lo;
    max_ = hi;
  } else {
    min_ = std::min(min_, lo);
    max_ = std::max(max_, hi);
  }
  ++batches_;
}

Status MinMaxStatistic::Merge(const TensorStatistic& other) {
  const auto* o = dynamic_cast<const MinMaxStatistic*>(&other);
  if (o == nullptr) return InvalidArgument("cannot merge statistics of different calibration methods");
  if (o->batches_ == 0) return Status::Ok();
  if (batches_ == 0) {
    min_ = o->min_;
    max_ = o->max_;
  } else if (options_.moving_average) {
    // Shards of a moving average: weight each by its number of batches.
    const auto total = static_cast<float>(batches_ + o->batches_);
    min_ = (min_ * static_cast<float>(batches_) + o->min_ * static_cast<float>(o->batches_)) / total;
    max_ = (max_ * static_cast<float>(batches_) + o->max_ * static_cast<float>(o->batches_)) / total;
  } else {
    min_ = std::min(min_, o->min_);
    max_ = std::max(max_, o->max_);
  }
  batches_ += o->batches_;
  return Status::Ok();
}

nlohmann::json MinMaxStatistic::ToJson() const {
  return {{"kind", "minmax"}, {"min", min_}, {"max", max_}, {"batches", batches_}};
}

Result<std::unique_ptr<MinMaxStatistic>> MinMaxStatistic::FromJson(const nlohmann::json& json, Options options) {
  try {
    auto stat = std::make_unique<MinMaxStatistic>(options);
    stat->min_ = json.at("min").get<float>();
    stat->max_ = json.at("max").get<float>();
    stat->batches_ = json.at("batches").get<int64_t>();
    return stat;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("malformed min/max statistic: ") + e.what());
  }
}

}  // namespace onnxq
