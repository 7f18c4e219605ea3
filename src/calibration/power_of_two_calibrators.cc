#include "calibration/power_of_two_calibrators.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "algorithms/power_of_two.h"
#include "calibration/calibrator.h"
#include "calibration/histogram_calibrators.h"
#include "calibration/histogram_statistic.h"
#include "calibration/pos_votes_statistic.h"

namespace onnxq {
namespace {

struct Grid {
  QuantType type;
  RangeOptions options;
};

bool IsAllZero(const ValueRange& r) { return std::min(r.rmin, 0.0F) == 0.0F && std::max(r.rmax, 0.0F) == 0.0F; }

class NonOverflowCalibrator final : public MinMaxBasedCalibrator {
 public:
  explicit NonOverflowCalibrator(const CalibrationSettings& settings)
      : MinMaxBasedCalibrator({settings.calibration.moving_average, settings.calibration.moving_average_constant},
                              settings.calibration.range_symmetric.value_or(true)),
        grid_{settings.activation_type, ActivationRangeOptions(settings)} {}

  std::string name() const override { return "NonOverflow"; }
  Result<TensorRange> ComputeRange(const TensorStatistic& statistic) const override {
    ONNXQ_ASSIGN_OR_RETURN(const std::optional<ValueRange> r, ObservedRange(statistic));
    if (!r) return TensorRange{0.0F, 0.0F, 0};
    // inf or NaN seen: no power of two holds the range, and the tensor stays float.
    if (!std::isfinite(r->rmin) || !std::isfinite(r->rmax)) return NonFiniteRange();
    return TensorRange{r->rmin, r->rmax, NonOverflowPos(r->rmin, r->rmax, grid_.type, grid_.options)};
  }

 private:
  Grid grid_;
};

// The MinMSE search over a histogram for the calibrated range r (which may be wider than the
// histogram's own [min, max] when symmetric).
int MinMsePosOnHistogram(const Histogram& histogram, const ValueRange& r, const Grid& grid,
                         const MinMseOptions& candidates) {
  if (IsAllZero(r)) return 0;
  const IntRange range = QuantRange(grid.type, grid.options);
  const int pos0 = RoundPos(r.rmin, r.rmax, grid.type, grid.options);
  const int first = std::clamp(pos0 - candidates.candidates_below, kMinPos, kMaxPos);
  const int last = std::clamp(pos0 + candidates.candidates_above, kMinPos, kMaxPos);
  int best = first;
  double best_loss = std::numeric_limits<double>::infinity();
  for (int pos = first; pos <= last; ++pos) {
    const double loss =
        SquaredQuantError(histogram, PowerOfTwoQuantParams(pos, r.rmin, r.rmax, grid.type, grid.options), range);
    if (loss < best_loss) {  // strict: ties keep the coarser scale
      best_loss = loss;
      best = pos;
    }
  }
  return best;
}

class MinMseCalibrator final : public Calibrator {
 public:
  explicit MinMseCalibrator(const CalibrationSettings& settings)
      : mode_(settings.calibration.minmse_mode),
        max_bins_(HistogramMaxBins(settings.calibration)),
        symmetric_(settings.calibration.range_symmetric.value_or(true)),
        grid_{settings.activation_type, ActivationRangeOptions(settings)} {}

  std::string name() const override { return "MinMSE"; }
  std::unique_ptr<TensorStatistic> NewStatistic() const override {
    if (mode_ == MinMseMode::kMostCommon) return std::make_unique<PosVotesStatistic>(VoteOptions());
    return std::make_unique<HistogramStatistic>(max_bins_);
  }
  Result<std::unique_ptr<TensorStatistic>> StatisticFromJson(const nlohmann::json& json) const override {
    if (mode_ == MinMseMode::kMostCommon) {
      ONNXQ_ASSIGN_OR_RETURN(auto stat, PosVotesStatistic::FromJson(json, VoteOptions()));
      return std::unique_ptr<TensorStatistic>(std::move(stat));
    }
    ONNXQ_ASSIGN_OR_RETURN(auto stat, HistogramStatistic::FromJson(json));
    return std::unique_ptr<TensorStatistic>(std::move(stat));
  }
  Result<TensorRange> ComputeRange(const TensorStatistic& statistic) const override {
    if (const auto* votes = dynamic_cast<const PosVotesStatistic*>(&statistic); votes != nullptr) {
      if (votes->empty()) return TensorRange{0.0F, 0.0F, 0};
      // Non-finite values: a non-finite range, which keeps the tensor float (quantizer/float_tensors.h).
      if (votes->nonfinite() > 0) return NonFiniteRange();
      const ValueRange r = SymmetricIfAsked(votes->min(), votes->max(), symmetric_);
      int pos = votes->MostCommonPos().value_or(0);
      // An asymmetric grid anchors its zero point at rmin: each batch voted with its own rmin, but the
      // tensor gets the zero point of the whole range, at which a scale finer than NonOverflow's would
      // push the top of the range off the grid. Cap the vote there.
      if (!grid_.options.symmetric && r.rmin < 0.0F) {
        pos = std::min(pos, NonOverflowPos(r.rmin, r.rmax, grid_.type, grid_.options));
      }
      return TensorRange{r.rmin, r.rmax, pos};
    }
    if (const auto* h = dynamic_cast<const HistogramStatistic*>(&statistic); h != nullptr) {
      if (h->empty()) return TensorRange{0.0F, 0.0F, 0};
      if (h->histogram().nonfinite_count() > 0) return NonFiniteRange();
      const ValueRange r = SymmetricIfAsked(h->histogram().min(), h->histogram().max(), symmetric_);
      TensorRange range{r.rmin, r.rmax, MinMsePosOnHistogram(h->histogram(), r, grid_, MinMseOptions{})};
      range.sqnr_db_by_pos = PowerOfTwoSqnrByPos(h->histogram(), r.rmin, r.rmax, *range.pos - kPosSqnrSpan,
                                                 *range.pos + kPosSqnrSpan, grid_.type, grid_.options);
      return range;
    }
    return Internal("MinMSE calibrator given a statistic that is neither a histogram nor votes");
  }

 private:
  PosVotesStatistic::Options VoteOptions() const {
    return {.type = grid_.type, .grid = grid_.options, .range_symmetric = symmetric_, .candidates = MinMseOptions{}};
  }

  MinMseMode mode_;
  int max_bins_;
  bool symmetric_;
  Grid grid_;
};

}  // namespace

std::unique_ptr<Calibrator> MakeNonOverflowCalibrator(const CalibrationSettings& settings) {
  return std::make_unique<NonOverflowCalibrator>(settings);
}

std::unique_ptr<Calibrator> MakeMinMseCalibrator(const CalibrationSettings& settings) {
  return std::make_unique<MinMseCalibrator>(settings);
}

}  // namespace onnxq
