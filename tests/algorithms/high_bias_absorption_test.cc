#include "algorithms/high_bias_absorption.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "algorithms/batch_norm_fold.h"
#include "testing/random_data.h"

namespace onnxq {
namespace {

using testing::RandomVector;

// A two-layer network on 1-D signals, x [In, L]:
//   h = head(x): 1x1 Conv, head_weight [C, In], per position
//   y = tail(relu(h)): Conv with weight [Out, C / groups, 1, K], groups 1 (dense) or C (depthwise), valid.
struct TwoLayerNet {
  int64_t in = 0;
  int64_t channels = 0;
  int64_t out = 0;
  int64_t kernel = 0;
  int64_t groups = 1;
  std::vector<float> head_weight;
  std::vector<float> head_bias;
  std::vector<float> tail_weight;
  std::vector<float> tail_bias;

  std::vector<int64_t> TailDims() const { return {out, channels / groups, 1, kernel}; }

  std::vector<float> PreActivation(const std::vector<float>& x, int64_t length) const {
    std::vector<float> h(static_cast<std::size_t>(channels * length));
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t p = 0; p < length; ++p) {
        double sum = head_bias[static_cast<std::size_t>(c)];
        for (int64_t i = 0; i < in; ++i) {
          sum += static_cast<double>(head_weight[static_cast<std::size_t>(c * in + i)]) *
                 x[static_cast<std::size_t>(i * length + p)];
        }
        h[static_cast<std::size_t>(c * length + p)] = static_cast<float>(sum);
      }
    }
    return h;
  }

  std::vector<float> Forward(const std::vector<float>& x, int64_t length) const {
    std::vector<float> activation = PreActivation(x, length);
    for (float& value : activation) value = std::max(value, 0.0F);
    const int64_t out_length = length - kernel + 1;
    const int64_t group_in = channels / groups;
    const int64_t group_out = out / groups;
    std::vector<float> y(static_cast<std::size_t>(out * out_length));
    for (int64_t o = 0; o < out; ++o) {
      const int64_t first_channel = (o / group_out) * group_in;
      for (int64_t q = 0; q < out_length; ++q) {
        double sum = tail_bias.empty() ? 0.0 : tail_bias[static_cast<std::size_t>(o)];
        for (int64_t i = 0; i < group_in; ++i) {
          for (int64_t v = 0; v < kernel; ++v) {
            sum += static_cast<double>(tail_weight[static_cast<std::size_t>((o * group_in + i) * kernel + v)]) *
                   activation[static_cast<std::size_t>((first_channel + i) * length + q + v)];
          }
        }
        y[static_cast<std::size_t>(o * out_length + q)] = static_cast<float>(sum);
      }
    }
    return y;
  }
};

// Head pre-activations are b1 + W1 x with |W1 x| <= 3 * 0.2 = 0.6 for x in [-1, 1]^3, and the BN
// statistics say h ~ N(b1, gamma^2) with gamma = 0.2 (beta = b1). So c = max(0, b1 - 0.6) <= h always.
TwoLayerNet MakeNet(int64_t out, int64_t groups, std::mt19937& rng) {
  TwoLayerNet net;
  net.in = 3;
  net.channels = 4;
  net.out = out;
  net.kernel = 2;
  net.groups = groups;
  net.head_weight = RandomVector(12, -0.2F, 0.2F, rng);
  net.head_bias = {2.0F, 0.5F, 3.0F, -1.0F};
  net.tail_weight = RandomVector(static_cast<std::size_t>(out * (4 / groups) * 2), -1.0F, 1.0F, rng);
  net.tail_bias = RandomVector(static_cast<std::size_t>(out), -0.5F, 0.5F, rng);
  return net;
}

const std::vector<float> kGamma = {0.2F, 0.2F, 0.2F, 0.2F};

void ExpectRelativelyClose(const std::vector<float>& actual, const std::vector<float>& expected, float tolerance) {
  ASSERT_EQ(actual.size(), expected.size());
  float scale = 0.0F;
  for (const float value : expected) scale = std::max(scale, std::fabs(value));
  ASSERT_GT(scale, 0.0F);
  for (std::size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], tolerance * scale) << "index " << i;
  }
}

