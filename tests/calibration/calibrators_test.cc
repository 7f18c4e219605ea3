// Every calibration method on synthetic data, streamed through its calibrator in batches: a Laplace
// distribution with a few large outliers. MinMax keeps the outliers; Percentile, Entropy and MinMSE
// clip them; power-of-two scales are exact powers of two; NonOverflow never clips. References are
// brute force over the raw values (sorting, the exact MinMSE loss, per-batch votes).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "algorithms/entropy_threshold.h"
#include "algorithms/power_of_two.h"
#include "calibration/calibrator.h"
#include "calibration/histogram_calibrators.h"
#include "calibration/histogram_statistic.h"
#include "calibration/pos_votes_statistic.h"

namespace onnxq {
namespace {

constexpr float kOutlier = 60.0F;
constexpr size_t kBatch = 1000;

// Laplace(0, 1) values with 4 outliers near +-kOutlier spread over the data.
std::vector<float> LaplaceWithOutliers(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-0.5, 0.5);
  std::vector<float> values(n);
  for (float& v : values) {
    const double x = u(rng);
    v = static_cast<float>(-(x < 0 ? -1.0 : 1.0) * std::log(1.0 - 2.0 * std::fabs(x)));
  }
  for (size_t k = 0; k < 4; ++k) {
    values[(k * 7919 + 13) % n] = (k % 2 == 0 ? kOutlier : -kOutlier) * (1.0F - 0.01F * static_cast<float>(k));
  }
  return values;
}

CalibrationSettings Settings(CalibrationMethod method, QuantType type = QuantType::kInt8, bool symmetric = true) {
  QuantizeOptions options;
  options.calibration.method = method;
  options.activation_type = type;
  options.activation_symmetric = symmetric;
  return CalibrationSettingsOf(options);
}

std::unique_ptr<TensorStatistic> Collect(const Calibrator& calibrator, std::span<const float> values) {
  auto stat = calibrator.NewStatistic();
  for (size_t i = 0; i < values.size(); i += kBatch)
    stat->Collect(values.subspan(i, std::min(kBatch, values.size() - i)));
  return stat;
}

TensorRange Calibrate(const CalibrationSettings& settings, std::span<const float> values) {
  auto calibrator = MakeCalibrator(settings);
  EXPECT_TRUE(calibrator.ok()) << calibrator.status().message();
  auto stat = Collect(**calibrator, values);
  auto range = (*calibrator)->ComputeRange(*stat);
  EXPECT_TRUE(range.ok()) << range.status().message();
  return *range;
}

bool IsPowerOfTwo(float scale) {
  int exponent = 0;
  return scale > 0.0F && std::frexp(scale, &exponent) == 0.5F;
}

// Values that quantize outside the grid (before saturation) with these parameters.
int64_t Clipped(std::span<const float> values, const QuantParams& params, const IntRange& range) {
  int64_t clipped = 0;
  for (const float x : values) {
    const double q = std::nearbyint(static_cast<double>(x) / params.scale) + static_cast<double>(params.zero_point);
    clipped += q < static_cast<double>(range.qmin) || q > static_cast<double>(range.qmax) ? 1 : 0;
  }
  return clipped;
}

class CalibratorsTest : public ::testing::Test {
 protected:
  std::vector<float> values_ = LaplaceWithOutliers(400000, 7);
  float min_ = *std::min_element(values_.begin(), values_.end());
  float max_ = *std::max_element(values_.begin(), values_.end());
};

TEST_F(CalibratorsTest, MinMaxKeepsTheOutliers) {
  const TensorRange r = Calibrate(Settings(CalibrationMethod::kMinMax), values_);
  EXPECT_EQ(r.rmin, min_);
  EXPECT_EQ(r.rmax, max_);
  EXPECT_FALSE(r.pos.has_value());
}

TEST_F(CalibratorsTest, PercentileMatchesSortedDataAndClipsTheOutliers) {
  CalibrationSettings settings = Settings(CalibrationMethod::kPercentile);
  settings.calibration.percentile = 99.99;
  const TensorRange r = Calibrate(settings, values_);
  std::vector<float> abs(values_.size());
  std::transform(values_.begin(), values_.end(), abs.begin(), [](float v) { return std::fabs(v); });
  std::sort(abs.begin(), abs.end());
  const auto k = static_cast<size_t>(std::ceil(static_cast<double>(abs.size()) * 99.99 / 100.0)) - 1;
  // One bin of the histogram: 8192 bins over [-60, 60] on a power-of-two grid.
  const float bin = 1.0F / 64.0F;
  EXPECT_GE(r.rmax, abs[k] - 1e-6F);
  EXPECT_LE(r.rmax, abs[k] + bin);
  EXPECT_EQ(r.rmin, -r.rmax);
  EXPECT_LT(r.rmax, kOutlier / 4);
}

TEST_F(CalibratorsTest, PercentileAsymmetricCutsEachSide) {
  CalibrationSettings settings = Settings(CalibrationMethod::kPercentile);
  settings.calibration.range_symmetric = false;
  settings.calibration.percentile = 99.9;
  const TensorRange r = Calibrate(settings, values_);
  std::vector<float> sorted = values_;
  std::sort(sorted.begin(), sorted.end());
  const double cut = sorted.size() * 0.0005;
  const float lo_ref = sorted[static_cast<size_t>(std::floor(cut))];
  const float hi_ref = sorted[sorted.size() - 1 - static_cast<size_t>(std::floor(cut))];
  EXPECT_NEAR(r.rmin, lo_ref, 2.0 / 64);
  EXPECT_NEAR(r.rmax, hi_ref, 2.0 / 64);
}

TEST_F(CalibratorsTest, EntropyClipsTheOutliersAndIsARealSearch) {
  const CalibrationSettings settings = Settings(CalibrationMethod::kEntropy);
  const TensorRange r = Calibrate(settings, values_);
  // Reference: the KL search on a histogram of all the data at once.
  Histogram whole(HistogramOptions{.max_bins = HistogramMaxBins(settings.calibration)});
  whole.Add(values_);
  const ValueRange ref = EntropyRange(whole, {.num_bins = 256, .num_quantized_bins = 128});
  EXPECT_EQ(r.rmin, ref.rmin);
  EXPECT_EQ(r.rmax, ref.rmax);
  EXPECT_LT(r.rmax, 0.9F * kOutlier);  // below every outlier
  // TensorRT's deeper search (2048 / 128) clips further.
  CalibrationSettings deep = settings;
  deep.calibration.num_bins = 2048;
  const TensorRange deeper = Calibrate(deep, values_);
  EXPECT_LT(deeper.rmax, kOutlier / 4);
  EXPECT_GT(deeper.rmax, 4.0F);  // Laplace(0, 1): 98% of |x| below 3.9
  // ONNX Runtime's 128 / 128 leaves a single candidate: the MinMax range.
  CalibrationSettings ort = settings;
  ort.calibration.num_bins = 128;
  const TensorRange minmax_like = Calibrate(ort, values_);
  EXPECT_EQ(minmax_like.rmax, max_);
}

TEST_F(CalibratorsTest, NonOverflowIsAPowerOfTwoThatNeverClips) {
  for (const QuantType type : {QuantType::kInt8, QuantType::kUInt8}) {
    for (const bool symmetric : {true, false}) {
      const CalibrationSettings settings = Settings(CalibrationMethod::kNonOverflow, type, symmetric);
      const TensorRange r = Calibrate(settings, values_);
      ASSERT_TRUE(r.pos.has_value());
      const RangeOptions grid = ActivationRangeOptions(settings);
      const IntRange range = QuantRange(type, grid);
      const QuantParams params = PowerOfTwoQuantParams(*r.pos, r.rmin, r.rmax, type, grid);
      EXPECT_TRUE(IsPowerOfTwo(params.scale));
      EXPECT_EQ(Clipped(values_, params, range), 0);
      // The finest such scale: one step finer clips.
      const QuantParams finer = PowerOfTwoQuantParams(*r.pos + 1, r.rmin, r.rmax, type, grid);
      EXPECT_GT(Clipped(values_, finer, range), 0);
    }
  }
}

TEST_F(CalibratorsTest, MinMseAllMatchesTheExactSearchAndClipsTheOutliers) {
  const CalibrationSettings settings = Settings(CalibrationMethod::kMinMSE);
  const TensorRange r = Calibrate(settings, values_);
  ASSERT_TRUE(r.pos.has_value());
  const RangeOptions grid = ActivationRangeOptions(settings);
  // Symmetric int8 grid: the zero point is 0 whatever the range, so the exact search on raw values
  // over the same candidates is the reference.
  EXPECT_EQ(*r.pos, MinMsePos(values_, QuantType::kInt8, grid));
  const QuantParams params = PowerOfTwoQuantParams(*r.pos, r.rmin, r.rmax, QuantType::kInt8, grid);
  EXPECT_TRUE(IsPowerOfTwo(params.scale));
  EXPECT_GT(Clipped(values_, params, QuantRange(QuantType::kInt8, grid)), 0);
  EXPECT_LT(127 * params.scale, 0.9F * kOutlier);  // below every outlier
}

TEST_F(CalibratorsTest, MinMseMostCommonIsTheMostCommonPerBatchChoice) {
  CalibrationSettings settings = Settings(CalibrationMethod::kMinMSE, QuantType::kUInt8, true);
  settings.unsigned_symmetric_zero_point = UnsignedSymmetricZeroPoint::kNpu;
  settings.calibration.minmse_mode = MinMseMode::kMostCommon;
  const TensorRange r = Calibrate(settings, values_);
  ASSERT_TRUE(r.pos.has_value());
  // Brute force: per batch, the exact search over the batch's symmetric range.
  const RangeOptions grid = ActivationRangeOptions(settings);
  const IntRange range = QuantRange(QuantType::kUInt8, grid);
  std::vector<int> votes;
  for (size_t i = 0; i < values_.size(); i += kBatch) {
    const std::span<const float> batch(values_.data() + i, std::min(kBatch, values_.size() - i));
    const auto [lo, hi] = std::minmax_element(batch.begin(), batch.end());
    const float a = std::max(std::fabs(*lo), std::fabs(*hi));
    const int pos0 = RoundPos(-a, a, QuantType::kUInt8, grid);
    int best = pos0 - 1;
    double best_loss = INFINITY;
    for (int pos = pos0 - 1; pos <= pos0 + 3; ++pos) {
      const double loss = SquaredQuantError(batch, PowerOfTwoQuantParams(pos, -a, a, QuantType::kUInt8, grid), range);
      if (loss < best_loss) {
        best_loss = loss;
        best = pos;
      }
    }
    votes.push_back(best);
  }
  EXPECT_EQ(*r.pos, MostCommonPos(votes));
  EXPECT_EQ(r.rmin, -std::max(std::fabs(min_), max_));

  // An asymmetric grid takes its zero point from the whole range: no finer than NonOverflow.
  CalibrationSettings asymmetric = Settings(CalibrationMethod::kMinMSE, QuantType::kUInt8, false);
  asymmetric.calibration.minmse_mode = MinMseMode::kMostCommon;
  const TensorRange capped = Calibrate(asymmetric, values_);
  const RangeOptions asymmetric_grid = ActivationRangeOptions(asymmetric);
  ASSERT_TRUE(capped.pos.has_value());
  EXPECT_LE(*capped.pos, NonOverflowPos(capped.rmin, capped.rmax, QuantType::kUInt8, asymmetric_grid));
  const QuantParams params =
      PowerOfTwoQuantParams(*capped.pos, capped.rmin, capped.rmax, QuantType::kUInt8, asymmetric_grid);
  EXPECT_EQ(Clipped(values_, params, QuantRange(QuantType::kUInt8, asymmetric_grid)), 0);
}

TEST(PowerOfTwoSquaredErrorTest, EqualsTheReferenceLoss) {
  const std::vector<float> values = LaplaceWithOutliers(10007, 3);
  for (const QuantType type : {QuantType::kInt8, QuantType::kUInt8, QuantType::kInt16}) {
    for (int pos = -2; pos <= 8; ++pos) {
      const RangeOptions grid{.symmetric = false};
      const QuantParams params = PowerOfTwoQuantParams(pos, -3.0F, 5.0F, type, grid);
      const IntRange range = QuantRange(type, grid);
      const double ref = SquaredQuantError(values, params, range);
      EXPECT_NEAR(PowerOfTwoSquaredError(values, pos, params.zero_point, range), ref, 1e-5 * ref + 1e-9)
          << QuantTypeName(type) << " pos " << pos;
    }
  }
  // Non-finite values count for nothing.
  std::vector<float> with_nan = {1.0F, NAN, INFINITY, 0.3F};
  const IntRange range = QuantRange(QuantType::kInt8, {});
  EXPECT_NEAR(PowerOfTwoSquaredError(with_nan, 2, 0, range),
              SquaredQuantError(std::vector<float>{1.0F, 0.3F}, {0.25F, 0}, range), 1e-9);
}

TEST(PowerOfTwoSquaredErrorTest, ZerosAddNothingAndTheLossesMatchTheReference) {
  // A Relu's output: about half zeros (some of them -0), over several packed blocks and a tail.
  std::vector<float> values = LaplaceWithOutliers(10007, 5);
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i] = values[i] < 0.0F ? (i % 3 == 0 ? -0.0F : 0.0F) : values[i];
  std::vector<float> nonzero;
  for (const float v : values) {
    if (v != 0.0F) nonzero.push_back(v);
  }
  ASSERT_GT(values.size() - nonzero.size(), values.size() / 3);
  const RangeOptions grid{.symmetric = false};
  const IntRange range = QuantRange(QuantType::kUInt8, grid);
  std::vector<PosCandidate> candidates;
  for (int pos = 0; pos <= 4; ++pos) {
    candidates.push_back(
        {.pos = pos, .zero_point = PowerOfTwoQuantParams(pos, 0.0F, 8.0F, QuantType::kUInt8, grid).zero_point});
  }
  std::vector<double> with_zeros(candidates.size());
  std::vector<double> without(candidates.size());
  PowerOfTwoSquaredErrors(values, candidates, range, with_zeros);
  PowerOfTwoSquaredErrors(nonzero, candidates, range, without);
  for (std::size_t c = 0; c < candidates.size(); ++c) {
    // The reference: QuantizeValue's double arithmetic, value by value.
    const double reference = SquaredQuantError(
        values, {.scale = std::ldexp(1.0F, -candidates[c].pos), .zero_point = candidates[c].zero_point}, range);
    EXPECT_NEAR(with_zeros[c], reference, 1e-5 * reference) << "pos " << candidates[c].pos;
    EXPECT_NEAR(with_zeros[c], without[c], 1e-5 * reference) << "pos " << candidates[c].pos;
    EXPECT_GT(with_zeros[c], 0.0);
  }
}

