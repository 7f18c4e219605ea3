#include "algorithms/cross_layer_scales.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "algorithms/batch_norm_fold.h"
#include "testing/random_data.h"

namespace onnxq {
namespace {

using testing::RandomVector;

// Multiplies each slice along `axis` by a random factor in [1/spread, spread] (log-uniform), so that
// per-channel ranges are badly unbalanced and equalization has work to do.
void Unbalance(std::vector<float>& data, const std::vector<int64_t>& dims, int axis, float spread, std::mt19937& rng) {
  std::uniform_real_distribution<float> exponent(-1.0F, 1.0F);
  std::vector<float> factors(static_cast<std::size_t>(dims[static_cast<std::size_t>(axis)]));
  for (float& factor : factors) factor = std::pow(spread, exponent(rng));
  ASSERT_TRUE(ScaleAlongAxis(data, dims, axis, factors).ok());
}

std::vector<float> Relu(std::vector<float> values) {
  for (float& value : values) value = std::max(value, 0.0F);
  return values;
}

// A fully connected layer whose weight is [out, in] (out_axis 0, Gemm transB = 1) or [in, out]
// (out_axis 1, Gemm transB = 0).
struct DenseLayer {
  std::vector<float> weight;
  std::vector<int64_t> dims;
  int out_axis = 0;
  std::vector<float> bias;

  int64_t outputs() const { return dims[static_cast<std::size_t>(out_axis)]; }
  int64_t inputs() const { return dims[static_cast<std::size_t>(1 - out_axis)]; }
  int in_axis() const { return 1 - out_axis; }

  std::vector<float> Forward(const std::vector<float>& x) const {
    const auto out = static_cast<std::size_t>(outputs());
    const auto in = static_cast<std::size_t>(inputs());
    std::vector<float> y(out);
    for (std::size_t o = 0; o < out; ++o) {
      double sum = bias.empty() ? 0.0 : bias[o];
      for (std::size_t i = 0; i < in; ++i) {
        const float w = out_axis == 0 ? weight[o * in + i] : weight[i * out + o];
        sum += static_cast<double>(w) * x[i];
      }
      y[o] = static_cast<float>(sum);
    }
    return y;
  }
};

DenseLayer RandomDense(int64_t outputs, int64_t inputs, int out_axis, std::mt19937& rng) {
  DenseLayer layer;
  layer.out_axis = out_axis;
  layer.dims = out_axis == 0 ? std::vector<int64_t>{outputs, inputs} : std::vector<int64_t>{inputs, outputs};
  layer.weight = RandomVector(static_cast<std::size_t>(outputs * inputs), -1.0F, 1.0F, rng);
  layer.bias = RandomVector(static_cast<std::size_t>(outputs), -0.5F, 0.5F, rng);
  return layer;
}

EqualizedLayer AsHead(DenseLayer& layer) {
  return {.weight = {layer.weight, layer.dims}, .channel_axis = layer.out_axis, .bias = layer.bias};
}
EqualizedLayer AsTail(DenseLayer& layer) {
  return {.weight = {layer.weight, layer.dims}, .channel_axis = layer.in_axis(), .bias = {}};
}

// Valid (unpadded, stride 1) 2-D convolution: x [I, H, W], weight [O, I / groups, KH, KW], bias [O].
struct ConvLayer {
  std::vector<float> weight;
  std::vector<int64_t> dims;
  std::vector<float> bias;
  int64_t groups = 1;

