#include "algorithms/relative_error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace onnxq {
namespace {

TEST(MagnitudeHistogramTest, CountsEachValueByItsBinaryExponent) {
  MagnitudeHistogram h;
  const std::vector<float> values = {1.0F,          -1.5F,  0.1F, 0.0F, -0.0F, std::numeric_limits<float>::infinity(),
                                     std::nanf(""), 1e-45F, 3.0F};
  h.Add(values);
  EXPECT_EQ(h.counts[127], 2);  // 1.0 and -1.5 in [1, 2)
  EXPECT_EQ(h.counts[123], 1);  // 0.1 in [1/16, 1/8)
  EXPECT_EQ(h.counts[128], 1);  // 3.0 in [2, 4)
  EXPECT_EQ(h.counts[0], 1);    // a subnormal
  EXPECT_EQ(h.zeros, 2);
  EXPECT_EQ(h.non_finite, 2);
  EXPECT_EQ(h.nonzero_finite(), 5);
}

TEST(MagnitudeHistogramTest, MergeAddsCounts) {
  MagnitudeHistogram a;
  MagnitudeHistogram b;
  a.Add(std::vector<float>{1.0F, 0.0F});
  b.Add(std::vector<float>{1.25F, std::numeric_limits<float>::infinity()});
  a.Merge(b);
  EXPECT_EQ(a.counts[127], 2);
  EXPECT_EQ(a.zeros, 1);
  EXPECT_EQ(a.non_finite, 1);
}

TEST(MagnitudeHistogramTest, RowDeviationsCountEachRowsStandardDeviation) {
  MagnitudeHistogram h;
  // Rows of 4: std 1 ({-1, 1, -1, 1}), std 0.0625 ({3 +- 0.0625}), std 0 (constant).
  const std::vector<float> values = {-1.0F, 1.0F, -1.0F, 1.0F, 3.0625F, 2.9375F, 3.0625F, 2.9375F, 5, 5, 5, 5};
  h.AddRowDeviations(values, 4);
  EXPECT_EQ(h.counts[127], 1);  // 1.0
  EXPECT_EQ(h.counts[123], 1);  // 0.0625 = 2^-4
  EXPECT_EQ(h.zeros, 1);
  EXPECT_EQ(h.nonzero_finite(), 2);
}

TEST(RelativeSqnrTest, TheWorstValueDecides) {
  MagnitudeHistogram h;
  h.Add(std::vector<float>{1.0F, 1.0F, 1.0F, 0.1F});
  // 0.1 rounds to 0 on a step of 0.5: 0 dB, whatever the rest.
  EXPECT_NEAR(WorstRelativeSqnrDb(h, 0.5F), 0.0, 1e-12);
  MagnitudeHistogram fine;
  fine.Add(std::vector<float>{1.0F, 1.5F});
  EXPECT_NEAR(WorstRelativeSqnrDb(fine, 0.5F), 10.0 * std::log10(96.0), 1e-9);
  EXPECT_TRUE(std::isinf(WorstRelativeSqnrDb(MagnitudeHistogram{}, 0.5F)));
}

TEST(RelativeSqnrTest, ValuesAboveHalfAStepHaveRoundingNoise) {
  MagnitudeHistogram h;
  h.Add(std::vector<float>{1.0F});
  // |x| taken as sqrt(2); noise 0.5^2 / 12: relative 0.25 / 12 / 2 = 1/96 -> 19.823 dB.
  EXPECT_NEAR(RelativeSqnrDb(h, 0.5F), 10.0 * std::log10(96.0), 1e-9);
}

TEST(RelativeSqnrTest, ValuesBelowHalfAStepRoundToZero) {
  MagnitudeHistogram h;
  h.Add(std::vector<float>{0.1F});
  EXPECT_NEAR(RelativeSqnrDb(h, 1.0F), 0.0, 1e-12);
}

TEST(RelativeSqnrTest, ZerosAndNonFiniteValuesDoNotCount) {
  MagnitudeHistogram h;
  h.Add(std::vector<float>{1.0F, 0.1F, 0.0F, std::numeric_limits<float>::infinity()});
  // mean of 1 (0.1 rounds to 0) and 1/96.
  EXPECT_NEAR(RelativeSqnrDb(h, 0.5F), -10.0 * std::log10((1.0 + 1.0 / 96.0) / 2.0), 1e-9);
}

TEST(RelativeSqnrTest, AWideDynamicRangeOnEightBitsIsDestroyed) {
  // A power spectrum: magnitudes spread evenly over 1e-8 .. 1e4, range [0, 1e4] on uint8.
  MagnitudeHistogram h;
  std::vector<float> values;
  for (int i = 0; i <= 1200; ++i) values.push_back(std::pow(10.0F, -8.0F + static_cast<float>(i) / 100.0F));
  h.Add(values);
  EXPECT_LT(RelativeSqnrDb(h, 1e4F / 255.0F), 3.0);
  // The same tensor over one decade, [1e3, 1e4], keeps most of its precision.
  MagnitudeHistogram narrow;
  std::vector<float> decade;
  for (int i = 0; i <= 100; ++i) decade.push_back(std::pow(10.0F, 3.0F + static_cast<float>(i) / 100.0F));
  narrow.Add(decade);
  EXPECT_GT(RelativeSqnrDb(narrow, 1e4F / 255.0F), 25.0);
}

TEST(RelativeSqnrTest, NothingToMeasureIsInfinitelyGood) {
  MagnitudeHistogram h;
  h.Add(std::vector<float>{0.0F});
  EXPECT_TRUE(std::isinf(RelativeSqnrDb(h, 0.5F)));
  h.Add(std::vector<float>{1.0F});
  EXPECT_TRUE(std::isinf(RelativeSqnrDb(h, 0.0F)));
}

}  // namespace
}  // namespace onnxq