TEST(AbsorbableBiasTest, HandComputed) {
  const std::vector<float> beta = {5, 1, 2};
  const std::vector<float> gamma = {1, 1, -0.5F};
  // max(0, 5 - 3), max(0, 1 - 3), max(0, 2 - 1.5): |gamma| is used.
  EXPECT_EQ(AbsorbableBias(beta, gamma), (std::vector<float>{2, 0, 0.5F}));
  EXPECT_EQ(AbsorbableBias(beta, gamma, {.activation = ActivationBetween::kNone}), beta);
  EXPECT_EQ(AbsorbableBias(beta, gamma, {.num_std = 1.0F}), (std::vector<float>{4, 0, 1.5F}));
  EXPECT_TRUE(AbsorbableBias(beta, std::vector<float>{1}).empty());
}

TEST(ScaleBatchNormStatsTest, MultipliesByTheHeadOutputScale) {
  std::vector<float> gamma = {1, -2};
  std::vector<float> beta = {3, 4};
  ASSERT_TRUE(ScaleBatchNormStats(gamma, beta, std::vector<float>{2, 0.5F}).ok());
  EXPECT_EQ(gamma, (std::vector<float>{2, -1}));
  EXPECT_EQ(beta, (std::vector<float>{6, 2}));
  EXPECT_EQ(ScaleBatchNormStats(gamma, beta, std::vector<float>{2}).code(), EqualizationError::kSizeMismatch);
  EXPECT_EQ(gamma, (std::vector<float>{2, -1}));
}

TEST(ScaleBatchNormStatsTest, AbsorbedAmountFollowsThePairScale) {
  // After CLE multiplied the head's channels by s, its pre-activations are s * h, so with s > 0 the
  // absorbable amount is s * c.
  std::vector<float> beta = {6, 1, 3};
  std::vector<float> gamma = {1, 0.5F, 0.5F};
  const std::vector<float> scales = {2, 4, 0.5F};
  const std::vector<float> before = AbsorbableBias(beta, gamma);
  ASSERT_EQ(before, (std::vector<float>{3, 0, 1.5F}));
  ASSERT_TRUE(ScaleBatchNormStats(gamma, beta, scales).ok());
  EXPECT_EQ(AbsorbableBias(beta, gamma), (std::vector<float>{6, 0, 0.75F}));
}

TEST(ShiftBatchNormMeansTest, TheOutputMeanMovesDownByTheAbsorbedBias) {
  std::vector<float> beta = {3, 0.5F, -1};
  ASSERT_TRUE(ShiftBatchNormMeans(beta, std::vector<float>{1.5F, 0, 0}).ok());
  EXPECT_EQ(beta, (std::vector<float>{1.5F, 0.5F, -1}));
  EXPECT_EQ(ShiftBatchNormMeans(beta, std::vector<float>{1}).code(), EqualizationError::kSizeMismatch);
  EXPECT_EQ(beta, (std::vector<float>{1.5F, 0.5F, -1}));
}

TEST(AbsorbHighBiasTest, DenseHandComputed) {
  std::vector<float> head_bias = {5, 3};
  std::vector<float> tail_bias = {0, 1};
  const std::vector<float> tail_weight = {1, 2, 3, 4};  // [O=2, I=2]
  ASSERT_TRUE(
      AbsorbHighBias(std::vector<float>{2, 1}, head_bias, tail_weight, std::vector<int64_t>{2, 2}, {}, tail_bias).ok());
  EXPECT_EQ(head_bias, (std::vector<float>{3, 2}));
  // b2 += W2 c = [1*2 + 2*1, 3*2 + 4*1].
  EXPECT_EQ(tail_bias, (std::vector<float>{4, 11}));
}