  std::vector<float> Forward(const std::vector<float>& x, int64_t height, int64_t width) const {
    const int64_t out_channels = dims[0];
    const int64_t group_in = dims[1];
    const int64_t kernel_h = dims[2];
    const int64_t kernel_w = dims[3];
    const int64_t group_out = out_channels / groups;
    const int64_t out_h = height - kernel_h + 1;
    const int64_t out_w = width - kernel_w + 1;
    std::vector<float> y(static_cast<std::size_t>(out_channels * out_h * out_w));
    for (int64_t o = 0; o < out_channels; ++o) {
      const int64_t first_input = (o / group_out) * group_in;
      for (int64_t r = 0; r < out_h; ++r) {
        for (int64_t c = 0; c < out_w; ++c) {
          double sum = bias.empty() ? 0.0 : bias[static_cast<std::size_t>(o)];
          for (int64_t i = 0; i < group_in; ++i) {
            for (int64_t u = 0; u < kernel_h; ++u) {
              for (int64_t v = 0; v < kernel_w; ++v) {
                const auto w_index = static_cast<std::size_t>(((o * group_in + i) * kernel_h + u) * kernel_w + v);
                const auto x_index = static_cast<std::size_t>(((first_input + i) * height + r + u) * width + c + v);
                sum += static_cast<double>(weight[w_index]) * x[x_index];
              }
            }
          }
          y[static_cast<std::size_t>((o * out_h + r) * out_w + c)] = static_cast<float>(sum);
        }
      }
    }
    return y;
  }
};

ConvLayer RandomConv(std::vector<int64_t> dims, int64_t groups, std::mt19937& rng) {
  ConvLayer layer;
  std::size_t size = 1;
  for (const int64_t d : dims) size *= static_cast<std::size_t>(d);
  layer.weight = RandomVector(size, -1.0F, 1.0F, rng);
  layer.bias = RandomVector(static_cast<std::size_t>(dims[0]), -0.5F, 0.5F, rng);
  layer.dims = std::move(dims);
  layer.groups = groups;
  return layer;
}

// |actual - expected| <= tolerance * max|expected| element-wise.
void ExpectRelativelyClose(const std::vector<float>& actual, const std::vector<float>& expected, float tolerance) {
  ASSERT_EQ(actual.size(), expected.size());
  float scale = 0.0F;
  for (const float value : expected) scale = std::max(scale, std::fabs(value));
  ASSERT_GT(scale, 0.0F);
  for (std::size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], tolerance * scale) << "index " << i;
  }
}

void ExpectAllNear(const std::vector<float>& actual, const std::vector<float>& expected, float relative) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], relative * std::fabs(expected[i])) << "channel " << i;
  }
}

constexpr PairScaleOptions kNoThreshold{.use_small_range_threshold = false};

// ---------------------------------------------------------------------------------------------------
// PairScales

TEST(PairScalesTest, HandComputed) {
  const std::vector<float> head = {4, 1, 0, 2, 0.1F};
  const std::vector<float> tail = {1, 4, 3, 0, 0.3F};
  // sqrt(1/4), sqrt(4/1), head 0, tail 0, and 0.1 + 0.3 < 0.5.
  EXPECT_EQ(PairScales(head, tail), (std::vector<float>{0.5F, 2, 1, 1, 1}));
  const std::vector<float> unthresholded = PairScales(head, tail, kNoThreshold);
  ASSERT_EQ(unthresholded.size(), 5U);
  EXPECT_FLOAT_EQ(unthresholded[4], std::sqrt(3.0F));
  // The threshold is strict and configurable.
  EXPECT_FLOAT_EQ(PairScales(head, tail, {.small_range_threshold = 0.4F})[4], std::sqrt(3.0F));
  EXPECT_EQ(PairScales(head, tail, {.small_range_threshold = 0.41F})[4], 1.0F);
  // Exactly at the threshold (0.125 + 0.375 = 0.5) the channel is scaled.
  EXPECT_FLOAT_EQ(PairScales(std::vector<float>{0.125F}, std::vector<float>{0.375F})[0], std::sqrt(3.0F));
}

TEST(PairScalesTest, UnusableRangesGiveOne) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(PairScales(std::vector<float>{inf, nan, 1, 1}, std::vector<float>{1, 1, inf, nan}),
            (std::vector<float>{1, 1, 1, 1}));
}

TEST(PairScalesTest, SizeMismatchGivesEmpty) {
  EXPECT_TRUE(PairScales(std::vector<float>{1, 2}, std::vector<float>{1}).empty());
}

// ---------------------------------------------------------------------------------------------------
// HeadRangeWithBias / BiasShrinkFactor

