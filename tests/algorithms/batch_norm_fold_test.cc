#include "algorithms/batch_norm_fold.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>
#include "testing/random_data.h"

namespace onnxq {
namespace {

using testing::RandomVector;

// Valid (unpadded, stride 1) 2-D convolution of x [I, H, W] with weight [O, I, KH, KW] and bias [O].
std::vector<float> Conv2dValid(const std::vector<float>& x, int64_t in_channels, int64_t height, int64_t width,
                               const std::vector<float>& weight, int64_t out_channels, int64_t kernel_h,
                               int64_t kernel_w, const std::vector<float>& bias) {
  const int64_t out_h = height - kernel_h + 1;
  const int64_t out_w = width - kernel_w + 1;
  std::vector<float> y(static_cast<std::size_t>(out_channels * out_h * out_w));
  for (int64_t o = 0; o < out_channels; ++o) {
    for (int64_t r = 0; r < out_h; ++r) {
      for (int64_t c = 0; c < out_w; ++c) {
        double sum = bias.empty() ? 0.0 : bias[static_cast<std::size_t>(o)];
        for (int64_t i = 0; i < in_channels; ++i) {
          for (int64_t u = 0; u < kernel_h; ++u) {
            for (int64_t v = 0; v < kernel_w; ++v) {
              const auto w_index = static_cast<std::size_t>(((o * in_channels + i) * kernel_h + u) * kernel_w + v);
              const auto x_index = static_cast<std::size_t>((i * height + r + u) * width + c + v);
              sum += static_cast<double>(weight[w_index]) * static_cast<double>(x[x_index]);
            }
          }
        }
        y[static_cast<std::size_t>((o * out_h + r) * out_w + c)] = static_cast<float>(sum);
      }
    }
  }
  return y;
}

// Inference BN on y laid out [C, pixels].
void ApplyBatchNorm(const BatchNormParams& bn, std::vector<float>& y) {
  const std::size_t channels = bn.gamma.size();
  const std::size_t pixels = y.size() / channels;
  for (std::size_t c = 0; c < channels; ++c) {
    const double sigma = std::sqrt(static_cast<double>(bn.var[c]) + bn.epsilon);
    for (std::size_t p = 0; p < pixels; ++p) {
      float& value = y[c * pixels + p];
      value = static_cast<float>(bn.gamma[c] * (value - bn.mean[c]) / sigma + bn.beta[c]);
    }
  }
}

BatchNormParams RandomBatchNorm(std::size_t channels, std::mt19937& rng) {
  BatchNormParams bn;
  bn.gamma = RandomVector(channels, -2.0F, 2.0F, rng);
  bn.beta = RandomVector(channels, -1.0F, 1.0F, rng);
  bn.mean = RandomVector(channels, -0.5F, 0.5F, rng);
  bn.var = RandomVector(channels, 0.1F, 3.0F, rng);
  bn.epsilon = 1e-3F;
  return bn;
}

void ExpectNear(const std::vector<float>& actual, const std::vector<float>& expected, float tolerance) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], tolerance) << "index " << i;
}

TEST(ScaleAlongAxisTest, ScalesEachSliceOfTheAxis) {
  // [2, 3, 2]: axis 1 has three slices of 2x2 elements each.
  std::vector<float> data = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const std::vector<int64_t> dims = {2, 3, 2};
  const std::vector<float> scale = {10, 1, -1};
  ASSERT_TRUE(ScaleAlongAxis(data, dims, 1, scale).ok());
  EXPECT_EQ(data, (std::vector<float>{10, 20, 3, 4, -5, -6, 70, 80, 9, 10, -11, -12}));

  ASSERT_TRUE(ScaleAlongAxis(data, dims, 0, std::vector<float>{1, 0.5F}).ok());
  EXPECT_EQ(data, (std::vector<float>{10, 20, 3, 4, -5, -6, 35, 40, 4.5F, 5, -5.5F, -6}));
}

TEST(ScaleAlongAxisTest, DivideIsTheInverse) {
  std::vector<float> data = {3, 6, 9, 12};
  const std::vector<int64_t> dims = {2, 2};
  ASSERT_TRUE(DivideAlongAxis(data, dims, 1, std::vector<float>{3, 2}).ok());
  EXPECT_EQ(data, (std::vector<float>{1, 3, 3, 6}));
}

