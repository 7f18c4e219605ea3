#include "calibration/calibrator.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace onnxq {
namespace {

TensorRange SymmetricIfAsked(float lo, float hi, bool symmetric) {
  if (!symmetric) return {lo, hi, std::nullopt};
  const float absmax = std::max(std::fabs(lo), std::fabs(hi));
  return {-absmax, absmax, std::nullopt};
}

class MinMaxCalibrator final : public Calibrator {
 public:
  explicit MinMaxCalibrator(const CalibrationOptions& options)
      : options_{options.moving_average, options.moving_average_constant},
        symmetric_(options.range_symmetric.value_or(false)) {}

  std::string name() const override { return "MinMax"; }
  std::unique_ptr<TensorStatistic> NewStatistic() const override { return std::make_unique<MinMaxStatistic>(options_); }
  Result<std::unique_ptr<TensorStatistic>> StatisticFromJson(const nlohmann::json& json) const override {
    ONNXQ_ASSIGN_OR_RETURN(auto stat, MinMaxStatistic::FromJson(json, options_));
    return std::unique_ptr<TensorStatistic>(std::move(stat));
  }
  Result<TensorRange> ComputeRange(const TensorStatistic& statistic) const override {
    const auto* s = dynamic_cast<const MinMaxStatistic*>(&statistic);
    if (s == nullptr) return Internal("MinMax calibrator given a foreign statistic");
    if (s->batches() == 0) return TensorRange{};
    return SymmetricIfAsked(s->min(), s->max(), symmetric_);
  }

 private:
  MinMaxStatistic::Options options_;
  bool symmetric_;
};

}  // namespace

bool DefaultRangeSymmetric(CalibrationMethod method) {
  switch (method) {
    case CalibrationMethod::kPercentile:
    case CalibrationMethod::kNonOverflow:
    case CalibrationMethod::kMinMSE: return true;
    case CalibrationMethod::kMinMax:
    case CalibrationMethod::kEntropy: return false;
  }
  return false;
}

std::string CalibrationMethodName(CalibrationMethod method) {
  switch (method) {
    case CalibrationMethod::kMinMax: return "MinMax";
    case CalibrationMethod::kPercentile: return "Percentile";
    case CalibrationMethod::kEntropy: return "Entropy";
    case CalibrationMethod::kNonOverflow: return "NonOverflow";
    case CalibrationMethod::kMinMSE: return "MinMSE";
  }
  return "?";
}

Result<CalibrationMethod> ParseCalibrationMethod(const std::string& name) {
  std::string key;
  for (const char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  // Accept "PowerOfTwoMethod.MinMSE", "CalibrationMethod.MinMax" and plain names.
  for (const char* prefix : {"poweroftwomethod", "calibrationmethod"}) {
    if (key.starts_with(prefix)) key = key.substr(std::string(prefix).size());
  }
  if (key == "minmax") return CalibrationMethod::kMinMax;
  if (key == "percentile") return CalibrationMethod::kPercentile;
  if (key == "entropy" || key == "kl") return CalibrationMethod::kEntropy;
  if (key == "nonoverflow") return CalibrationMethod::kNonOverflow;
  if (key == "minmse") return CalibrationMethod::kMinMSE;
  return InvalidArgument("unknown calibration method '" + name +
                         "'; expected MinMax, Percentile, Entropy, NonOverflow or MinMSE");
}

Result<std::unique_ptr<Calibrator>> MakeCalibrator(const CalibrationOptions& options) {
  switch (options.method) {
    case CalibrationMethod::kMinMax:
      return std::unique_ptr<Calibrator>(std::make_unique<MinMaxCalibrator>(options));
    default:
      return Unsupported("calibration method " + CalibrationMethodName(options.method) + " is not available yet");
  }
}

}  // namespace onnxq