TEST(HeadRangeWithBiasTest, HandComputedSmallBias) {
  // W [2, 2] (rows are output channels), b = [3, -1.6]. Element factors |b_i| / |W_ij|:
  // 3/1, 3/2, 1.6/0.5, 1.6/0.25 = 3, 1.5, 3.2, 6.4; median 3.1, mean 3.525. max|b| = 3 < 10 and
  // 3 / max|W| = 1.5 < 20, median <= 100, mean <= 1000 -> shrink 2.
  const std::vector<float> weight = {1, -2, 0.5F, 0.25F};
  const std::vector<int64_t> dims = {2, 2};
  const std::vector<float> bias = {3, -1.6F};
  EXPECT_EQ(BiasShrinkFactor(weight, dims, 0, bias), 2.0F);
  // Channel 0: max(2, 3/2) = 2. Channel 1: max(0.5, 1.6/2) = 0.8.
  EXPECT_EQ(HeadRangeWithBias(weight, dims, 0, bias), (std::vector<float>{2, 0.8F}));
  // No bias: the plain weight range.
  EXPECT_EQ(HeadRangeWithBias(weight, dims, 0, {}), (std::vector<float>{2, 0.5F}));
  // Output channels on axis 1 (Gemm B [K, N], transB = 0): columns are channels.
  const std::vector<float> transposed = {1, 0.5F, -2, 0.25F};
  EXPECT_EQ(HeadRangeWithBias(transposed, dims, 1, bias), (std::vector<float>{2, 0.8F}));
  EXPECT_TRUE(HeadRangeWithBias(weight, dims, 0, std::vector<float>{1, 2, 3}).empty());
}

TEST(BiasShrinkFactorTest, SmallBiasWithLargeMedianGivesFive) {
  // factors 1, 1000, 1000, 1000: median 1000 > 100; max|b| = 1 and 1 / max|W| = 1 < 20.
  EXPECT_EQ(BiasShrinkFactor(std::vector<float>{1, 0.001F, 0.001F, 0.001F}, std::vector<int64_t>{1, 4}, 0,
                             std::vector<float>{1}),
            5.0F);
}

TEST(BiasShrinkFactorTest, LargeBiasBranches) {
  const std::vector<int64_t> dims = {1, 2};
  const std::vector<float> ones = {1, 1};
  // max|b| >= 10: factors 10, 10 -> median 10, mean 10 -> 5.
  EXPECT_EQ(BiasShrinkFactor(ones, dims, 0, std::vector<float>{10}), 5.0F);
  // median 20 > 15 -> 10.
  EXPECT_EQ(BiasShrinkFactor(ones, dims, 0, std::vector<float>{20}), 10.0F);
  // median 40 > 30 -> 20.
  EXPECT_EQ(BiasShrinkFactor(ones, dims, 0, std::vector<float>{-40}), 20.0F);
  // Through the mean alone: factors 10, 10, 1000 -> median 10, mean 340 > 100 -> 10.
  EXPECT_EQ(BiasShrinkFactor(std::vector<float>{1, 1, 0.01F}, std::vector<int64_t>{1, 3}, 0, std::vector<float>{10}),
            10.0F);
  // Small max|b| but max|b| / max|W| >= 20 also takes the second branch: factors 200, 200 -> 20.
  EXPECT_EQ(BiasShrinkFactor(std::vector<float>{0.01F, 0.01F}, dims, 0, std::vector<float>{2}), 20.0F);
}

TEST(BiasShrinkFactorTest, MedianOfAnEvenCountAveragesTheMiddlePair) {
  // Two channels with one unit weight each: factors are the biases. max|b| = 22 -> second branch, mean 16.
  const std::vector<float> weight = {1, 1};
  const std::vector<int64_t> dims = {2, 1};
  EXPECT_EQ(BiasShrinkFactor(weight, dims, 0, std::vector<float>{10, 22}), 10.0F);  // median 16 > 15
  EXPECT_EQ(BiasShrinkFactor(weight, dims, 0, std::vector<float>{8, 22}), 5.0F);    // median 15, not > 15
}

TEST(BiasShrinkFactorTest, ZeroWeightsAreReplaced) {
  // Channel 0 is all zero: its bias counts as 0 and its weights as 1e-7 (factors 0, 0). Channel 1:
  // factors 1/1 = 1, 1/2 = 0.5. max|b| = 100 (original bias) -> second branch; median 0.25, mean 0.375
  // -> 5. Channel 0 keeps range 0 (its bias is not appended), channel 1: max(2, 1/5).
  const std::vector<float> weight = {0, 0, 1, 2};
  const std::vector<int64_t> dims = {2, 2};
  const std::vector<float> bias = {100, 1};
  EXPECT_EQ(BiasShrinkFactor(weight, dims, 0, bias), 5.0F);
  EXPECT_EQ(HeadRangeWithBias(weight, dims, 0, bias), (std::vector<float>{0, 2}));

  // A zero inside a channel becomes that channel's smallest nonzero magnitude: factors 8/0.5, 8/0.5,
  // 8/4 = 16, 16, 2 -> median 16 > 15 with max|b| = 8 < 10 but 8 / 4 = 2 < 20 -> first branch, 2.
  // Were the zero replaced by 1e-7 instead, the mean would be ~2.7e7 > 1000 and the result 5.
  EXPECT_EQ(BiasShrinkFactor(std::vector<float>{0, 0.5F, -4}, std::vector<int64_t>{1, 3}, 0, std::vector<float>{8}),
            2.0F);
}

