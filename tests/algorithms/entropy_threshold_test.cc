#include "algorithms/entropy_threshold.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "algorithms/histogram.h"
#include "testing/random_data.h"

namespace onnxq {
namespace {

using testing::LaplaceData;

Histogram MakeHistogram(const std::vector<float>& data, int max_bins = 2048) {
  Histogram histogram(HistogramOptions{.max_bins = max_bins});
  histogram.Add(data);
  return histogram;
}

TEST(ClippingDivergenceTest, HandComputedWithoutZeros) {
  const std::vector<double> uniform = {1.0, 1.0, 1.0, 1.0};
  // t = 2: p = [1, 3] / 4, q = [1, 1] / 2.
  EXPECT_NEAR(ClippingDivergence(uniform, 2, 2), 0.25 * std::log(0.5) + 0.75 * std::log(1.5), 1e-12);
  // t = 3: p = [1, 1, 2] / 4; groups [0, 1.5) and [1.5, 3) each hold 1.5 over 1.5 bins -> q = 1/3 each.
  EXPECT_NEAR(ClippingDivergence(uniform, 3, 2), 0.5 * std::log(0.75) + 0.5 * std::log(1.5), 1e-12);
  // t = 4: nothing clipped, the quantization is lossless for a flat distribution.
  EXPECT_NEAR(ClippingDivergence(uniform, 4, 2), 0.0, 1e-12);
  EXPECT_EQ(EntropyThresholdBins(uniform, 2), 4);
}

TEST(ClippingDivergenceTest, HandComputedWithSmoothing) {
  const double eps = 1e-4;
  const std::vector<double> h = {1.0, 0.0, 0.0, 1.0};
  // t = 4, two groups of two bins: each group's mass sits on its single non-zero bin -> q == p.
  EXPECT_NEAR(ClippingDivergence(h, 4, 2), 0.0, 1e-12);
  // t = 2: p = [1, 1]; q from the unclipped slice [1, 0] -> [1, 0], smoothed to [1 - eps, eps].
  EXPECT_NEAR(ClippingDivergence(h, 2, 2), 0.5 * std::log(0.5 / (1.0 - eps)) + 0.5 * std::log(0.5 / eps), 1e-12);
  // t = 3: p = [1, 0, 1]; q = [1, 0, 0]. p' = [a/2, eps, a/2] with a = 1 - eps, q' = [1 - 2 eps, eps, eps].
  const double a = 1.0 - eps;
  const double expected = 0.5 * a * std::log(0.5 * a / (1.0 - 2.0 * eps)) + 0.5 * a * std::log(0.5 * a / eps);
  EXPECT_NEAR(ClippingDivergence(h, 3, 2), expected, 1e-12);
  EXPECT_EQ(EntropyThresholdBins(h, 2), 4);
}

TEST(ClippingDivergenceTest, FarOutlierIsClipped) {
  // A smooth bump over the first 200 of 1000 bins and a lone tiny outlier at the end.
  std::vector<double> h(1000, 0.0);
  for (int i = 0; i < 200; ++i) h[static_cast<std::size_t>(i)] = 1000.0 * std::exp(-i / 40.0);
  h[999] = 0.5;
  const int kept = EntropyThresholdBins(h, 128);
  EXPECT_GE(kept, 128);
  EXPECT_LE(kept, 300);
}

TEST(AbsDistributionTest, SpreadsCountsProportionallyAndKeepsMass) {
  // Width 1 histogram: |x| bins [0,1): 2 values, [1,2): 1, [3,4): 1 (max|x| = 3.5).
  const std::vector<float> data = {0.2F, -0.7F, 1.5F, -3.5F};
  const Histogram histogram = MakeHistogram(data, 8);
  ASSERT_DOUBLE_EQ(histogram.bin_width(), 1.0);
  // Resampled to 7 bins of width 0.5 over [0, 3.5]; the last source bin [3, 3.5] maps to bin 6.
  const std::vector<double> d = AbsDistribution(histogram, 7);
  ASSERT_EQ(d.size(), 7U);
  const std::vector<double> expected = {1.0, 1.0, 0.5, 0.5, 0.0, 0.0, 1.0};
  for (std::size_t i = 0; i < d.size(); ++i) EXPECT_NEAR(d[i], expected[i], 1e-12) << i;

  const Histogram laplace = MakeHistogram(LaplaceData(20000, 1.0, 3));
  const std::vector<double> fine = AbsDistribution(laplace, 2048);
  EXPECT_NEAR(std::accumulate(fine.begin(), fine.end(), 0.0), 20000.0, 1e-6);
  EXPECT_TRUE(AbsDistribution(Histogram{}, 16).empty());
}

TEST(EntropyRangeTest, EqualBinCountsGiveTheMinMaxRange) {
  std::vector<float> data = LaplaceData(20000, 1.0, 5);
  data.push_back(30.0F);
  const Histogram histogram = MakeHistogram(data);
  const ValueRange r = EntropyRange(histogram, {.num_bins = 128, .num_quantized_bins = 128});
  EXPECT_EQ(r.rmin, histogram.min());
  EXPECT_EQ(r.rmax, histogram.max());
}

TEST(EntropyRangeTest, ClipsOutliersOfLaplaceData) {
  std::vector<float> data = LaplaceData(100000, 1.0, 17);
  data.push_back(50.0F);
  data.push_back(-40.0F);
  const Histogram histogram = MakeHistogram(data, 8192);
  EXPECT_EQ(histogram.min(), -40.0F);
  EXPECT_EQ(histogram.max(), 50.0F);
  const ValueRange r = EntropyRange(histogram);
  EXPECT_FLOAT_EQ(r.rmin, -r.rmax);  // threshold below both outliers
  EXPECT_GT(r.rmax, 3.0F);
  EXPECT_LT(r.rmax, 20.0F);
  // The threshold is a whole number of resampling bins: t * 50 / 2048.
  const double bins = r.rmax / (50.0 / 2048.0);
  EXPECT_NEAR(bins, std::round(bins), 1e-3);
  // The default 2048-bin histogram (coarser source bins) lands close by.
  const ValueRange coarse = EntropyRange(MakeHistogram(data));
  EXPECT_NEAR(coarse.rmax, r.rmax, 0.15 * r.rmax);
}

TEST(EntropyRangeTest, NonNegativeAndDegenerateData) {
  std::vector<float> data = LaplaceData(20000, 1.0, 29);
  for (float& x : data) x = std::max(x, 0.0F);
  const ValueRange relu = EntropyRange(MakeHistogram(data));
  EXPECT_EQ(relu.rmin, 0.0F);
  EXPECT_GT(relu.rmax, 1.0F);
  const ValueRange empty = EntropyRange(Histogram{});
  EXPECT_EQ(empty.rmin, 0.0F);
  EXPECT_EQ(empty.rmax, 0.0F);
  const ValueRange zeros = EntropyRange(MakeHistogram({0.0F, 0.0F, 0.0F}));
  EXPECT_EQ(zeros.rmin, 0.0F);
  EXPECT_EQ(zeros.rmax, 0.0F);
  const ValueRange constant = EntropyRange(MakeHistogram({-2.0F, -2.0F}));
  EXPECT_EQ(constant.rmin, -2.0F);
  EXPECT_EQ(constant.rmax, -2.0F);
}

}  // namespace
}  // namespace onnxq
