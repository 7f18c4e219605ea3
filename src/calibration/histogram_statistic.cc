#include "calibration/histogram_statistic.h"

#include <limits>
#include <string>

#include "calibration/json_numbers.h"
#include "onnxq/options.h"

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
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    const std::string what = "histogram statistic: ";
    // The streaming histogram keeps at most 4 x NumBins bins.
    ONNXQ_ASSIGN_OR_RETURN(s.max_bins,
                           JsonInteger(json.at("max_bins"), 2, 4 * int64_t{kMaxHistogramBins}, what + "max_bins"));
    ONNXQ_ASSIGN_OR_RETURN(s.width_exponent, JsonInteger(json.at("width_exponent"), std::numeric_limits<int>::min(),
                                                         std::numeric_limits<int>::max(), what + "width_exponent"));
    ONNXQ_ASSIGN_OR_RETURN(s.first_bin_index,
                           JsonInteger(json.at("first_bin_index"), -kMax, kMax, what + "first_bin_index"));
    const auto& counts = json.at("counts");
    if (!counts.is_array() || counts.size() > static_cast<size_t>(s.max_bins)) {
      return InvalidArgument(what + "counts must be a list of at most max_bins counts");
    }
    for (const auto& count : counts) {
      ONNXQ_ASSIGN_OR_RETURN(s.counts.emplace_back(), JsonInteger(count, 0, kMax, what + "a count"));
    }
    ONNXQ_ASSIGN_OR_RETURN(s.min, JsonFloat(json.at("min"), what + "min"));
    ONNXQ_ASSIGN_OR_RETURN(s.max, JsonFloat(json.at("max"), what + "max"));
    ONNXQ_ASSIGN_OR_RETURN(s.nonfinite_count, JsonInteger(json.at("nonfinite"), 0, kMax, what + "nonfinite"));
    ONNXQ_ASSIGN_OR_RETURN(const int64_t zeros, JsonInteger(json.at("zeros"), 0, kMax, what + "zeros"));
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