// ---------------------------------------------------------------------------------------------------
// ApplyPairScales

TEST(ApplyPairScalesTest, HandComputed) {
  std::vector<float> head = {4, -2, 1, 0.5F};  // [2, 2], rows are output channels, ranges 4, 1
  std::vector<float> head_bias = {1, 1};
  std::vector<float> tail = {1, 4, -0.5F, 2};  // [2, 2], columns are input channels, ranges 1, 4
  const std::vector<float> scales = PairScales(std::vector<float>{4, 1}, std::vector<float>{1, 4});
  ASSERT_EQ(scales, (std::vector<float>{0.5F, 2}));
  ASSERT_TRUE(ApplyPairScales({.weight = {head, {2, 2}}, .channel_axis = 0, .bias = head_bias},
                              {.weight = {tail, {2, 2}}, .channel_axis = 1}, scales)
                  .ok());
  EXPECT_EQ(head, (std::vector<float>{2, -1, 2, 1}));
  EXPECT_EQ(head_bias, (std::vector<float>{0.5F, 2}));
  EXPECT_EQ(tail, (std::vector<float>{2, 2, -1, 1}));
}

TEST(ApplyPairScalesTest, EqualizesRangesAndPreservesDenseChain) {
  for (const int out_axis : {0, 1}) {
    SCOPED_TRACE("out_axis " + std::to_string(out_axis));
    std::mt19937 rng(42 + static_cast<unsigned>(out_axis));
    DenseLayer head = RandomDense(6, 5, out_axis, rng);
    DenseLayer tail = RandomDense(3, 6, out_axis, rng);
    Unbalance(head.weight, head.dims, head.out_axis, 30.0F, rng);
    Unbalance(tail.weight, tail.dims, tail.in_axis(), 30.0F, rng);
    std::vector<std::vector<float>> inputs;
    std::vector<std::vector<float>> expected;
    for (int sample = 0; sample < 8; ++sample) {
      inputs.push_back(RandomVector(5, -2.0F, 2.0F, rng));
      expected.push_back(tail.Forward(Relu(head.Forward(inputs.back()))));
    }

    const std::vector<float> head_range = AbsMaxAlongAxis(head.weight, head.dims, head.out_axis);
    const std::vector<float> tail_range = AbsMaxAlongAxis(tail.weight, tail.dims, tail.in_axis());
    const std::vector<float> scales = PairScales(head_range, tail_range, kNoThreshold);
    ASSERT_TRUE(ApplyPairScales(AsHead(head), AsTail(tail), scales).ok());

    std::vector<float> geometric_mean(head_range.size());
    for (std::size_t i = 0; i < geometric_mean.size(); ++i) {
      geometric_mean[i] = std::sqrt(head_range[i] * tail_range[i]);
    }
    ExpectAllNear(AbsMaxAlongAxis(head.weight, head.dims, head.out_axis), geometric_mean, 1e-6F);
    ExpectAllNear(AbsMaxAlongAxis(tail.weight, tail.dims, tail.in_axis()), geometric_mean, 1e-6F);
    for (std::size_t sample = 0; sample < inputs.size(); ++sample) {
      ExpectRelativelyClose(tail.Forward(Relu(head.Forward(inputs[sample]))), expected[sample], 1e-5F);
    }
  }
}