TEST(PowerOfTwoSquaredErrorTest, OnePassForEveryCandidateEqualsOneByOne) {
  std::vector<float> values = LaplaceWithOutliers(10007, 5);  // not a whole number of lanes or blocks
  values[17] = NAN;
  values[5000] = -INFINITY;
  for (const QuantType type : {QuantType::kInt8, QuantType::kUInt8, QuantType::kInt16}) {
    const RangeOptions grid{.symmetric = false};
    const IntRange range = QuantRange(type, grid);
    std::vector<PosCandidate> candidates;
    for (int pos = -1; pos <= 6; ++pos) {
      candidates.push_back({.pos = pos, .zero_point = PowerOfTwoQuantParams(pos, -3.0F, 5.0F, type, grid).zero_point});
    }
    for (const std::size_t count : {std::size_t{1}, std::size_t{5}, candidates.size()}) {
      std::vector<double> losses(count, -1.0);
      PowerOfTwoSquaredErrors(values, std::span(candidates).first(count), range, losses);
      for (std::size_t c = 0; c < count; ++c) {
        const double one = PowerOfTwoSquaredError(values, candidates[c].pos, candidates[c].zero_point, range);
        EXPECT_NEAR(losses[c], one, 1e-6 * one + 1e-12) << QuantTypeName(type) << " pos " << candidates[c].pos;
        EXPECT_GT(losses[c], 0.0);
      }
    }
  }
  // Candidates known not to clip skip the clamps: the same losses where the promise holds (values
  // within [-3, 5] on the grid at pos -1 and 0 with zero point 128 or less).
  {
    std::vector<float> inside(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) inside[i] = std::clamp(values[i], -3.0F, 5.0F);
    const IntRange range = QuantRange(QuantType::kUInt8, {.symmetric = false});
    for (const int pos : {-1, 0}) {
      const int64_t zero_point =
          PowerOfTwoQuantParams(pos, -3.0F, 5.0F, QuantType::kUInt8, {.symmetric = false}).zero_point;
      const std::vector<PosCandidate> clamped = {{.pos = pos, .zero_point = zero_point, .may_clip = true}};
      const std::vector<PosCandidate> unclamped = {{.pos = pos, .zero_point = zero_point, .may_clip = false}};
      std::vector<double> a(1);
      std::vector<double> b(1);
      PowerOfTwoSquaredErrors(inside, clamped, range, a);
      PowerOfTwoSquaredErrors(inside, unclamped, range, b);
      EXPECT_EQ(a[0], b[0]) << "pos " << pos;
    }
  }
  // A 32-bit grid takes the exact path one candidate at a time: the same losses.
  const IntRange wide = QuantRange(QuantType::kInt32, {});
  const std::vector<PosCandidate> two = {{.pos = 20, .zero_point = 0}, {.pos = 21, .zero_point = 0}};
  std::vector<double> losses(2);
  PowerOfTwoSquaredErrors(values, two, wide, losses);
  EXPECT_EQ(losses[0], PowerOfTwoSquaredError(values, 20, 0, wide));
  EXPECT_EQ(losses[1], PowerOfTwoSquaredError(values, 21, 0, wide));
}

