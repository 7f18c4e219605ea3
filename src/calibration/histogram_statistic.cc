#include "calibration/histogram_statistic.h"

#include <string>

#include "calibration/json_numbers.h"

namespace onnxq {

void HistogramStatistic::Collect(std::span<const float> values) { zeros_ += histogram_.Add(values); }

Status HistogramStatistic::Merge(const TensorStatistic& other) {
  const auto* o = dynamic_cast<const HistogramStatistic*>(&other);
  if (o == nullptr) return InvalidArgument("cannot merge a histogram with a statistic of another kind");
  histogram_.Merge(o->histogram_);
  zeros_ += o->zeros_;
  return Status::Ok();
}

nlohmann::json HistogramStatistic::ToJson() const {
  const HistogramState s = histogram_.State();
  return {{"kind", "histogram"},
          {"max_bins", s.max_bins},
          {"width_exponent", s.width_exponent},
          {"first_bin_index", s.first_bin_index},
          {"counts", s.counts},
          {"min", s.min},
          {"max", s.max},
          {"nonfinite", s.nonfinite_count},
          {"zeros", zeros_}};
}

Result<std::unique_ptr<HistogramStatistic>> HistogramStatistic::FromJson(const nlohmann::json& json) {
  try {
    if (json.value("kind", "") != "histogram") {
      return InvalidArgument("expected a histogram statistic, found kind '" + json.value("kind", "?") + "'");
    }
    HistogramState s;
    s.max_bins = JsonInt(json.at("max_bins"));
    s.width_exponent = JsonInt(json.at("width_exponent"));
    s.first_bin_index = JsonInteger(json.at("first_bin_index"));
    for (const auto& count : json.at("counts")) s.counts.push_back(JsonInteger(count));
    s.min = JsonFloat(json.at("min"));
    s.max = JsonFloat(json.at("max"));
    s.nonfinite_count = JsonInteger(json.at("nonfinite"));
    const int64_t zeros = JsonInteger(json.at("zeros"));
    std::optional<Histogram> histogram = Histogram::FromState(s);
    if (!histogram || zeros < 0 || zeros > histogram->total_count()) {
      return InvalidArgument("inconsistent histogram statistic (counts do not match min, max and bins)");
    }
    return std::unique_ptr<HistogramStatistic>(new HistogramStatistic(std::move(*histogram), zeros));
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("malformed histogram statistic: ") + e.what());
  }
}

}  // namespace onnxq