TEST(ApplyPairScalesTest, PreservesConvChain) {
  // Conv [4, 2, 3, 3] -> Relu -> Conv [3, 4, 3, 3] on a [2, 7, 7] input.
  std::mt19937 rng(5);
  ConvLayer head = RandomConv({4, 2, 3, 3}, 1, rng);
  ConvLayer tail = RandomConv({3, 4, 3, 3}, 1, rng);
  Unbalance(head.weight, head.dims, 0, 20.0F, rng);
  Unbalance(tail.weight, tail.dims, 1, 20.0F, rng);
  const std::vector<float> x = RandomVector(std::size_t{2 * 7 * 7}, -1.0F, 1.0F, rng);
  const std::vector<float> expected = tail.Forward(Relu(head.Forward(x, 7, 7)), 5, 5);

  const std::vector<float> head_range = HeadRangeWithBias(head.weight, head.dims, 0, head.bias);
  const std::vector<float> tail_range = AbsMaxAlongAxis(tail.weight, tail.dims, 1);
  const std::vector<float> scales = PairScales(head_range, tail_range);
  ASSERT_TRUE(ApplyPairScales({.weight = {head.weight, head.dims}, .channel_axis = 0, .bias = head.bias},
                              {.weight = {tail.weight, tail.dims}, .channel_axis = 1}, scales)
                  .ok());
  EXPECT_TRUE(std::any_of(scales.begin(), scales.end(), [](float s) { return std::fabs(s - 1.0F) > 0.1F; }));
  ExpectRelativelyClose(tail.Forward(Relu(head.Forward(x, 7, 7)), 5, 5), expected, 1e-5F);
}

TEST(ApplyPairScalesTest, DepthwiseTailUsesItsChannelAxis) {
  // Head rows [3, 1] ranges 4, 1; depthwise tail [3, 1, 1, 2] ranges 1, 4, 9 along axis 0.
  std::vector<float> head = {4, 1, -1, 1, 2, -2};
  std::vector<float> tail = {1, 0.5F, -4, 2, 9, 3};
  const std::vector<int64_t> head_dims = {3, 2};
  const std::vector<int64_t> tail_dims = {3, 1, 1, 2};
  const std::vector<float> head_range = AbsMaxAlongAxis(head, head_dims, 0);
  const std::vector<float> tail_range = AbsMaxAlongAxis(tail, tail_dims, 0);
  ASSERT_EQ(tail_range, (std::vector<float>{1, 4, 9}));
  const std::vector<float> scales = PairScales(head_range, tail_range);
  ASSERT_TRUE(ApplyPairScales({.weight = {head, head_dims}, .channel_axis = 0},
                              {.weight = {tail, tail_dims}, .channel_axis = 0}, scales)
                  .ok());
  // sqrt(4 * 1) = 2, sqrt(1 * 4) = 2, sqrt(2 * 9) = sqrt(18).
  const std::vector<float> equal = {2, 2, std::sqrt(18.0F)};
  ExpectAllNear(AbsMaxAlongAxis(head, head_dims, 0), equal, 1e-6F);
  ExpectAllNear(AbsMaxAlongAxis(tail, tail_dims, 0), equal, 1e-6F);
}

TEST(ApplyPairScalesTest, RejectsMismatchesWithoutTouchingTensors) {
  std::vector<float> head = {1, 2, 3, 4, 5, 6};  // [3, 2]
  std::vector<float> head_bias = {1, 2, 3};
  std::vector<float> tail = {1, 2, 3, 4};  // [2, 2]
  const std::vector<float> head_copy = head;
  const std::vector<float> tail_copy = tail;
  const EqualizedLayer head_layer{.weight = {head, {3, 2}}, .channel_axis = 0, .bias = head_bias};

  const EqualizationStatus channels =
      ApplyPairScales(head_layer, {.weight = {tail, {2, 2}}, .channel_axis = 1}, std::vector<float>{1, 1, 1});
  EXPECT_EQ(channels.code(), EqualizationError::kSizeMismatch);
  EXPECT_NE(channels.message().find("head output has 3 channels but tail input has 2"), std::string::npos)
      << channels.message();

  const EqualizedLayer tail_layer{.weight = {head, {2, 3}}, .channel_axis = 1};  // 3 input channels
  EXPECT_EQ(ApplyPairScales(head_layer, tail_layer, std::vector<float>{1, 1}).code(), EqualizationError::kSizeMismatch);
  EXPECT_EQ(ApplyPairScales(head_layer, tail_layer, std::vector<float>{1, 0, 1}).code(),
            EqualizationError::kInvalidValue);
  EXPECT_EQ(ApplyPairScales({.weight = {head, {3, 2}}, .channel_axis = 0, .bias = std::span<float>(head_bias).first(2)},
                            tail_layer, std::vector<float>{1, 1, 1})
                .code(),
            EqualizationError::kSizeMismatch);
  EXPECT_EQ(
      ApplyPairScales({.weight = {head, {3, 3}}, .channel_axis = 0}, tail_layer, std::vector<float>{1, 1, 1}).code(),
      EqualizationError::kSizeMismatch);
  EXPECT_EQ(head, head_copy);
  EXPECT_EQ(tail, tail_copy);
  EXPECT_EQ(head_bias, (std::vector<float>{1, 2, 3}));
}