// Shards collected apart and merged give the statistic and range of the whole data.
TEST_F(CalibratorsTest, MergedShardsEqualTheWhole) {
  std::vector<CalibrationSettings> all = {
      Settings(CalibrationMethod::kMinMax), Settings(CalibrationMethod::kPercentile),
      Settings(CalibrationMethod::kEntropy), Settings(CalibrationMethod::kNonOverflow),
      Settings(CalibrationMethod::kMinMSE)};
  all.push_back(Settings(CalibrationMethod::kMinMSE));
  all.back().calibration.minmse_mode = MinMseMode::kMostCommon;
  const std::span<const float> data(values_);
  for (const auto& settings : all) {
    auto calibrator = MakeCalibrator(settings);
    ASSERT_TRUE(calibrator.ok());
    auto whole = Collect(**calibrator, data);
    auto merged = Collect(**calibrator, data.subspan(0, 150 * kBatch));
    auto second = Collect(**calibrator, data.subspan(150 * kBatch));
    ASSERT_TRUE(merged->Merge(*second).ok());
    EXPECT_EQ(merged->ToJson(), whole->ToJson()) << (*calibrator)->name();
    EXPECT_EQ(*(*calibrator)->ComputeRange(*merged), *(*calibrator)->ComputeRange(*whole)) << (*calibrator)->name();
  }
}

