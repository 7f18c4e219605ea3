#include "calibration/calibrator.h"

#include <algorithm>
#include <cmath>

#include "calibration/histogram_calibrators.h"
#include "calibration/power_of_two_calibrators.h"

namespace onnxq {
namespace {

class MinMaxCalibrator final : public MinMaxBasedCalibrator {
 public:
  explicit MinMaxCalibrator(const CalibrationOptions& options)
      : MinMaxBasedCalibrator({options.moving_average, options.moving_average_constant},
                              options.range_symmetric.value_or(false)) {}

  std::string name() const override { return "MinMax"; }
  Result<TensorRange> ComputeRange(const TensorStatistic& statistic) const override {
    ONNXQ_ASSIGN_OR_RETURN(const std::optional<ValueRange> r, ObservedRange(statistic));
    if (!r) return TensorRange{};
    return TensorRange{r->rmin, r->rmax, std::nullopt};
  }
};

}  // namespace

ValueRange SymmetricIfAsked(float lo, float hi, bool symmetric) {
  if (!symmetric) return {lo, hi};
  const float absmax = std::max(std::fabs(lo), std::fabs(hi));
  return {-absmax, absmax};
}

std::unique_ptr<TensorStatistic> MinMaxBasedCalibrator::NewStatistic() const {
  return std::make_unique<MinMaxStatistic>(options_);
}

Result<std::unique_ptr<TensorStatistic>> MinMaxBasedCalibrator::StatisticFromJson(const nlohmann::json& json) const {
  ONNXQ_ASSIGN_OR_RETURN(auto stat, MinMaxStatistic::FromJson(json, options_));
  return std::unique_ptr<TensorStatistic>(std::move(stat));
}

Result<std::optional<ValueRange>> MinMaxBasedCalibrator::ObservedRange(const TensorStatistic& statistic) const {
  const auto* s = dynamic_cast<const MinMaxStatistic*>(&statistic);
  if (s == nullptr) return Internal(name() + " calibrator given a statistic that is not min / max");
  if (s->batches() == 0) return std::optional<ValueRange>();
  return std::optional<ValueRange>(SymmetricIfAsked(s->min(), s->max(), symmetric_));
}

bool DefaultRangeSymmetric(CalibrationMethod method) {
  switch (method) {
    case CalibrationMethod::kPercentile:
    case CalibrationMethod::kNonOverflow:
    case CalibrationMethod::kMinMSE:
      return true;
    case CalibrationMethod::kMinMax:
    case CalibrationMethod::kEntropy:
      return false;
  }
  return false;
}

int NumBins(const CalibrationOptions& options) {
  return options.num_bins.value_or(options.method == CalibrationMethod::kEntropy ? kEntropyDefaultBins
                                                                                 : kDefaultHistogramBins);
}

bool IsPowerOfTwoMethod(CalibrationMethod method) {
  return method == CalibrationMethod::kNonOverflow || method == CalibrationMethod::kMinMSE;
}

bool StatisticsArePerBatch(const CalibrationOptions& options) {
  return options.moving_average || (options.batch_size > 0 && options.method == CalibrationMethod::kMinMSE &&
                                    options.minmse_mode == MinMseMode::kMostCommon);
}

RangeOptions ActivationRangeOptions(const CalibrationSettings& settings) {
  return {.symmetric = settings.activation_symmetric,
          .reduce_range = false,
          .unsigned_symmetric_zero_point = settings.unsigned_symmetric_zero_point};
}

CalibrationSettings CalibrationSettingsOf(const QuantizeOptions& options) {
  CalibrationSettings settings{.calibration = options.calibration,
                               .activation_type = options.activation_type,
                               .activation_symmetric = options.activation_symmetric,
                               .unsigned_symmetric_zero_point = options.unsigned_symmetric_zero_point};
  CalibrationOptions& c = settings.calibration;
  if (!c.range_symmetric) c.range_symmetric = DefaultRangeSymmetric(c.method);
  c.num_bins = NumBins(c);
  return settings;
}

Result<std::unique_ptr<Calibrator>> MakeCalibrator(const CalibrationSettings& settings) {
  const CalibrationOptions& options = settings.calibration;
  ONNXQ_RETURN_IF_ERROR(ValidateCalibrationOptions(options));
  if (IsPowerOfTwoMethod(options.method) &&
      (!IsIntegerType(settings.activation_type) || BitWidth(settings.activation_type) > 16)) {
    return InvalidArgument("power-of-two calibration (" + CalibrationMethodName(options.method) +
                           ") needs an 8- or 16-bit integer activation type, not " +
                           std::string(QuantTypeName(settings.activation_type)));
  }
  switch (options.method) {
    case CalibrationMethod::kMinMax:
      return std::unique_ptr<Calibrator>(std::make_unique<MinMaxCalibrator>(options));
    case CalibrationMethod::kPercentile:
      return MakePercentileCalibrator(settings);
    case CalibrationMethod::kEntropy:
      return MakeEntropyCalibrator(settings);
    case CalibrationMethod::kNonOverflow:
      return MakeNonOverflowCalibrator(settings);
    case CalibrationMethod::kMinMSE:
      return MakeMinMseCalibrator(settings);
  }
  return Internal("unknown calibration method");
}

}  // namespace onnxq