// ---------------------------------------------------------------------------------------------------
// Triplets

TEST(TripletScalesTest, HandComputed) {
  // Channel 0: c = cbrt(8 * 1 * 1) = 2, s12 = 8 / 2 = 4, s23 = 2 / 1 = 2.
  // Channel 1: head range 0 -> c = 0 -> s12 = 0/0, s23 = 0 -> both 1.
  // Channel 2: all equal -> 1, 1.
  const TripletScaleFactors scales =
      TripletScales(std::vector<float>{8, 0, 2}, std::vector<float>{1, 5, 2}, std::vector<float>{1, 3, 2});
  ASSERT_EQ(scales.s12.size(), 3U);
  EXPECT_FLOAT_EQ(scales.s12[0], 4.0F);
  EXPECT_FLOAT_EQ(scales.s23[0], 2.0F);
  EXPECT_EQ(scales.s12[1], 1.0F);
  EXPECT_EQ(scales.s23[1], 1.0F);
  EXPECT_FLOAT_EQ(scales.s12[2], 1.0F);
  EXPECT_FLOAT_EQ(scales.s23[2], 1.0F);
  // Tail range 0 -> s12 = m0 / 0 = inf and s23 = 0 / 0: both 1.
  const TripletScaleFactors zero_tail =
      TripletScales(std::vector<float>{2}, std::vector<float>{3}, std::vector<float>{0});
  EXPECT_EQ(zero_tail.s12, (std::vector<float>{1}));
  EXPECT_EQ(zero_tail.s23, (std::vector<float>{1}));
  EXPECT_TRUE(TripletScales(std::vector<float>{1}, std::vector<float>{1, 2}, std::vector<float>{1}).s12.empty());
}

TEST(TripletScalesTest, OutputScalesAreTheReciprocals) {
  // The head is divided by s12 and the depthwise layer's output by s23.
  const TripletOutputScales scales = OutputScalesOf({.s12 = {4, 0.5F}, .s23 = {2, 1}});
  EXPECT_EQ(scales.head, (std::vector<float>{0.25F, 2}));
  EXPECT_EQ(scales.depthwise, (std::vector<float>{0.5F, 1}));
}

TEST(ApplyTripletScalesTest, EqualizesRangesAndPreservesChain) {
  // 1x1 Conv [C, Cin] -> Relu -> depthwise 1x1 Conv [C, 1, 1, 1] -> Relu -> 1x1 Conv [Cout, C], on single
  // pixels: the 1x1 convs are dense layers (output channel axis 0) and the depthwise one a per-channel
  // multiply-add.
  constexpr int64_t kIn = 3;
  constexpr int64_t kChannels = 5;
  constexpr int64_t kOut = 2;
  std::mt19937 rng(9);
  DenseLayer head = RandomDense(kChannels, kIn, 0, rng);
  std::vector<float> depthwise = RandomVector(kChannels, 0.05F, 3.0F, rng);
  std::vector<float> depthwise_bias = RandomVector(kChannels, -0.5F, 0.5F, rng);
  const std::vector<int64_t> depthwise_dims = {kChannels, 1, 1, 1};
  DenseLayer tail = RandomDense(kOut, kChannels, 0, rng);
  depthwise[1] = -depthwise[1];
  Unbalance(head.weight, head.dims, 0, 30.0F, rng);
  Unbalance(tail.weight, tail.dims, 1, 30.0F, rng);

  const auto forward = [&](const std::vector<float>& x) {
    std::vector<float> hidden = Relu(head.Forward(x));
    for (std::size_t i = 0; i < hidden.size(); ++i) hidden[i] = hidden[i] * depthwise[i] + depthwise_bias[i];
    return tail.Forward(Relu(hidden));
  };
  std::vector<std::vector<float>> inputs;
  std::vector<std::vector<float>> expected;
  for (int sample = 0; sample < 8; ++sample) {
    inputs.push_back(RandomVector(kIn, -2.0F, 2.0F, rng));
    expected.push_back(forward(inputs.back()));
  }

  const std::vector<float> m0 = AbsMaxAlongAxis(head.weight, head.dims, 0);
  const std::vector<float> m1 = AbsMaxAlongAxis(depthwise, depthwise_dims, 0);
  const std::vector<float> m2 = AbsMaxAlongAxis(tail.weight, tail.dims, 1);
  const TripletScaleFactors scales = TripletScales(m0, m1, m2);
  ASSERT_TRUE(ApplyTripletScales(AsHead(head),
                                 {.weight = {depthwise, depthwise_dims}, .channel_axis = 0, .bias = depthwise_bias},
                                 AsTail(tail), scales)
                  .ok());

  std::vector<float> c(m0.size());
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = std::cbrt(m0[i] * m1[i] * m2[i]);
  ExpectAllNear(AbsMaxAlongAxis(head.weight, head.dims, 0), c, 1e-5F);
  ExpectAllNear(AbsMaxAlongAxis(depthwise, depthwise_dims, 0), c, 1e-5F);
  ExpectAllNear(AbsMaxAlongAxis(tail.weight, tail.dims, 1), c, 1e-5F);
  for (std::size_t sample = 0; sample < inputs.size(); ++sample) {
    ExpectRelativelyClose(forward(inputs[sample]), expected[sample], 1e-5F);
  }
}

