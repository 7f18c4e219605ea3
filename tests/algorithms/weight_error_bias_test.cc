#include "algorithms/weight_error_bias.h"

#include <gtest/gtest.h>

#include <vector>

namespace onnxq {
namespace {

TEST(TapCoverageTest, PaddedBordersReadZerosAtOneOutputPositionInFour) {
  // 3 taps over 4 positions, padding 1: the first tap reads padding at output 0, the last at output 3.
  const auto coverage = TapCoverage(/*in=*/4, /*out=*/4, /*kernel=*/3, /*stride=*/1, /*pad_begin=*/1, /*dilation=*/1);
  ASSERT_EQ(coverage.size(), 3U);
  EXPECT_DOUBLE_EQ(coverage[0], 0.75);
  EXPECT_DOUBLE_EQ(coverage[1], 1.0);
  EXPECT_DOUBLE_EQ(coverage[2], 0.75);
}

TEST(TapCoverageTest, StrideAndDilationMoveTheTaps) {
  // Stride 2 over 5 positions, padding 1, 3 outputs: tap 0 reads -1, 1, 3; tap 2 reads 1, 3, 5.
  auto coverage = TapCoverage(5, 3, 3, 2, 1, 1);
  ASSERT_EQ(coverage.size(), 3U);
  EXPECT_DOUBLE_EQ(coverage[0], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(coverage[1], 1.0);
  EXPECT_DOUBLE_EQ(coverage[2], 2.0 / 3.0);
  // Dilation 2, padding 2, 4 outputs over 4 inputs: tap 0 reads -2..1 (2 inside), tap 2 reads 2..5.
  coverage = TapCoverage(4, 4, 3, 1, 2, 2);
  EXPECT_DOUBLE_EQ(coverage[0], 0.5);
  EXPECT_DOUBLE_EQ(coverage[1], 1.0);
  EXPECT_DOUBLE_EQ(coverage[2], 0.5);
  EXPECT_TRUE(TapCoverage(0, 4, 3, 1, 0, 1).empty());
  EXPECT_TRUE(TapCoverage(4, 4, 3, 0, 0, 1).empty());
}

TEST(KernelCoverageTest, TwoAxesMultiplyRowMajor) {
  const std::vector<std::vector<double>> axes = {{0.5, 1.0}, {1.0, 0.25, 1.0}};
  const auto coverage = KernelCoverage(axes);
  EXPECT_EQ(coverage, (std::vector<double>{0.5, 0.125, 0.5, 1.0, 0.25, 1.0}));
}

TEST(WeightErrorBiasTest, SumsTheWeightErrorTimesTheMeanInputOverChannelsAndTaps) {
  // Two outputs, two inputs, two taps; errors W - W~ = {0.1, -0.1, 0.2, 0} and {0, 0, 0.5, -0.5}.
  const std::vector<float> weight = {1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<float> dequantized = {0.9F, 2.1F, 2.8F, 4, 5, 6, 6.5F, 8.5F};
  const std::vector<float> means = {2, -1};
  const std::vector<double> coverage = {0.5, 1.0};
  const auto d =
      WeightErrorBias({.weight = weight, .dequantized = dequantized, .out_channels = 2, .taps = 2}, means, coverage);
  ASSERT_EQ(d.size(), 2U);
  // (0.1 * 0.5 - 0.1) * 2 + (0.2 * 0.5 + 0) * -1 = -0.2;  (0 + 0) * 2 + (0.5 * 0.5 - 0.5) * -1 = 0.25
  EXPECT_NEAR(d[0], -0.2, 1e-6);
  EXPECT_NEAR(d[1], 0.25, 1e-6);
  // Without coverage every tap counts fully: (0.1 - 0.1) * 2 + 0.2 * -1 = -0.2; (0.5 - 0.5) * -1 = 0.
  const auto full =
      WeightErrorBias({.weight = weight, .dequantized = dequantized, .out_channels = 2, .taps = 2}, means, {});
  EXPECT_NEAR(full[0], -0.2, 1e-6);
  EXPECT_NEAR(full[1], 0.0, 1e-6);
}

TEST(WeightErrorBiasTest, GroupsReadOnlyTheirOwnInputChannels) {
  // Depthwise: output o reads input o alone.
  const std::vector<float> weight = {1, 1};
  const std::vector<float> dequantized = {0.75F, 1.5F};
  const std::vector<float> means = {4, 10};
  const auto d =
      WeightErrorBias({.weight = weight, .dequantized = dequantized, .out_channels = 2, .groups = 2}, means, {});
  ASSERT_EQ(d.size(), 2U);
  EXPECT_FLOAT_EQ(d[0], 1.0F);   // 0.25 * 4
  EXPECT_FLOAT_EQ(d[1], -5.0F);  // -0.5 * 10
}

TEST(WeightErrorBiasTest, SizesThatDisagreeGiveNothing) {
  const std::vector<float> weight = {1, 2, 3};
  const std::vector<float> means = {1, 2};
  EXPECT_TRUE(WeightErrorBias({.weight = weight, .dequantized = weight, .out_channels = 2}, means, {}).empty());
  EXPECT_TRUE(
      WeightErrorBias({.weight = weight, .dequantized = weight, .out_channels = 3, .groups = 2}, means, {}).empty());
}

}  // namespace
}  // namespace onnxq