TEST(HistogramStatisticTest, ARangeExtensionKeepsEveryCount) {
  HistogramStatistic stat(8192);
  const std::vector<float> small(1000, 0.5F);
  std::vector<float> large = LaplaceWithOutliers(5000, 1);
  large[17] = 1000.0F;
  stat.Collect(small);
  stat.Collect(large);
  stat.Collect(std::vector<float>{-2000.0F});
  EXPECT_EQ(stat.histogram().total_count(), 6001);
  int64_t sum = 0;
  for (const int64_t c : stat.histogram().counts()) sum += c;
  EXPECT_EQ(sum, 6001);
  EXPECT_EQ(stat.histogram().min(), -2000.0F);
  EXPECT_EQ(stat.histogram().max(), 1000.0F);
  // Round trip through JSON.
  auto back = HistogramStatistic::FromJson(stat.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ((*back)->histogram().State(), stat.histogram().State());
}

TEST(CalibratorFactoryTest, RejectsBadSettingsAndForeignStatistics) {
  CalibrationSettings settings = Settings(CalibrationMethod::kEntropy);
  settings.calibration.num_quantized_bins = 4096;
  EXPECT_FALSE(MakeCalibrator(settings).ok());
  settings = Settings(CalibrationMethod::kPercentile);
  settings.calibration.percentile = 0.0;
  EXPECT_FALSE(MakeCalibrator(settings).ok());
  settings = Settings(CalibrationMethod::kNonOverflow, QuantType::kFloat16);
  EXPECT_FALSE(MakeCalibrator(settings).ok());
  // A min/max statistic cannot feed Entropy.
  auto minmax = MakeCalibrator(Settings(CalibrationMethod::kMinMax));
  auto entropy = MakeCalibrator(Settings(CalibrationMethod::kEntropy));
  auto stat = (*minmax)->NewStatistic();
  stat->Collect(std::vector<float>{1.0F, 2.0F});
  EXPECT_FALSE((*entropy)->StatisticFromJson(stat->ToJson()).ok());
  EXPECT_TRUE((*MakeCalibrator(Settings(CalibrationMethod::kNonOverflow)))->StatisticFromJson(stat->ToJson()).ok());
}

// A tensor that held inf or NaN (an additive -inf attention mask) gets a non-finite range from every
// method, so it stays float instead of having -inf clipped to the finite minimum.
TEST(CalibratorNonFiniteTest, EveryMethodGivesANonFiniteRange) {
  std::vector<float> values(1000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 17) - 8.0F;
  values[3] = -std::numeric_limits<float>::infinity();
  for (const auto method : {CalibrationMethod::kMinMax, CalibrationMethod::kPercentile, CalibrationMethod::kEntropy,
                            CalibrationMethod::kNonOverflow, CalibrationMethod::kMinMSE}) {
    for (const auto mode : {MinMseMode::kAll, MinMseMode::kMostCommon}) {
      CalibrationSettings settings = Settings(method);
      settings.calibration.minmse_mode = mode;
      const TensorRange range = Calibrate(settings, values);
      EXPECT_FALSE(std::isfinite(range.rmin) && std::isfinite(range.rmax))
          << CalibrationMethodName(method) << " gave [" << range.rmin << ", " << range.rmax << "]";
    }
  }
  // Only NaN: seen (not "no float data"), and non-finite.
  const std::vector<float> nans(64, std::numeric_limits<float>::quiet_NaN());
  for (const auto mode : {MinMseMode::kAll, MinMseMode::kMostCommon}) {
    CalibrationSettings settings = Settings(CalibrationMethod::kMinMSE);
    settings.calibration.minmse_mode = mode;
    auto calibrator = MakeCalibrator(settings);
    ASSERT_TRUE(calibrator.ok());
    auto stat = Collect(**calibrator, nans);
    EXPECT_FALSE(stat->empty());
    const auto range = (*calibrator)->ComputeRange(*stat);
    ASSERT_TRUE(range.ok());
    EXPECT_FALSE(std::isfinite(range->rmax));
  }
}

}  // namespace
}  // namespace onnxq