TEST(AbsorbHighBiasTest, ConvTailSumsOverTheKernelAndCreatesItsBias) {
  std::vector<float> head_bias = {1, 2};
  std::vector<float> tail_bias;
  const std::vector<float> tail_weight = {1, 2, 3, -1};  // [O=1, I=2, 1, 2]: spatial sums 3, 2
  ASSERT_TRUE(
      AbsorbHighBias(std::vector<float>{1, 2}, head_bias, tail_weight, std::vector<int64_t>{1, 2, 1, 2}, {}, tail_bias)
          .ok());
  EXPECT_EQ(head_bias, (std::vector<float>{0, 0}));
  EXPECT_EQ(tail_bias, (std::vector<float>{3 * 1 + 2 * 2}));
}

TEST(AbsorbHighBiasTest, DepthwiseHandComputed) {
  std::vector<float> head_bias = {1, 2};
  std::vector<float> tail_bias = {0, 0};
  const std::vector<float> tail_weight = {1, 2, 3, -1};  // [C=2, 1, 1, 2]: spatial sums 3, 2
  ASSERT_TRUE(AbsorbHighBias(std::vector<float>{1, 2}, head_bias, tail_weight, std::vector<int64_t>{2, 1, 1, 2},
                             {.kind = TailKind::kDepthwise}, tail_bias)
                  .ok());
  EXPECT_EQ(head_bias, (std::vector<float>{0, 0}));
  EXPECT_EQ(tail_bias, (std::vector<float>{3, 4}));
}

TEST(AbsorbHighBiasTest, GemmTailWithoutTranspose) {
  // B [K=2, N=3]: the input channel is axis 0, the output channel axis 1.
  std::vector<float> head_bias = {4, 4};
  std::vector<float> tail_bias = {1, 2, 3};
  const std::vector<float> tail_weight = {1, 2, 3, 4, 5, 6};
  ASSERT_TRUE(AbsorbHighBias(std::vector<float>{1, 2}, head_bias, tail_weight, std::vector<int64_t>{2, 3},
                             {.in_axis = 0, .out_axis = 1}, tail_bias)
                  .ok());
  EXPECT_EQ(head_bias, (std::vector<float>{3, 2}));
  EXPECT_EQ(tail_bias, (std::vector<float>{1 + 1 + 8, 2 + 2 + 10, 3 + 3 + 12}));
}

TEST(AbsorbHighBiasTest, PreservesFunctionWhenPreActivationsStayAboveC) {
  for (const int64_t groups : {int64_t{1}, int64_t{4}}) {
    SCOPED_TRACE(groups == 1 ? "dense tail" : "depthwise tail");
    std::mt19937 rng(17 + static_cast<unsigned>(groups));
    TwoLayerNet net = MakeNet(/*out=*/4, groups, rng);
    constexpr int64_t kLength = 5;
    std::vector<std::vector<float>> inputs;
    std::vector<std::vector<float>> expected;
    for (int sample = 0; sample < 6; ++sample) {
      inputs.push_back(RandomVector(static_cast<std::size_t>(net.in * kLength), -1.0F, 1.0F, rng));
      expected.push_back(net.Forward(inputs.back(), kLength));
    }

    const std::vector<float> absorbed = AbsorbableBias(net.head_bias, kGamma);
    ASSERT_EQ(absorbed.size(), 4U);
    EXPECT_FLOAT_EQ(absorbed[0], 1.4F);
    EXPECT_EQ(absorbed[1], 0.0F);
    EXPECT_FLOAT_EQ(absorbed[2], 2.4F);
    EXPECT_EQ(absorbed[3], 0.0F);
    // The precondition of exactness: every pre-activation of a channel with c > 0 is >= c (channel 3
    // is mostly negative, but its c is 0, so nothing moves there).
    for (const std::vector<float>& x : inputs) {
      const std::vector<float> h = net.PreActivation(x, kLength);
      for (std::size_t i = 0; i < h.size(); ++i) {
        if (absorbed[i / kLength] > 0.0F) {
          ASSERT_GE(h[i], absorbed[i / kLength]);
        }
      }
    }

    const std::vector<float> head_bias_before = net.head_bias;
    ASSERT_TRUE(AbsorbHighBias(absorbed, net.head_bias, net.tail_weight, net.TailDims(),
                               {.kind = groups == 1 ? TailKind::kDense : TailKind::kDepthwise}, net.tail_bias)
                    .ok());
    EXPECT_LT(net.head_bias[0], head_bias_before[0] - 1.0F);
    EXPECT_EQ(net.head_bias[1], head_bias_before[1]);
    EXPECT_LT(net.head_bias[2], head_bias_before[2] - 2.0F);
    EXPECT_EQ(net.head_bias[3], head_bias_before[3]);
    for (std::size_t sample = 0; sample < inputs.size(); ++sample) {
      ExpectRelativelyClose(net.Forward(inputs[sample], kLength), expected[sample], 1e-5F);
    }
  }
}

