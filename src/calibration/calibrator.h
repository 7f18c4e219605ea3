// A calibration method: which statistic to collect per tensor, and how to turn it into a range.
#pragma once

#include <memory>
#include <string>

#include "calibration/calibration_table.h"
#include "calibration/tensor_statistic.h"
#include "onnxq/options.h"

namespace onnxq {

class Calibrator {
 public:
  virtual ~Calibrator() = default;
  virtual std::string name() const = 0;
  virtual std::unique_ptr<TensorStatistic> NewStatistic() const = 0;
  virtual Result<std::unique_ptr<TensorStatistic>> StatisticFromJson(const nlohmann::json& json) const = 0;
  virtual Result<TensorRange> ComputeRange(const TensorStatistic& statistic) const = 0;
};

// The calibrator for options.method, configured by the rest of `options`. `activation_type` and the
// range options matter to power-of-two methods, whose ranges depend on the integer grid.
Result<std::unique_ptr<Calibrator>> MakeCalibrator(const CalibrationOptions& options);

// Whether the method calibrates symmetric ranges unless CalibTensorRangeSymmetric says otherwise.
bool DefaultRangeSymmetric(CalibrationMethod method);

std::string CalibrationMethodName(CalibrationMethod method);
Result<CalibrationMethod> ParseCalibrationMethod(const std::string& name);

}  // namespace onnxq