TEST(ScaleAlongAxisTest, RejectsBadLayoutsWithoutTouchingData) {
  std::vector<float> data = {1, 2, 3, 4};
  const std::vector<float> original = data;
  const std::vector<int64_t> dims = {2, 2};
  const std::vector<float> two = {2, 2};

  const EqualizationStatus bad_axis = ScaleAlongAxis(data, dims, 2, two);
  EXPECT_EQ(bad_axis.code(), EqualizationError::kInvalidShape);
  EXPECT_EQ(ScaleAlongAxis(data, dims, -1, two).code(), EqualizationError::kInvalidShape);

  const EqualizationStatus wrong_count = ScaleAlongAxis(data, dims, 0, std::vector<float>{1, 2, 3});
  EXPECT_EQ(wrong_count.code(), EqualizationError::kSizeMismatch);
  EXPECT_NE(wrong_count.message().find("expected dims[0] = 2"), std::string::npos) << wrong_count.message();

  EXPECT_EQ(ScaleAlongAxis(data, std::vector<int64_t>{3, 2}, 0, std::vector<float>{1, 2, 3}).code(),
            EqualizationError::kSizeMismatch);
  EXPECT_EQ(ScaleAlongAxis(data, std::vector<int64_t>{-2, -2}, 0, two).code(), EqualizationError::kInvalidShape);
  EXPECT_EQ(data, original);
}

TEST(AbsMaxAlongAxisTest, PerChannelRanges) {
  // [2, 2, 2]
  const std::vector<float> data = {1, -7, 2, 0.5F, -3, 4, 0, -1};
  const std::vector<int64_t> dims = {2, 2, 2};
  EXPECT_EQ(AbsMaxAlongAxis(data, dims, 0), (std::vector<float>{7, 4}));
  EXPECT_EQ(AbsMaxAlongAxis(data, dims, 1), (std::vector<float>{7, 2}));
  EXPECT_EQ(AbsMaxAlongAxis(data, dims, 2), (std::vector<float>{3, 7}));
  EXPECT_TRUE(AbsMaxAlongAxis(data, dims, 3).empty());
  EXPECT_TRUE(AbsMaxAlongAxis(data, std::vector<int64_t>{2, 2}, 0).empty());
}

