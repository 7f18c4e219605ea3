// A calibration method: which statistic to collect per tensor, and how to turn it into a range.
//
//   method       statistic (kind)         range
//   MinMax       min / max ("minmax")     [min, max] (moving average: of per-batch extremes)
//   Percentile   histogram ("histogram")  keeps Percentile % of |x| (or of x per side)
//   Entropy      histogram                KL-divergence threshold (TensorRT)
//   NonOverflow  min / max                pos: finest power-of-two scale that clips nothing
//   MinMSE       histogram (All)          pos: least squared error over all values
//                votes ("pos_votes")      pos: most common per-batch best (MostCommon)
//
// Ranges are symmetric ([-max|x|, max|x|]) when CalibTensorRangeSymmetric asks, by default for
// Percentile and the power-of-two methods. Power-of-two positions are chosen on the activation grid
// of CalibrationSettings, the one the quantizer then uses with them.
#pragma once

#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "algorithms/histogram.h"
#include "algorithms/qparams.h"
#include "calibration/calibration_table.h"
#include "calibration/tensor_statistic.h"
#include "onnxq/extra_options.h"
#include "onnxq/options.h"

namespace onnxq {

class Calibrator {
 public:
  virtual ~Calibrator() = default;
  virtual std::string name() const = 0;
  virtual std::unique_ptr<TensorStatistic> NewStatistic() const = 0;
  // Fails when the JSON holds a statistic of a kind this method cannot use.
  virtual Result<std::unique_ptr<TensorStatistic>> StatisticFromJson(const nlohmann::json& json) const = 0;
  virtual Result<TensorRange> ComputeRange(const TensorStatistic& statistic) const = 0;
  // The range of a model input; methods that can clip much of the signal on such data keep more.
  virtual Result<TensorRange> ComputeModelInputRange(const TensorStatistic& statistic) const {
    return ComputeRange(statistic);
  }
};

// Base of the methods that need only each tensor's min and max (MinMax, NonOverflow): the statistic,
// its JSON form, and the observed range, made symmetric when asked.
class MinMaxBasedCalibrator : public Calibrator {
 public:
  MinMaxBasedCalibrator(MinMaxStatistic::Options options, bool symmetric) : options_(options), symmetric_(symmetric) {}
  std::unique_ptr<TensorStatistic> NewStatistic() const override;
  Result<std::unique_ptr<TensorStatistic>> StatisticFromJson(const nlohmann::json& json) const override;

 protected:
  // nullopt when the statistic saw no value; an error when it is not a min / max statistic.
  Result<std::optional<ValueRange>> ObservedRange(const TensorStatistic& statistic) const;

 private:
  MinMaxStatistic::Options options_;
  bool symmetric_;
};

// [lo, hi], or [-max|.|, max|.|] when symmetric.
ValueRange SymmetricIfAsked(float lo, float hi, bool symmetric);

// The range of a tensor that held non-finite values (an additive -inf mask, an overflow), whatever
// the method: no integer grid holds it, and a non-finite range keeps the tensor float with a note
// (quantizer/float_tensors.h) rather than clipping -inf to the finite minimum.
inline TensorRange NonFiniteRange() {
  return {-std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity(), std::nullopt};
}

// The calibrator for settings.calibration.method, configured by the rest of `settings`.
Result<std::unique_ptr<Calibrator>> MakeCalibrator(const CalibrationSettings& settings);

// NumBins, or the method's default when unset (Entropy 256, the others 2048).
int NumBins(const CalibrationOptions& options);

// Whether the method calibrates symmetric ranges unless CalibTensorRangeSymmetric says otherwise.
bool DefaultRangeSymmetric(CalibrationMethod method);
bool IsPowerOfTwoMethod(CalibrationMethod method);
// Whether each batch of the reader must be one run, whatever its size, because the statistic depends
// on how the samples are batched: a moving average, and MostCommon's votes when the batch size was
// given (options.batch_size > 0). With the automatic batch size MostCommon votes once per run, a
// batch of the size chosen for speed, like every other run.
bool StatisticsArePerBatch(const CalibrationOptions& options);

// The activation grid of the settings, as the quantizer builds it.
RangeOptions ActivationRangeOptions(const CalibrationSettings& settings);

}  // namespace onnxq
