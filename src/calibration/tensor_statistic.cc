#include "calibration/tensor_statistic.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "calibration/json_numbers.h"
#include "common/simd.h"

namespace onnxq {

ONNXQ_FOR_EACH_X86_LEVEL
void MinMaxOf(std::span<const float> values, float* min, float* max) {
  // Packed lanes, two independent accumulators; the tail is folded in after. NaN never compares
  // smaller or larger, so it is ignored.
  using Lanes = float __attribute__((vector_size(64)));
  constexpr size_t kWidth = sizeof(Lanes) / sizeof(float);
  constexpr size_t kUnroll = 2;
  constexpr float kInf = std::numeric_limits<float>::infinity();
  Lanes lo[kUnroll];
  Lanes hi[kUnroll];
  for (size_t u = 0; u < kUnroll; ++u) {
    lo[u] = Lanes{} + kInf;
    hi[u] = Lanes{} - kInf;
  }
  const float* data = values.data();
  const size_t n = values.size();
  size_t i = 0;
  for (; i + kWidth * kUnroll <= n; i += kWidth * kUnroll) {
    for (size_t u = 0; u < kUnroll; ++u) {
      Lanes v;
      std::memcpy(&v, data + i + u * kWidth, sizeof(v));
      lo[u] = v < lo[u] ? v : lo[u];
      hi[u] = v > hi[u] ? v : hi[u];
    }
  }
  float lo_s = kInf;
  float hi_s = -kInf;
  for (size_t u = 0; u < kUnroll; ++u) {
    for (size_t k = 0; k < kWidth; ++k) {
      lo_s = std::min(lo_s, lo[u][k]);
      hi_s = std::max(hi_s, hi[u][k]);
    }
  }
  for (; i < n; ++i) {
    lo_s = data[i] < lo_s ? data[i] : lo_s;
    hi_s = data[i] > hi_s ? data[i] : hi_s;
  }
  *min = lo_s;
  *max = hi_s;
}

ONNXQ_FOR_EACH_X86_LEVEL
double SumOf(std::span<const float> values) {
  using Floats = float __attribute__((vector_size(32)));
  using Doubles = double __attribute__((vector_size(64)));
  constexpr size_t kWidth = sizeof(Floats) / sizeof(float);
  Doubles total{};
  const float* data = values.data();
  const size_t n = values.size();
  size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) {
    Floats v;
    std::memcpy(&v, data + i, sizeof(v));
    total += __builtin_convertvector(v, Doubles);
  }
  double sum = 0;
  for (size_t k = 0; k < kWidth; ++k) sum += total[k];
  for (; i < n; ++i) sum += data[i];
  return sum;
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
    if (json.value("kind", "") != "minmax") {
      return InvalidArgument("expected a min/max statistic, found kind '" + json.value("kind", "?") + "'");
    }
    auto stat = std::make_unique<MinMaxStatistic>(options);
    stat->min_ = JsonFloat(json.at("min"));
    stat->max_ = JsonFloat(json.at("max"));
    stat->batches_ = JsonInteger(json.at("batches"), 0);
    return stat;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("malformed min/max statistic: ") + e.what());
  }
}

}  // namespace onnxq