TEST(AbsorbHighBiasTest, AbsorbingMoreThanThePreActivationChangesTheFunction) {
  // The same construction with c_0 above every h_0: relu clips, so the output must change. This is
  // what makes the preservation test above meaningful.
  std::mt19937 rng(18);
  TwoLayerNet net = MakeNet(/*out=*/3, /*groups=*/1, rng);
  constexpr int64_t kLength = 4;
  const std::vector<float> x = RandomVector(static_cast<std::size_t>(net.in * kLength), -1.0F, 1.0F, rng);
  const std::vector<float> expected = net.Forward(x, kLength);
  ASSERT_TRUE(AbsorbHighBias(std::vector<float>{3.0F, 0, 0, 0}, net.head_bias, net.tail_weight, net.TailDims(), {},
                             net.tail_bias)
                  .ok());
  const std::vector<float> actual = net.Forward(x, kLength);
  float max_difference = 0.0F;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    max_difference = std::max(max_difference, std::fabs(actual[i] - expected[i]));
  }
  EXPECT_GT(max_difference, 1e-2F);
}

TEST(AbsorbHighBiasTest, RejectsMismatchesWithoutTouchingBiases) {
  std::vector<float> head_bias = {1, 2};
  std::vector<float> tail_bias = {0, 0, 0};
  const std::vector<float> tail_weight = {1, 2, 3, 4, 5, 6};  // [3, 2]
  const std::vector<int64_t> dims = {3, 2};
  const std::vector<float> absorbed = {1, 1};

  EXPECT_EQ(AbsorbHighBias(std::vector<float>{1, 1, 1}, head_bias, tail_weight, dims, {}, tail_bias).code(),
            EqualizationError::kSizeMismatch);
  std::vector<float> short_tail_bias = {0, 0};
  EXPECT_EQ(AbsorbHighBias(absorbed, head_bias, tail_weight, dims, {}, short_tail_bias).code(),
            EqualizationError::kSizeMismatch);
  std::vector<float> long_head_bias = {1, 2, 3};
  EXPECT_EQ(AbsorbHighBias(absorbed, long_head_bias, tail_weight, dims, {}, tail_bias).code(),
            EqualizationError::kSizeMismatch);
  // A depthwise tail needs extent 1 on its input axis.
  EXPECT_EQ(AbsorbHighBias(absorbed, head_bias, tail_weight, dims, {.kind = TailKind::kDepthwise}, tail_bias).code(),
            EqualizationError::kInvalidShape);
  EXPECT_EQ(AbsorbHighBias(absorbed, head_bias, tail_weight, dims, {.in_axis = 0, .out_axis = 0}, tail_bias).code(),
            EqualizationError::kInvalidShape);
  EXPECT_EQ(AbsorbHighBias(absorbed, head_bias, tail_weight, dims, {.in_axis = 2}, tail_bias).code(),
            EqualizationError::kInvalidShape);

  EXPECT_EQ(head_bias, (std::vector<float>{1, 2}));
  EXPECT_EQ(tail_bias, (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(short_tail_bias, (std::vector<float>{0, 0}));
}

}  // namespace
}  // namespace onnxq
