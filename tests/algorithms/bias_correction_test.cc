#include "algorithms/bias_correction.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

namespace onnxq {
namespace {

TEST(ChannelMeanDifferenceTest, MeansOverSamplesAndPositionsPerChannel) {
  // [N=2, C=2, 3 positions]; b = 0, so a - b is a. Channel 0 sums 6 + 3 over 6 values, channel 1 0 + 6.
  const std::vector<float> a = {1, 2, 3, -1, 0, 1, 0, 0, 3, 2, 2, 2};
  const std::vector<float> b(a.size(), 0.0F);
  const std::vector<int64_t> shape = {2, 2, 3};
  ChannelMeanDifference mean(2);
  ASSERT_TRUE(mean.Add(a, b, shape));
  EXPECT_EQ(mean.Mean(), (std::vector<float>{1.5F, 1.0F}));
  // Another worker's run of one sample: channel 0 adds 12 over 3 values, channel 1 nothing.
  ChannelMeanDifference other(2);
  ASSERT_TRUE(other.Add(std::vector<float>{5, 5, 5, 1, 1, 1}, std::vector<float>{1, 1, 1, 1, 1, 1},
                        std::vector<int64_t>{1, 2, 3}));
  mean.Merge(other);
  const std::vector<float> merged = mean.Mean();
  EXPECT_FLOAT_EQ(merged[0], 21.0F / 9.0F);
  EXPECT_FLOAT_EQ(merged[1], 6.0F / 9.0F);
}

TEST(ChannelMeanDifferenceTest, AGemmOutputHasItsChannelsOnAxisOne) {
  ChannelMeanDifference mean(2);
  // [M=3, N=2]: a - b = (1, -2), (3, -2), (5, -2).
  ASSERT_TRUE(
      mean.Add(std::vector<float>{1, 0, 3, 0, 5, 0}, std::vector<float>{0, 2, 0, 2, 0, 2}, std::vector<int64_t>{3, 2}));
  EXPECT_EQ(mean.Mean(), (std::vector<float>{3.0F, -2.0F}));
}

TEST(ChannelMeanDifferenceTest, AShapeThatDoesNotFitAddsNothing) {
  ChannelMeanDifference mean(2);
  const std::vector<float> six(6, 1.0F);
  const std::vector<float> zeros(6, 0.0F);
  EXPECT_FALSE(mean.Add(six, zeros, std::vector<int64_t>{2, 3}));                  // 3 channels on axis 1
  EXPECT_FALSE(mean.Add(six, zeros, std::vector<int64_t>{6}));                     // no axis 1
  EXPECT_FALSE(mean.Add(six, zeros, std::vector<int64_t>{2, 2, 2}));               // 8 values, not 6
  EXPECT_FALSE(mean.Add(six, std::vector<float>(4), std::vector<int64_t>{3, 2}));  // a and b differ
  EXPECT_EQ(mean.Mean(), (std::vector<float>{0.0F, 0.0F}));
}

TEST(QuantizeInt32Test, RoundsHalfToEvenAddsTheZeroPointAndClamps) {
  const std::vector<float> scale = {0.5F};
  const std::vector<int64_t> zero = {3};
  // 0.25 / 0.5 = 0.5 -> 0, 0.75 / 0.5 = 1.5 -> 2, -1.25 / 0.5 = -2.5 -> -2; then + 3.
  EXPECT_EQ(QuantizeInt32(std::vector<float>{0.25F, 0.75F, -1.25F}, scale, zero), (std::vector<int64_t>{3, 5, 1}));
  EXPECT_EQ(QuantizeInt32(std::vector<float>{1e10F, -1e10F}, scale, {}),
            (std::vector<int64_t>{std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min()}));
  EXPECT_EQ(QuantizeInt32(std::vector<float>{1.0F}, std::vector<float>{0.0F}, {}), (std::vector<int64_t>{0}));
}

TEST(QuantizeInt32Test, PerChannelScalesAndZeroPointsRoundTrip) {
  const std::vector<float> scale = {0.5F, 0.25F};
  const std::vector<int64_t> zero = {0, -1};
  const std::vector<int64_t> q = QuantizeInt32(std::vector<float>{1.0F, 1.0F}, scale, zero);
  EXPECT_EQ(q, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(DequantizeInt32(q, scale, zero), (std::vector<float>{1.0F, 1.0F}));
  EXPECT_EQ(DequantizeInt32(std::vector<int64_t>{-4, 7}, std::vector<float>{0.25F}, {}),
            (std::vector<float>{-1.0F, 1.75F}));
}

}  // namespace
}  // namespace onnxq
