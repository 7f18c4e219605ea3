#include "algorithms/percentile.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "algorithms/histogram.h"
#include "testing/random_data.h"

namespace onnxq {
namespace {

using testing::LaplaceData;

// k-th smallest (1-based) with k = ceil(fraction * n) (up to rounding noise), at least 1.
float SortedQuantile(std::vector<float> sorted, double fraction) {
  std::sort(sorted.begin(), sorted.end());
  const auto n = static_cast<double>(sorted.size());
  const auto k = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(fraction * n - 1e-6)));
  return sorted[std::min(k, sorted.size()) - 1];
}

Histogram MakeHistogram(const std::vector<float>& data) {
  Histogram histogram;
  histogram.Add(data);
  return histogram;
}

TEST(PercentileTest, HandComputedSymmetric) {
  // 10 values, width 1/4 on [-1, 1.75]. |x| = 0.1 x4, 0.6 x3, 1.0, 1.2, 1.75.
  const std::vector<float> data = {0.1F, -0.1F, 0.1F, -0.1F, 0.6F, -0.6F, 0.6F, -1.0F, 1.2F, 1.75F};
  Histogram histogram(HistogramOptions{.max_bins = 16});
  histogram.Add(data);
  ASSERT_DOUBLE_EQ(histogram.bin_width(), 0.25);
  // 70% of the mass: first |x| bin with CDF >= 0.7 is [0.5, 0.75) -> t = 0.75.
  const ValueRange r70 = PercentileRange(histogram, {.percentile = 70.0, .symmetric = true});
  EXPECT_FLOAT_EQ(r70.rmin, -0.75F);
  EXPECT_FLOAT_EQ(r70.rmax, 0.75F);
  // 90%: bin [1.0, 1.25) -> t = 1.25, intersected with [min, max] = [-1, 1.75] -> [-1, 1.25].
  const ValueRange r90 = PercentileRange(histogram, {.percentile = 90.0, .symmetric = true});
  EXPECT_FLOAT_EQ(r90.rmin, -1.0F);
  EXPECT_FLOAT_EQ(r90.rmax, 1.25F);
  // 100% -> t clamped to max|x|: exactly the MinMax range.
  const ValueRange all = PercentileRange(histogram, {.percentile = 100.0, .symmetric = true});
  EXPECT_EQ(all.rmin, -1.0F);
  EXPECT_EQ(all.rmax, 1.75F);
}

TEST(PercentileTest, HandComputedAsymmetric) {
  // 0 .. 99 in width-1 bins. 90% keeps 5% on each side cut: rmin = lower edge of the bin where the CDF
  // reaches 0.05 (value 4 -> 4), rmax = upper edge of the bin where it reaches 0.95 (value 94 -> 95).
  std::vector<float> data;
  for (int i = 0; i < 100; ++i) data.push_back(static_cast<float>(i));
  Histogram histogram(HistogramOptions{.max_bins = 128});
  histogram.Add(data);
  ASSERT_DOUBLE_EQ(histogram.bin_width(), 1.0);
  const ValueRange r = PercentileRange(histogram, {.percentile = 90.0, .symmetric = false});
  EXPECT_FLOAT_EQ(r.rmin, 4.0F);
  EXPECT_FLOAT_EQ(r.rmax, 95.0F);
  const ValueRange all = PercentileRange(histogram, {.percentile = 100.0, .symmetric = false});
  EXPECT_EQ(all.rmin, 0.0F);
  EXPECT_EQ(all.rmax, 99.0F);
}

TEST(PercentileTest, MatchesSortedDataWithinOneBin) {
  std::vector<float> data = LaplaceData(50000, 0.7, 5);
  for (float& x : data) x += 0.4F;  // asymmetric data
  const Histogram histogram = MakeHistogram(data);
  const double width = histogram.bin_width();
  std::vector<float> abs_data;
  for (float x : data) abs_data.push_back(std::fabs(x));
  for (double p : {50.0, 90.0, 99.0, 99.9, 99.99}) {
    const ValueRange sym = PercentileRange(histogram, {.percentile = p, .symmetric = true});
    const float t = SortedQuantile(abs_data, p / 100.0);
    EXPECT_NEAR(sym.rmax, std::min(t, histogram.max()), width) << "p=" << p;
    EXPECT_NEAR(sym.rmin, std::max(-t, histogram.min()), width) << "p=" << p;

    const ValueRange asym = PercentileRange(histogram, {.percentile = p, .symmetric = false});
    const double cut = (100.0 - p) / 200.0;
    EXPECT_NEAR(asym.rmin, SortedQuantile(data, cut), width) << "p=" << p;
    EXPECT_NEAR(asym.rmax, SortedQuantile(data, 1.0 - cut), width) << "p=" << p;
    EXPECT_LE(asym.rmin, asym.rmax);
  }
}

TEST(PercentileTest, ClipsOutliersOfLaplaceData) {
  std::vector<float> data = LaplaceData(100000, 1.0, 17);
  data.push_back(50.0F);
  data.push_back(-40.0F);
  const Histogram histogram = MakeHistogram(data);
  EXPECT_EQ(histogram.min(), -40.0F);  // MinMax keeps the outliers
  EXPECT_EQ(histogram.max(), 50.0F);
  // 99.99% keeps all but ~10 values: Laplace(1) tail e^-t = 1e-4 -> t ~ 9.2.
  const ValueRange sym = PercentileRange(histogram, {.percentile = 99.99, .symmetric = true});
  EXPECT_GT(sym.rmax, 7.0F);
  EXPECT_LT(sym.rmax, 12.0F);
  EXPECT_FLOAT_EQ(sym.rmin, -sym.rmax);
  const ValueRange asym = PercentileRange(histogram, {.percentile = 99.99, .symmetric = false});
  EXPECT_GT(asym.rmin, -12.0F);
  EXPECT_LT(asym.rmin, -6.0F);
  EXPECT_GT(asym.rmax, 6.0F);
  EXPECT_LT(asym.rmax, 12.0F);
}

TEST(PercentileTest, NonNegativeDataKeepsItsLowerBound) {
  std::vector<float> data = LaplaceData(20000, 1.0, 23);
  for (float& x : data) x = std::max(x, 0.0F);  // after a Relu
  const Histogram histogram = MakeHistogram(data);
  const ValueRange r = PercentileRange(histogram, {.percentile = 99.9, .symmetric = true});
  EXPECT_EQ(r.rmin, 0.0F);
  EXPECT_GT(r.rmax, 4.0F);
  EXPECT_LT(r.rmax, histogram.max());
}

TEST(PercentileTest, EmptyAndConstantHistograms) {
  const ValueRange empty = PercentileRange(Histogram{});
  EXPECT_EQ(empty.rmin, 0.0F);
  EXPECT_EQ(empty.rmax, 0.0F);
  const ValueRange constant = PercentileRange(MakeHistogram({2.5F, 2.5F, 2.5F}));
  EXPECT_EQ(constant.rmin, 2.5F);
  EXPECT_EQ(constant.rmax, 2.5F);
  const ValueRange zeros = PercentileRange(MakeHistogram({0.0F, 0.0F}), {.percentile = 99.0, .symmetric = false});
  EXPECT_EQ(zeros.rmin, 0.0F);
  EXPECT_EQ(zeros.rmax, 0.0F);
}

}  // namespace
}  // namespace onnxq