TEST(ApplyTripletScalesTest, RejectsMismatchedDepthwise) {
  std::vector<float> head = {1, 2, 3, 4};
  std::vector<float> depthwise = {1, 2, 3};
  std::vector<float> tail = {1, 2, 3, 4};
  const TripletScaleFactors scales{.s12 = {1, 1}, .s23 = {1, 1}};
  const EqualizationStatus status = ApplyTripletScales({.weight = {head, {2, 2}}, .channel_axis = 0},
                                                       {.weight = {depthwise, {3, 1, 1, 1}}, .channel_axis = 0},
                                                       {.weight = {tail, {2, 2}}, .channel_axis = 1}, scales);
  EXPECT_EQ(status.code(), EqualizationError::kSizeMismatch);
  EXPECT_EQ(head, (std::vector<float>{1, 2, 3, 4}));
}

// ---------------------------------------------------------------------------------------------------
// Stopping rule

TEST(MeanAbsDifferenceTest, HandComputed) {
  EXPECT_DOUBLE_EQ(MeanAbsDifference(std::vector<float>{1, 2, 3}, std::vector<float>{1, 0, 4}), 1.0);
  EXPECT_EQ(MeanAbsDifference({}, {}), 0.0);
  EXPECT_TRUE(std::isnan(MeanAbsDifference(std::vector<float>{1}, std::vector<float>{1, 2})));
}

TEST(CleConvergenceTest, DefaultRunsOneStep) {
  CleConvergence convergence;
  ASSERT_TRUE(convergence.ShouldContinue());
  convergence.RecordStep(0.5);
  EXPECT_FALSE(convergence.ShouldContinue());
  EXPECT_EQ(convergence.StopReason(), CleStopReason::kStepLimit);
  EXPECT_EQ(convergence.steps(), 1);
}

TEST(CleConvergenceTest, ZeroStepsRunsNothing) {
  const CleConvergence convergence({.max_steps = 0});
  EXPECT_FALSE(convergence.ShouldContinue());
  EXPECT_EQ(convergence.StopReason(), CleStopReason::kStepLimit);
}

TEST(CleConvergenceTest, AdaptiveStopsBelowThreshold) {
  CleConvergence convergence({.max_steps = kAdaptiveCleSteps});
  const std::vector<double> diffs = {1e-3, 1e-4, 3e-7, 1.5e-7, 1e-9};
  int steps = 0;
  while (convergence.ShouldContinue()) convergence.RecordStep(diffs[static_cast<std::size_t>(steps++)]);
  EXPECT_EQ(steps, 4);
  EXPECT_EQ(convergence.StopReason(), CleStopReason::kConverged);
  EXPECT_EQ(convergence.reference_diff(), 1.5e-7);
}

TEST(CleConvergenceTest, StopsAfterTwentyStagnantSteps) {
  CleConvergence convergence({.max_steps = kAdaptiveCleSteps});
  int steps = 0;
  while (convergence.ShouldContinue() && steps < 100) {
    // Changes of 1e-10 per step are within the 1e-9 stagnation tolerance.
    convergence.RecordStep(1e-3 + 1e-10 * (steps % 2));
    ++steps;
  }
  // The first step sets the reference, the next 20 are stagnant.
  EXPECT_EQ(steps, 21);
  EXPECT_EQ(convergence.StopReason(), CleStopReason::kStagnated);
  EXPECT_EQ(convergence.stagnant_steps(), 20);
}