TEST(ChannelMajorCopyTest, MovesTheAxisToTheFront) {
  // [2, 3] with axis 1 -> [3, 2] (a transpose).
  const std::vector<float> data = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(ChannelMajorCopy(data, std::vector<int64_t>{2, 3}, 1), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  // [2, 2, 2] with axis 1: row c holds elements [o, c, k] in (o, k) order.
  const std::vector<float> cube = {0, 1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(ChannelMajorCopy(cube, std::vector<int64_t>{2, 2, 2}, 1), (std::vector<float>{0, 1, 4, 5, 2, 3, 6, 7}));
}

TEST(SumOverOtherAxesTest, SpatialSumsOfAConvWeight) {
  // [O=2, I=2, 1, 2]
  const std::vector<float> weight = {1, 2, 3, 4, 5, 6, -7, 8};
  const std::vector<int64_t> dims = {2, 2, 1, 2};
  EXPECT_EQ(SumOverOtherAxes(weight, dims, 0, 1), (std::vector<float>{3, 7, 11, 1}));
  // Swapping the axes transposes the result.
  EXPECT_EQ(SumOverOtherAxes(weight, dims, 1, 0), (std::vector<float>{3, 11, 7, 1}));
  // Rows over the last axis, columns over the first.
  EXPECT_EQ(SumOverOtherAxes(weight, dims, 3, 0), (std::vector<float>{4, -2, 6, 14}));
  EXPECT_TRUE(SumOverOtherAxes(weight, dims, 1, 1).empty());
  EXPECT_TRUE(SumOverOtherAxes(weight, dims, 0, 4).empty());
}

TEST(FoldBatchNormTest, HandComputed) {
  // sigma = sqrt(var + eps) = [2, 0.5]; gamma / sigma = [1.5, 2].
  BatchNormParams bn{.gamma = {3, 1}, .beta = {0.5F, -1}, .mean = {2, 0}, .var = {4, 0.25F}, .epsilon = 0.0F};
  std::vector<float> weight = {1, -2, 0.5F, 4};
  std::vector<float> bias = {1, -1};
  ASSERT_TRUE(FoldBatchNorm(weight, std::vector<int64_t>{2, 2}, 0, bias, bn).ok());
  EXPECT_EQ(weight, (std::vector<float>{1.5F, -3, 1, 8}));
  // b' = beta + (b - mean) * gamma / sigma = [0.5 + (1 - 2) * 1.5, -1 + (-1 - 0) * 2].
  EXPECT_EQ(bias, (std::vector<float>{-1, -3}));
}

TEST(FoldBatchNormTest, MissingBiasIsCreated) {
  BatchNormParams bn{.gamma = {3, 1}, .beta = {0.5F, -1}, .mean = {2, 0}, .var = {4, 0.25F}, .epsilon = 0.0F};
  std::vector<float> weight = {1, -2, 0.5F, 4};
  std::vector<float> bias;
  ASSERT_TRUE(FoldBatchNorm(weight, std::vector<int64_t>{2, 2}, 1, bias, bn).ok());
  // Axis 1 (Gemm B [K, N] with transB = 0): columns scaled by [1.5, 2].
  EXPECT_EQ(weight, (std::vector<float>{1.5F, -4, 0.75F, 8}));
  EXPECT_EQ(bias, (std::vector<float>{0.5F - 2 * 1.5F, -1}));
}

TEST(FoldBatchNormTest, ConvThenBatchNormEqualsFoldedConv) {
  std::mt19937 rng(7);
  constexpr int64_t kIn = 3;
  constexpr int64_t kOut = 4;
  constexpr int64_t kHeight = 5;
  constexpr int64_t kWidth = 4;
  const std::vector<float> x = RandomVector(kIn * kHeight * kWidth, -1.0F, 1.0F, rng);
  std::vector<float> weight = RandomVector(kOut * kIn * 3 * 2, -1.0F, 1.0F, rng);
  std::vector<float> bias = RandomVector(kOut, -1.0F, 1.0F, rng);
  const BatchNormParams bn = RandomBatchNorm(kOut, rng);

  std::vector<float> expected = Conv2dValid(x, kIn, kHeight, kWidth, weight, kOut, 3, 2, bias);
  ApplyBatchNorm(bn, expected);

  ASSERT_TRUE(FoldBatchNorm(weight, std::vector<int64_t>{kOut, kIn, 3, 2}, 0, bias, bn).ok());
  ExpectNear(Conv2dValid(x, kIn, kHeight, kWidth, weight, kOut, 3, 2, bias), expected, 1e-5F);
}

TEST(FoldBatchNormTest, GemmThenBatchNormEqualsFoldedGemm) {
  // y = x B + b with B [K, N] (transB = 0): the output channel is axis 1.
  std::mt19937 rng(11);
  constexpr std::size_t kK = 5;
  constexpr std::size_t kN = 3;
  constexpr std::size_t kRows = 4;
  const std::vector<float> x = RandomVector(kRows * kK, -1.0F, 1.0F, rng);
  std::vector<float> b_matrix = RandomVector(kK * kN, -1.0F, 1.0F, rng);
  std::vector<float> bias = RandomVector(kN, -1.0F, 1.0F, rng);
  const BatchNormParams bn = RandomBatchNorm(kN, rng);

  // Output laid out [N, rows] so ApplyBatchNorm's [C, pixels] view applies.
  const auto gemm = [&](const std::vector<float>& matrix, const std::vector<float>& b) {
    std::vector<float> y(kN * kRows);
    for (std::size_t n = 0; n < kN; ++n) {
      for (std::size_t r = 0; r < kRows; ++r) {
        double sum = b[n];
        for (std::size_t k = 0; k < kK; ++k) sum += static_cast<double>(x[r * kK + k]) * matrix[k * kN + n];
        y[n * kRows + r] = static_cast<float>(sum);
      }
    }
    return y;
  };
  std::vector<float> expected = gemm(b_matrix, bias);
  ApplyBatchNorm(bn, expected);

  ASSERT_TRUE(
      FoldBatchNorm(b_matrix, std::vector<int64_t>{static_cast<int64_t>(kK), static_cast<int64_t>(kN)}, 1, bias, bn)
          .ok());
  ExpectNear(gemm(b_matrix, bias), expected, 1e-5F);
}

TEST(FoldBatchNormTest, RejectsMismatchesWithoutTouchingTensors) {
  std::vector<float> weight = {1, 2, 3, 4};
  std::vector<float> bias = {1, 2};
  const std::vector<int64_t> dims = {2, 2};
  const BatchNormParams good{.gamma = {1, 1}, .beta = {0, 0}, .mean = {0, 0}, .var = {1, 1}};

  BatchNormParams short_beta = good;
  short_beta.beta = {0};
  EXPECT_EQ(FoldBatchNorm(weight, dims, 0, bias, short_beta).code(), EqualizationError::kSizeMismatch);

  BatchNormParams three_channels{.gamma = {1, 1, 1}, .beta = {0, 0, 0}, .mean = {0, 0, 0}, .var = {1, 1, 1}};
  const EqualizationStatus channels = FoldBatchNorm(weight, dims, 0, bias, three_channels);
  EXPECT_EQ(channels.code(), EqualizationError::kSizeMismatch);
  EXPECT_NE(channels.message().find("3 channels"), std::string::npos) << channels.message();

  BatchNormParams negative_var = good;
  negative_var.var = {1, -1};
  EXPECT_EQ(FoldBatchNorm(weight, dims, 0, bias, negative_var).code(), EqualizationError::kInvalidValue);

  std::vector<float> long_bias = {1, 2, 3};
  EXPECT_EQ(FoldBatchNorm(weight, dims, 0, long_bias, good).code(), EqualizationError::kSizeMismatch);
  EXPECT_EQ(FoldBatchNorm(weight, dims, 5, bias, good).code(), EqualizationError::kInvalidShape);

  EXPECT_EQ(weight, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(bias, (std::vector<float>{1, 2}));
  EXPECT_EQ(long_bias, (std::vector<float>{1, 2, 3}));
}

TEST(BatchNormAsDepthwiseTest, HandComputed) {
  const BatchNormParams bn{.gamma = {3, -1}, .beta = {0.5F, 2}, .mean = {2, 4}, .var = {4, 0.25F}, .epsilon = 0.0F};
  std::vector<float> weight;
  std::vector<float> bias;
  ASSERT_TRUE(BatchNormAsDepthwise(bn, weight, bias).ok());
  EXPECT_EQ(weight, (std::vector<float>{1.5F, -2}));
  EXPECT_EQ(bias, (std::vector<float>{0.5F - 2 * 1.5F, 2 + 4 * 2}));
}

TEST(BatchNormAsDepthwiseTest, MatchesBatchNormOnRandomInput) {
  std::mt19937 rng(3);
  constexpr std::size_t kChannels = 4;
  constexpr std::size_t kPixels = 6;
  const BatchNormParams bn = RandomBatchNorm(kChannels, rng);
  const std::vector<float> x = RandomVector(kChannels * kPixels, -3.0F, 3.0F, rng);
  std::vector<float> expected = x;
  ApplyBatchNorm(bn, expected);

  std::vector<float> weight;
  std::vector<float> bias;
  ASSERT_TRUE(BatchNormAsDepthwise(bn, weight, bias).ok());
  std::vector<float> actual(x.size());
  for (std::size_t c = 0; c < kChannels; ++c) {
    for (std::size_t p = 0; p < kPixels; ++p) actual[c * kPixels + p] = weight[c] * x[c * kPixels + p] + bias[c];
  }
  ExpectNear(actual, expected, 1e-5F);

  BatchNormParams zero_var = bn;
  zero_var.var[1] = 0.0F;
  zero_var.epsilon = 0.0F;
  EXPECT_EQ(BatchNormAsDepthwise(zero_var, weight, bias).code(), EqualizationError::kInvalidValue);
}

}  // namespace
}  // namespace onnxq
