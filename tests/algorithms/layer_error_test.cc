#include "algorithms/layer_error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "algorithms/sqnr.h"

namespace onnxq {
namespace {

TEST(LayerErrorTest, DequantizedRangeOfUint8) {
  // QUInt8 with zero point 128 and scale 0.1: codes 0 and 255 stand for -12.8 and 12.7.
  const ValueRange range = DequantizedRange(0, 255, 0.1F, 128);
  EXPECT_FLOAT_EQ(range.rmin, -12.8F);
  EXPECT_FLOAT_EQ(range.rmax, 12.7F);
  // QInt8, zero point 0, scale 0.5: [-64, 63.5].
  const ValueRange signed_range = DequantizedRange(-128, 127, 0.5F, 0);
  EXPECT_EQ(signed_range.rmin, -64.0F);
  EXPECT_EQ(signed_range.rmax, 63.5F);
}

TEST(LayerErrorTest, ClipCountsOutsideTheRange) {
  // [-1, 2]: -2 lies below, 3 and 5 above; the bounds themselves are inside; NaN is neither.
  ClipCounts counts;
  counts.Add(std::vector<float>{-2, -1, 0, 1, 2, 3}, {.rmin = -1, .rmax = 2});
  counts.Add(std::vector<float>{5, NAN}, {.rmin = -1, .rmax = 2});
  EXPECT_EQ(counts.below, 1);
  EXPECT_EQ(counts.above, 2);
  EXPECT_EQ(counts.values, 8);
  EXPECT_EQ(counts.clipped(), 3);
  EXPECT_DOUBLE_EQ(counts.Fraction(), 3.0 / 8.0);
  EXPECT_EQ(ClipCounts{}.Fraction(), 0.0);
}

// 0.5, 1.5, 2.5, 3.5 with at most 4 bins: width 1, bins [0,1) [1,2) [2,3) [3,4) of one value each.
Histogram FourValues() {
  Histogram histogram({.max_bins = 4});
  histogram.Add(std::vector<float>{0.5F, 1.5F, 2.5F, 3.5F});
  EXPECT_EQ(histogram.bin_width(), 1.0);
  EXPECT_EQ(histogram.counts(), (std::vector<int64_t>{1, 1, 1, 1}));
  return histogram;
}

TEST(LayerErrorTest, RebinOnAlignedBins) {
  // Two display bins [0, 2) and [2, 4): two source bins each.
  const BinnedValues binned = Rebin(FourValues(), 0.0, 4.0, 2);
  EXPECT_EQ(binned.counts, (std::vector<double>{2, 2}));
}

TEST(LayerErrorTest, RebinSplitsStraddlingBins) {
  // Display bins [0.5,1.5) [1.5,2.5) [2.5,3.5]. The source bins, cut to the observed [0.5, 3.5]:
  // [0.5,1] -> bin 0; [1,2] half to bins 0 and 1; [2,3] half to bins 1 and 2; [3,3.5] -> bin 2.
  const BinnedValues binned = Rebin(FourValues(), 0.5, 3.5, 3);
  ASSERT_EQ(binned.counts.size(), 3U);
  EXPECT_DOUBLE_EQ(binned.counts[0], 1.5);
  EXPECT_DOUBLE_EQ(binned.counts[1], 1.0);
  EXPECT_DOUBLE_EQ(binned.counts[2], 1.5);
}

TEST(LayerErrorTest, RebinKeepsValuesOutsideInTheEndBins) {
  // Display range [1, 3) in two bins: 0.5 falls into the first, 3.5 into the last; the total stays.
  const BinnedValues binned = Rebin(FourValues(), 1.0, 3.0, 2);
  EXPECT_EQ(binned.counts, (std::vector<double>{2, 2}));
  const BinnedValues one = Rebin(FourValues(), 2.0, 2.0, 5);  // empty range: one bin holds all
  EXPECT_DOUBLE_EQ(std::accumulate(one.counts.begin(), one.counts.end(), 0.0), 4.0);
  EXPECT_EQ(one.counts[0], 4.0);
}

TEST(LayerErrorTest, DequantizePerTensorAndPerChannel) {
  // Per tensor: (q - 3) * 0.25.
  EXPECT_EQ(DequantizeCodes(std::vector<int64_t>{3, 7, -1}, std::vector<int64_t>{3}, std::vector<float>{0.25F},
                            std::vector<int64_t>{3}, 0),
            (std::vector<float>{0, 1, -1}));
  // Axis 0 of [2, 3]: row 0 (q - 1) * 0.5, row 1 (q + 1) * 2.
  EXPECT_EQ(DequantizeCodes(std::vector<int64_t>{1, 3, 5, -1, 0, 1}, std::vector<int64_t>{2, 3},
                            std::vector<float>{0.5F, 2.0F}, std::vector<int64_t>{1, -1}, 0),
            (std::vector<float>{0, 1, 2, 0, 2, 4}));
  // Axis 1 of [2, 2] (a MatMul weight's columns), no zero points: column 0 x1, column 1 x10.
  EXPECT_EQ(DequantizeCodes(std::vector<int64_t>{1, 2, 3, 4}, std::vector<int64_t>{2, 2},
                            std::vector<float>{1.0F, 10.0F}, {}, -1),
            (std::vector<float>{1, 20, 3, 40}));
  // Three scales for an axis of two channels: nothing.
  EXPECT_TRUE(
      DequantizeCodes(std::vector<int64_t>{1, 2}, std::vector<int64_t>{2}, std::vector<float>{1, 1, 1}, {}, 0).empty());
}

TEST(LayerErrorTest, WeightSqnrOfAFourLevelQuantization) {
  // x = 0.1 0.4 -0.3 0.9 at scale 0.25: codes 0 2 -1 4 (round half even), dequantized 0 0.5 -0.25 1.
  // Signal 0.01+0.16+0.09+0.81 = 1.07; noise 0.01+0.01+0.0025+0.01 = 0.0325; SQNR 10 log10(32.923) dB.
  const std::vector<float> x = {0.1F, 0.4F, -0.3F, 0.9F};
  const std::vector<float> q =
      DequantizeCodes(std::vector<int64_t>{0, 2, -1, 4}, std::vector<int64_t>{4}, std::vector<float>{0.25F}, {}, 0);
  SqnrSums sums;
  sums.Add(x, q);
  EXPECT_NEAR(sums.SqnrDb(), 10.0 * std::log10(1.07 / 0.0325), 1e-5);
}

TEST(LayerErrorTest, QuantizeCodesRoundHalfEvenAndClamp) {
  // Scale 0.5, zero point 10, uint8: 1.25 / 0.5 = 2.5 -> 2 (half even), 1.75 -> 3.5 -> 4, 200 clamps to
  // 255, -10 to 0.
  EXPECT_EQ(QuantizeCodes(std::vector<float>{1.25F, 1.75F, 200.0F, -10.0F}, std::vector<int64_t>{4},
                          std::vector<float>{0.5F}, std::vector<int64_t>{10}, 0, 0, 255),
            (std::vector<int64_t>{12, 14, 255, 0}));
  // Per channel along axis 0 of [2, 2]: scales 1 and 0.1, int8.
  EXPECT_EQ(QuantizeCodes(std::vector<float>{3.0F, -2.0F, 0.3F, 20.0F}, std::vector<int64_t>{2, 2},
                          std::vector<float>{1.0F, 0.1F}, {}, 0, -128, 127),
            (std::vector<int64_t>{3, -2, 3, 127}));
}

}  // namespace
}  // namespace onnxq