TEST(CleConvergenceTest, StagnationComparesWithLastNonStagnantDiff) {
  CleConvergence convergence({.max_steps = kAdaptiveCleSteps});
  convergence.RecordStep(1e-3);
  convergence.RecordStep(1e-3 + 0.6e-9);  // within tolerance of 1e-3: stagnant, reference stays 1e-3
  EXPECT_EQ(convergence.stagnant_steps(), 1);
  EXPECT_EQ(convergence.reference_diff(), 1e-3);
  convergence.RecordStep(1e-3 + 1.2e-9);  // 1.2e-9 from the reference (0.6e-9 from the last step): resets
  EXPECT_EQ(convergence.stagnant_steps(), 0);
  EXPECT_EQ(convergence.reference_diff(), 1e-3 + 1.2e-9);
}

TEST(CleConvergenceTest, CapsAtMaxSteps) {
  CleConvergence convergence({.max_steps = 5});
  int steps = 0;
  while (convergence.ShouldContinue()) convergence.RecordStep(1.0 / ++steps);
  EXPECT_EQ(steps, 5);
  EXPECT_EQ(convergence.StopReason(), CleStopReason::kStepLimit);
}

TEST(CleConvergenceTest, AdaptiveHasASafetyCap) {
  CleConvergence convergence({.max_steps = kAdaptiveCleSteps, .max_adaptive_steps = 7});
  int steps = 0;
  while (convergence.ShouldContinue()) convergence.RecordStep(++steps % 2 == 0 ? 1.0 : 2.0);  // oscillates
  EXPECT_EQ(steps, 7);
  EXPECT_EQ(convergence.StopReason(), CleStopReason::kStepLimit);
}

TEST(CleConvergenceTest, IteratedPairsOnAThreeLayerChainConverge) {
  // Dense 4 -> 6 -> 5 -> 2 with Relus: pairs (0, 1) and (1, 2) share layer 1, so one pass does not
  // balance both and the adaptive loop iterates until the weights stop moving.
  std::mt19937 rng(2024);
  std::vector<DenseLayer> layers = {RandomDense(6, 4, 0, rng), RandomDense(5, 6, 0, rng), RandomDense(2, 5, 0, rng)};
  for (DenseLayer& layer : layers) {
    Unbalance(layer.weight, layer.dims, 0, 10.0F, rng);
    Unbalance(layer.weight, layer.dims, 1, 10.0F, rng);
  }
  const auto forward = [&](const std::vector<float>& x) {
    return layers[2].Forward(Relu(layers[1].Forward(Relu(layers[0].Forward(x)))));
  };
  const std::vector<float> x = RandomVector(4, -1.0F, 1.0F, rng);
  const std::vector<float> expected = forward(x);

  CleConvergence convergence({.max_steps = kAdaptiveCleSteps});
  while (convergence.ShouldContinue()) {
    const std::vector<DenseLayer> before = layers;
    for (std::size_t pair = 0; pair + 1 < layers.size(); ++pair) {
      DenseLayer& head = layers[pair];
      DenseLayer& tail = layers[pair + 1];
      const std::vector<float> scales = PairScales(AbsMaxAlongAxis(head.weight, head.dims, 0),
                                                   AbsMaxAlongAxis(tail.weight, tail.dims, 1), kNoThreshold);
      ASSERT_TRUE(ApplyPairScales(AsHead(head), AsTail(tail), scales).ok());
    }
    double total_diff = 0.0;
    for (std::size_t l = 0; l < layers.size(); ++l) total_diff += MeanAbsDifference(before[l].weight, layers[l].weight);
    convergence.RecordStep(total_diff);
  }
  EXPECT_EQ(convergence.StopReason(), CleStopReason::kConverged);
  EXPECT_GT(convergence.steps(), 2);
  EXPECT_LT(convergence.steps(), 200);
  // Converged: both pairs are balanced at once.
  for (std::size_t pair = 0; pair + 1 < layers.size(); ++pair) {
    ExpectAllNear(AbsMaxAlongAxis(layers[pair].weight, layers[pair].dims, 0),
                  AbsMaxAlongAxis(layers[pair + 1].weight, layers[pair + 1].dims, 1), 1e-3F);
  }
  ExpectRelativelyClose(forward(x), expected, 1e-5F);
}

}  // namespace
}  // namespace onnxq
