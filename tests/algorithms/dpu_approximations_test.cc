// The DPU's constants, worked by hand: LeakyRelu's alpha on a 1/256 grid; the multipliers of averages,
// the hardware's fixed pairs for square pools and the closest M / 2^N otherwise; HardSigmoid's 1/6.
#include "algorithms/dpu_approximations.h"

#include <gtest/gtest.h>

namespace onnxq {
namespace {

TEST(DpuApproximationsTest, LeakyReluAlphaOnA256thGrid) {
  EXPECT_EQ(DpuLeakyReluAlpha(0.1F), 26.0F / 256.0F);            // 25.6 -> 26: 0.1015625
  EXPECT_EQ(DpuLeakyReluAlpha(0.2F), 51.0F / 256.0F);            // 51.2 -> 51
  EXPECT_EQ(DpuLeakyReluAlpha(0.01F), 3.0F / 256.0F);            // 2.56 -> 3
  EXPECT_EQ(DpuLeakyReluAlpha(32.5F / 256.0F), 32.0F / 256.0F);  // a half goes to even
  EXPECT_EQ(DpuLeakyReluAlpha(0.25F), 0.25F);
}

TEST(DpuApproximationsTest, SquarePoolsUseTheHardwaresPairs) {
  struct Case {
    int64_t kernel;
    int64_t m;
    int shift;
    double correction;
  };
  const Case cases[] = {{3, 7, 6, 0.984375},
                        {5, 10, 8, 0.9765625},
                        {6, 7, 8, 0.984375},
                        {7, 21, 10, 1.0048828125},
                        {14, 21, 12, 1.0048828125}};
  for (const Case& c : cases) {
    const DpuMultiplier multiplier = DpuPoolMultiplier(c.kernel, c.kernel);
    EXPECT_EQ(multiplier.m, c.m) << c.kernel;
    EXPECT_EQ(multiplier.shift, c.shift) << c.kernel;
    EXPECT_DOUBLE_EQ(DpuMeanCorrection(multiplier, c.kernel * c.kernel), c.correction) << c.kernel;
  }
}

TEST(DpuApproximationsTest, OtherCountsTakeTheClosestPairWithTheSmallestShift) {
  // 1/9 = 0.1111: 1/8 (N = 3) errs by 0.0139, 7/64 by 0.0017, 57/512 by 0.00022; N runs to
  // ceil(log2(1152)) - 1 = 10, where 114/1024 only ties 57/512.
  const DpuMultiplier nine = DpuMeanMultiplier(9);
  EXPECT_EQ(nine.m, 57);
  EXPECT_EQ(nine.shift, 9);
  EXPECT_DOUBLE_EQ(DpuMeanCorrection(nine, 9), 9.0 * 57.0 / 512.0);
  // The search finds the hardware's pairs of 7x7 and 14x14 by itself.
  EXPECT_EQ(DpuMeanMultiplier(49).m, 21);
  EXPECT_EQ(DpuMeanMultiplier(49).shift, 10);
  EXPECT_EQ(DpuMeanMultiplier(196).m, 21);
  EXPECT_EQ(DpuMeanMultiplier(196).shift, 12);
  // Powers of two are exact, at the smallest shift.
  EXPECT_EQ(DpuMeanMultiplier(4).m, 1);
  EXPECT_EQ(DpuMeanMultiplier(4).shift, 2);
  EXPECT_EQ(DpuMeanMultiplier(1).m, 1);
  EXPECT_EQ(DpuMeanMultiplier(1).shift, 0);
  EXPECT_DOUBLE_EQ(DpuMeanCorrection(DpuPoolMultiplier(2, 2), 4), 1.0);
  // A 3x6 window is not square: 18 values, by the search.
  EXPECT_EQ(DpuPoolMultiplier(3, 6).m, DpuMeanMultiplier(18).m);
}

TEST(DpuApproximationsTest, HardSigmoidScaleIsTheDpusOneSixthOverTheTrueOne) {
  // (2731 / 16384) / (1 / 6) = 16386 / 16384 = 1 + 2^-13, exact in double and in float.
  EXPECT_EQ(DpuHardSigmoidScale(), 8193.0 / 8192.0);
  EXPECT_EQ(DpuHardSigmoidScale(), 1.0001220703125);
  EXPECT_EQ(static_cast<float>(DpuHardSigmoidScale()), 1.0F + 0x1p-13F);
  // 2731 is the closest 14-bit numerator: 16384 / 6 = 2730.67.
  EXPECT_EQ(kDpuOneSixth.m, 2731);
  EXPECT_EQ(kDpuOneSixth.shift, 14);
}

TEST(DpuApproximationsTest, HardSigmoidAlphaIsOneSixthUpToPrinting) {
  EXPECT_TRUE(IsDpuHardSigmoidAlpha(1.0F / 6.0F));
  EXPECT_TRUE(IsDpuHardSigmoidAlpha(0.1666667F));
  EXPECT_TRUE(IsDpuHardSigmoidAlpha(0.16666666F));
  EXPECT_TRUE(IsDpuHardSigmoidAlpha(0.166667F));
  EXPECT_FALSE(IsDpuHardSigmoidAlpha(0.16667F));
  EXPECT_FALSE(IsDpuHardSigmoidAlpha(0.2F));  // ONNX's default alpha
  EXPECT_FALSE(IsDpuHardSigmoidAlpha(2731.0F / 16384.0F));
}

TEST(DpuApproximationsTest, LargestFactorUpToTheSquareRoot) {
  EXPECT_EQ(LargestFactorUpToRoot(32), 4);  // sqrt 5.66: 4 (8 is above)
  EXPECT_EQ(LargestFactorUpToRoot(28), 4);  // sqrt 5.29: 1, 2, 4
  EXPECT_EQ(LargestFactorUpToRoot(49), 7);  // a square: the root itself
  EXPECT_EQ(LargestFactorUpToRoot(30), 5);
  EXPECT_EQ(LargestFactorUpToRoot(31), 1);  // a prime
  EXPECT_EQ(LargestFactorUpToRoot(2), 1);
  EXPECT_EQ(LargestFactorUpToRoot(1), 1);
  EXPECT_EQ(LargestFactorUpToRoot(224), 14);  // sqrt 14.97
  EXPECT_EQ(LargestFactorUpToRoot(1000000), 1000);
  EXPECT_EQ(LargestFactorUpToRoot(999999), 999);  // 3 x 3 x 3 x 7 x 11 x 13 x 37: 999 x 1001
  EXPECT_EQ(kDpuMaxGlobalPoolSize, 512);
}

}  // namespace
}  // namespace onnxq
