#include "calibration/histogram_calibrators.h"

#include <algorithm>
#include <cmath>

#include <vector>

#include "algorithms/entropy_threshold.h"
#include "algorithms/percentile.h"
#include "calibration/histogram_statistic.h"

namespace onnxq {
namespace {

constexpr int kHistogramBinsPerBin = 4;

// Shared by the histogram methods: statistic creation and reading.
class HistogramCalibrator : public Calibrator {
 public:
  explicit HistogramCalibrator(const CalibrationSettings& settings)
      : max_bins_(HistogramMaxBins(settings.calibration)),
        symmetric_(settings.calibration.range_symmetric.value_or(DefaultRangeSymmetric(settings.calibration.method))) {}

  std::unique_ptr<TensorStatistic> NewStatistic() const override {
    return std::make_unique<HistogramStatistic>(max_bins_);
  }
  Result<std::unique_ptr<TensorStatistic>> StatisticFromJson(const nlohmann::json& json) const override {
    ONNXQ_ASSIGN_OR_RETURN(auto stat, HistogramStatistic::FromJson(json));
    return std::unique_ptr<TensorStatistic>(std::move(stat));
  }
  Result<TensorRange> ComputeRange(const TensorStatistic& statistic) const override {
    const auto* s = dynamic_cast<const HistogramStatistic*>(&statistic);
    if (s == nullptr) return Internal(name() + " calibrator given a statistic that is not a histogram");
    if (s->empty()) return TensorRange{};
    if (s->histogram().nonfinite_count() > 0) return NonFiniteRange();
    return RangeOf(*s);
  }

 protected:
  virtual TensorRange RangeOf(const HistogramStatistic& statistic) const = 0;
  bool symmetric() const { return symmetric_; }

 private:
  int max_bins_;
  bool symmetric_;
};

// Symmetric: the threshold on |x| (clipped to the observed side of 0 for one-sided data, see
// percentile.h); asymmetric: (100 - p) / 200 of the values cut on each side.
class PercentileCalibrator final : public HistogramCalibrator {
 public:
  explicit PercentileCalibrator(const CalibrationSettings& settings)
      : HistogramCalibrator(settings), percentile_(settings.calibration.percentile) {}
  std::string name() const override { return "Percentile"; }

 private:
  TensorRange RangeOf(const HistogramStatistic& statistic) const override {
    const ValueRange r = PercentileRange(statistic.histogram(), {.percentile = percentile_, .symmetric = symmetric()});
    return {r.rmin, r.rmax, std::nullopt};
  }
  double percentile_;
};

class EntropyCalibrator final : public HistogramCalibrator {
 public:
  explicit EntropyCalibrator(const CalibrationSettings& settings)
      : HistogramCalibrator(settings),
        options_{.num_bins = NumBins(settings.calibration),
                 .num_quantized_bins = settings.calibration.num_quantized_bins} {}
  std::string name() const override { return "Entropy"; }

  // Model inputs keep their whole range (as MNN does): image data has a spike at the background
  // value, and a KL threshold just above it clips the bright part of every image.
  Result<TensorRange> ComputeModelInputRange(const TensorStatistic& statistic) const override {
    const auto* s = dynamic_cast<const HistogramStatistic*>(&statistic);
    if (s == nullptr) return Internal("Entropy calibrator given a statistic that is not a histogram");
    if (s->empty()) return TensorRange{};
    const Histogram& h = s->histogram();
    if (!symmetric()) return TensorRange{h.min(), h.max(), std::nullopt};
    return TensorRange{-h.max_abs(), h.max_abs(), std::nullopt};
  }

 private:
  // EntropyRange (entropy_threshold.h) with the exact zeros taken out of the |x| distribution.
  TensorRange RangeOf(const HistogramStatistic& statistic) const override {
    const Histogram& histogram = statistic.histogram();
    const int bins = std::max(options_.num_bins, 1);
    std::vector<double> distribution = AbsDistribution(histogram, bins);
    // The histogram's bins are no wider than the resampled ones (HistogramMaxBins), so the zeros all
    // sit in the first.
    distribution[0] = std::max(0.0, distribution[0] - static_cast<double>(statistic.zeros()));
    const int kept = EntropyThresholdBins(distribution, std::clamp(options_.num_quantized_bins, 1, bins));
    const double threshold = static_cast<double>(kept) * static_cast<double>(histogram.max_abs()) / bins;
    const auto t = static_cast<float>(std::min(threshold, static_cast<double>(histogram.max_abs())));
    if (symmetric()) return {-t, t, std::nullopt};
    return {std::max(-t, histogram.min()), std::min(t, histogram.max()), std::nullopt};
  }
  EntropyOptions options_;
};

}  // namespace

int HistogramMaxBins(const CalibrationOptions& options) {
  constexpr int kMinResolution = 2048;  // the same histograms for every method: tables serve them all
  return kHistogramBinsPerBin * std::max(NumBins(options), kMinResolution);
}

std::unique_ptr<Calibrator> MakePercentileCalibrator(const CalibrationSettings& settings) {
  return std::make_unique<PercentileCalibrator>(settings);
}

std::unique_ptr<Calibrator> MakeEntropyCalibrator(const CalibrationSettings& settings) {
  return std::make_unique<EntropyCalibrator>(settings);
}

}  // namespace onnxq
