#include "algorithms/power_of_two.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "algorithms/histogram.h"
#include "algorithms/qparams.h"
#include "testing/random_data.h"

namespace onnxq {
namespace {

using testing::LaplaceData;

std::vector<float> LaplaceWithOutliers(unsigned seed) {
  std::vector<float> data = LaplaceData(100000, 1.0, seed);
  data.push_back(50.0F);
  data.push_back(-40.0F);
  return data;
}

bool IsPowerOfTwo(float scale) {
  int exponent = 0;
  return std::frexp(scale, &exponent) == 0.5F;
}

// No value saturates: every value is within half a step of its fake-quantized value.
bool NothingClips(const std::vector<float>& data, const QuantParams& params, const IntRange& range) {
  return std::all_of(data.begin(), data.end(), [&](float x) {
    return std::fabs(static_cast<double>(x) - FakeQuantize(x, params, range)) <= 0.5 * params.scale;
  });
}

// Brute-force loss at one pos, zero point as PowerOfTwoQuantParams gives it for the data's range.
double LossAt(const std::vector<float>& data, int pos, QuantType type, const RangeOptions& options) {
  const auto [lo, hi] = std::minmax_element(data.begin(), data.end());
  const QuantParams params = PowerOfTwoQuantParams(pos, *lo, *hi, type, options);
  const IntRange range = QuantRange(type, options);
  double sum = 0.0;
  for (float x : data) {
    const double e = static_cast<double>(x) - FakeQuantize(x, params, range);
    sum += e * e;
  }
  return sum;
}

TEST(PowerOfTwoTest, ScalePosConversions) {
  EXPECT_EQ(PosToScale(3), 0.125F);
  EXPECT_EQ(PosToScale(-2), 4.0F);
  EXPECT_EQ(PosToScale(0), 1.0F);
  EXPECT_EQ(ScaleToPos(0.125F), 3);
  EXPECT_EQ(ScaleToPos(0.3F), 2);   // -log2(0.3) = 1.74
  EXPECT_EQ(ScaleToPos(0.36F), 1);  // -log2(0.36) = 1.47
  EXPECT_EQ(ScaleToPos(6.0F), -3);  // -log2(6) = -2.58
  EXPECT_EQ(ScaleToPos(1e-30F), 100);
  EXPECT_EQ(ScaleToPos(1e-45F), kMaxPos);
  EXPECT_EQ(ScaleToPos(0.0F), kMaxPos);
  EXPECT_EQ(ScaleToPos(3e38F), kMinPos);
}

TEST(PowerOfTwoTest, RoundPosCanClipButNonOverflowDoesNot) {
  const RangeOptions sym{.symmetric = true};
  // int8 symmetric [-1, 1]: s = 1/127, rint(6.99) = 7 -> 2^-7 puts 1.0 at 128 > 127.
  EXPECT_EQ(RoundPos(-1.0F, 1.0F, QuantType::kInt8, sym), 7);
  EXPECT_EQ(NonOverflowPos(-1.0F, 1.0F, QuantType::kInt8, sym), 6);
  // uint8 asymmetric [0, 1]: 1.0 * 2^7 = 128 fits in 255, 2^8 does not.
  EXPECT_EQ(NonOverflowPos(0.0F, 1.0F, QuantType::kUInt8, {}), 7);
  // uint8 asymmetric [-1, 1]: pos 7 gives zp 128 and 1.0 -> 256; pos 6 gives zp 64, 1.0 -> 128.
  EXPECT_EQ(RoundPos(-1.0F, 1.0F, QuantType::kUInt8, {}), 7);
  EXPECT_EQ(NonOverflowPos(-1.0F, 1.0F, QuantType::kUInt8, {}), 6);
  // Exactly on the rounding edge: 127.5 * 2^-6 rounds (half to even) to 128 at pos 6 -> pos 5.
  EXPECT_EQ(NonOverflowPos(0.0F, 127.5F / 64.0F, QuantType::kInt8, sym), 5);
  // 126.5 rounds to 126 (even): still fits at pos 6.
  EXPECT_EQ(NonOverflowPos(0.0F, 126.5F / 64.0F, QuantType::kInt8, sym), 6);
  // NPU uint8 symmetric (zp 128): the negative side has 128 steps, the positive side 127.
  const RangeOptions npu{.symmetric = true, .unsigned_symmetric_zero_point = UnsignedSymmetricZeroPoint::kNpu};
  EXPECT_EQ(NonOverflowPos(-1.0F, 0.0F, QuantType::kUInt8, npu), 7);
  EXPECT_EQ(NonOverflowPos(0.0F, 1.0F, QuantType::kUInt8, npu), 6);
  // int16 symmetric, large values.
  EXPECT_EQ(NonOverflowPos(-1000.0F, 3.0F, QuantType::kInt16, sym), 5);  // 1000 * 32 = 32000
  // All zero: documented choice.
  EXPECT_EQ(NonOverflowPos(0.0F, 0.0F, QuantType::kInt8, sym), 0);
}

TEST(PowerOfTwoTest, NonOverflowNeverClipsRandomData) {
  struct Case {
    QuantType type;
    RangeOptions options;
  };
  const std::vector<Case> cases = {
      {QuantType::kInt8, {.symmetric = true}},
      {QuantType::kUInt8, {}},
      {QuantType::kInt8, {}},
      {QuantType::kUInt8, {.symmetric = true, .unsigned_symmetric_zero_point = UnsignedSymmetricZeroPoint::kNpu}},
      {QuantType::kInt16, {.symmetric = true}},
  };
  std::mt19937 rng(99);
  for (int trial = 0; trial < 40; ++trial) {
    // Random spread and offset over many orders of magnitude.
    const float spread =
        std::ldexp(1.0F, static_cast<int>(rng() % 40) - 20) * (1.0F + static_cast<float>(rng() % 1000) / 1000.0F);
    const float offset = spread * (static_cast<float>(rng() % 2001) / 1000.0F - 1.0F);
    std::vector<float> data = LaplaceData(2000, spread, static_cast<unsigned>(trial));
    for (float& x : data) x += offset;
    const auto [lo, hi] = std::minmax_element(data.begin(), data.end());
    for (const Case& c : cases) {
      const int pos = NonOverflowPos(*lo, *hi, c.type, c.options);
      const IntRange range = QuantRange(c.type, c.options);
      const QuantParams params = PowerOfTwoQuantParams(pos, *lo, *hi, c.type, c.options);
      EXPECT_TRUE(IsPowerOfTwo(params.scale));
      EXPECT_TRUE(NothingClips(data, params, range)) << "trial " << trial << " pos " << pos;
      // And it is the finest such scale: one step finer clips the min or the max.
      const QuantParams finer = PowerOfTwoQuantParams(pos + 1, *lo, *hi, c.type, c.options);
      EXPECT_FALSE(NothingClips(data, finer, range)) << "trial " << trial << " pos " << pos;
    }
  }
}

TEST(PowerOfTwoTest, MinMseClipsOutliersAndBeatsEveryCandidate) {
  const std::vector<float> data = LaplaceWithOutliers(17);
  const RangeOptions sym{.symmetric = true};
  const int pos0 = RoundPos(-40.0F, 50.0F, QuantType::kInt8, sym);
  EXPECT_EQ(pos0, 1);  // s = 50 / 127 -> rint(1.34)
  const int pos = MinMsePos(std::span<const float>(data), QuantType::kInt8, sym);
  EXPECT_GE(pos, pos0 - 1);
  EXPECT_LE(pos, pos0 + 3);
  const double best = LossAt(data, pos, QuantType::kInt8, sym);
  for (int candidate = pos0 - 1; candidate <= pos0 + 3; ++candidate) {
    EXPECT_LE(best, LossAt(data, candidate, QuantType::kInt8, sym)) << candidate;
  }
  // The chosen scale clips both outliers: the range (qmax - zp) * s is well below 40.
  const float threshold = 127.0F * PosToScale(pos);
  EXPECT_LT(threshold, 35.0F);
  EXPECT_GT(threshold, 5.0F);
  EXPECT_TRUE(IsPowerOfTwo(PosToScale(pos)));
  // NonOverflow keeps them: 50 fits.
  EXPECT_GE(127.0F * PosToScale(NonOverflowPos(-40.0F, 50.0F, QuantType::kInt8, sym)), 50.0F);
}

TEST(PowerOfTwoTest, MinMseOnHistogramAgreesWithRawData) {
  struct Case {
    QuantType type;
    RangeOptions options;
    float offset;
  };
  const std::vector<Case> cases = {
      {QuantType::kInt8, {.symmetric = true}, 0.0F},
      {QuantType::kUInt8, {}, 0.0F},
      {QuantType::kUInt8, {}, 3.0F},
      {QuantType::kInt8, {}, -1.0F},
  };
  for (unsigned seed : {1U, 2U, 3U}) {
    for (bool outliers : {false, true}) {
      std::vector<float> data = outliers ? LaplaceWithOutliers(seed) : LaplaceData(100000, 0.3, seed);
      for (const Case& c : cases) {
        std::vector<float> shifted = data;
        for (float& x : shifted) x += c.offset;
        Histogram histogram;
        histogram.Add(shifted);
        const int from_data = MinMsePos(std::span<const float>(shifted), c.type, c.options);
        const int from_histogram = MinMsePos(histogram, c.type, c.options);
        EXPECT_EQ(from_histogram, from_data) << "seed " << seed << " outliers " << outliers << " offset " << c.offset;
        // Per-candidate losses agree closely too.
        const IntRange range = QuantRange(c.type, c.options);
        const QuantParams params =
            PowerOfTwoQuantParams(from_data, histogram.min(), histogram.max(), c.type, c.options);
        const double exact = SquaredQuantError(std::span<const float>(shifted), params, range);
        EXPECT_NEAR(SquaredQuantError(histogram, params, range), exact, 0.05 * exact);
      }
    }
  }
}

TEST(PowerOfTwoTest, MinMseHandComputedAndTies) {
  // int8 symmetric, data {1, -1, 0.5}: pos0 = rint(-log2(1/127)) = 7.
  // pos 6 (s = 1/64): all exact -> loss 0. pos 7: 1 -> 127/128, -1 -> -127/128, loss 2/128^2.
  // pos 8..10: more clipping. pos 6 wins.
  const std::vector<float> data = {1.0F, -1.0F, 0.5F};
  const RangeOptions sym{.symmetric = true};
  EXPECT_EQ(MinMsePos(std::span<const float>(data), QuantType::kInt8, sym), 6);
  // All-zero data: every candidate has loss 0 -> the smallest candidate, pos0 - 1 = -1.
  const std::vector<float> zeros = {0.0F, 0.0F};
  EXPECT_EQ(MinMsePos(std::span<const float>(zeros), QuantType::kInt8, sym), -1);
  // Empty input.
  EXPECT_EQ(MinMsePos(std::span<const float>(), QuantType::kInt8, sym), 0);
  EXPECT_EQ(MinMsePos(Histogram{}, QuantType::kInt8, sym), 0);
  // Wider candidate window.
  EXPECT_EQ(
      MinMsePos(std::span<const float>(data), QuantType::kInt8, sym, {.candidates_below = 0, .candidates_above = 0}),
      7);
  // Histogram of one value is exact.
  Histogram one;
  const std::vector<float> value = {0.75F};
  one.Add(value);
  const IntRange range = QuantRange(QuantType::kInt8, sym);
  const QuantParams coarse{.scale = 0.5F, .zero_point = 0};  // 0.75 -> 1 * 0.5 (half to even: 1.5 -> 2 -> 1.0)
  EXPECT_DOUBLE_EQ(SquaredQuantError(one, coarse, range),
                   SquaredQuantError(std::span<const float>(value), coarse, range));
  EXPECT_DOUBLE_EQ(SquaredQuantError(one, coarse, range), 0.0625);
}

TEST(PowerOfTwoTest, SqnrByPosHandComputedAndAgainstRawData) {
  // One value, 0.75, int8 symmetric: pos 1 (scale 1/2) rounds 1.5 to 2 -> 1.0, error 0.25:
  // 10 log10(0.5625 / 0.0625) = 9.542 dB; pos 2 and 3 hold it exactly; pos 8 (scale 1/256) clamps to
  // 127/256: error 0.25390625, 9.407 dB.
  const RangeOptions sym{.symmetric = true};
  Histogram one;
  const std::vector<float> value = {0.75F};
  one.Add(value);
  const auto by_pos = PowerOfTwoSqnrByPos(one, -0.75F, 0.75F, 1, 8, QuantType::kInt8, sym);
  ASSERT_EQ(by_pos.size(), 8U);
  EXPECT_NEAR(by_pos.at(1), 9.5424, 1e-3);
  EXPECT_TRUE(std::isinf(by_pos.at(2)) && by_pos.at(2) > 0);
  EXPECT_TRUE(std::isinf(by_pos.at(3)) && by_pos.at(3) > 0);
  EXPECT_NEAR(by_pos.at(8), 9.4069, 1e-3);
  EXPECT_DOUBLE_EQ(SquaredSignal(one), 0.5625);
  // The window is cut at kMinPos / kMaxPos.
  EXPECT_EQ(PowerOfTwoSqnrByPos(one, -0.75F, 0.75F, kMaxPos - 1, kMaxPos + 5, QuantType::kInt8, sym).size(), 2U);

  // Laplace data with outliers: within 0.25 dB (the histogram's bins, as for MinMsePos's 5 % on the
  // loss) of the SQNR on the raw values at every position of the window.
  const std::vector<float> data = LaplaceWithOutliers(7);
  Histogram histogram;
  histogram.Add(data);
  const float bound = std::max(-histogram.min(), histogram.max());
  const IntRange range = QuantRange(QuantType::kInt8, sym);
  double signal = 0.0;
  for (const float x : data) signal += static_cast<double>(x) * x;
  const int pos0 = MinMsePos(histogram, QuantType::kInt8, sym);
  for (const auto& [pos, sqnr] :
       PowerOfTwoSqnrByPos(histogram, -bound, bound, pos0 - 3, pos0 + 3, QuantType::kInt8, sym)) {
    const QuantParams params = PowerOfTwoQuantParams(pos, -bound, bound, QuantType::kInt8, sym);
    const double exact = 10.0 * std::log10(signal / SquaredQuantError(std::span<const float>(data), params, range));
    EXPECT_NEAR(sqnr, exact, 0.25) << "pos " << pos;
  }
}

TEST(PowerOfTwoTest, MostCommonPos) {
  EXPECT_EQ(MostCommonPos(std::vector<int>{3, 4, 4, 3, 5}), 3);
  EXPECT_EQ(MostCommonPos(std::vector<int>{5, 4, 4, 3, 5, 5}), 5);
  EXPECT_EQ(MostCommonPos(std::vector<int>{-2}), -2);
  EXPECT_EQ(MostCommonPos(std::vector<int>{}), 0);
}

}  // namespace
}  // namespace onnxq
