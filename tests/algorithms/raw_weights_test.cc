#include "algorithms/raw_weights.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "common/worker_pool.h"

namespace onnxq {
namespace {

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

std::string RawOf(const std::vector<float>& values) {
  std::string raw(values.size() * sizeof(float), '\0');
  std::memcpy(raw.data(), values.data(), raw.size());
  return raw;
}

// `count` values of about +-3 on a grid of 1/8 (so that scales 0.25 and 0.75 meet exact ties), with
// NaN, infinities, -0, values that saturate and values beyond 2^51 spread among them.
std::vector<float> TestValues(size_t count, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> grid(-24, 24);
  std::vector<float> values(count);
  for (float& v : values) v = static_cast<float>(grid(gen)) * 0.125F;
  const float specials[] = {kNan, kInf, -kInf, -0.0F, 1000.0F, -1000.0F, 1e30F, -1e30F, 0.375F, -0.375F};
  std::uniform_int_distribution<size_t> where(0, count - 1);
  for (size_t k = 0; k < count / 50 + 1; ++k) values[where(gen)] = specials[k % std::size(specials)];
  return values;
}

// Per channel of [outer, channels, inner], as decide_params.cc's scalar loop: from 0, std::min / max.
std::vector<ValueRange> ScalarChannelRanges(const std::vector<float>& values, const ChannelLayout& layout) {
  std::vector<ValueRange> ranges(layout.channels);
  for (size_t i = 0; i < values.size(); ++i) {
    ValueRange& r = ranges[(i / layout.inner) % layout.channels];
    r.lo = std::min(r.lo, values[i]);
    r.hi = std::max(r.hi, values[i]);
  }
  return ranges;
}

// One parameter set per channel: ties for both scales, zero points on both sides of 0.
std::vector<QuantParams> ChannelParams(size_t channels, const IntRange& range) {
  std::vector<QuantParams> params;
  const int64_t middle = (range.qmin + range.qmax + 1) / 2;
  for (size_t c = 0; c < channels; ++c) {
    params.push_back({.scale = c % 2 == 0 ? 0.25F : 0.75F, .zero_point = middle + static_cast<int64_t>(c % 5) - 2});
  }
  return params;
}

struct LayoutCase {
  const char* name;
  ChannelLayout layout;
};

void PrintTo(const LayoutCase& c, std::ostream* out) {
  *out << c.name << " [" << c.layout.outer << ", " << c.layout.channels << ", " << c.layout.inner << "]";
}

// Runs of kWideRun and more, runs longer than a block (4096), rows longer than a column block, and
// column blocks not a multiple of the vector width; per tensor across several tasks (65536 values).
const LayoutCase kLayouts[] = {
    {"PerTensorAcrossTasks", {.outer = 1, .channels = 1, .inner = 70001}},
    {"PerTensorTiny", {.outer = 1, .channels = 1, .inner = 7}},
    {"Axis0WideRuns", {.outer = 1, .channels = 5, .inner = 4099}},
    {"MiddleAxisWideRuns", {.outer = 3, .channels = 4, .inner = 67}},
    {"LastAxis", {.outer = 7, .channels = 4099, .inner = 1}},
    {"MiddleAxisShortRuns", {.outer = 5, .channels = 1367, .inner = 3}},
    {"ShortRunsOneRow", {.outer = 1, .channels = 9, .inner = 63}},
};

class RawWeightsTest : public testing::TestWithParam<LayoutCase> {};

TEST_P(RawWeightsTest, ChannelRangesEqualTheScalarLoop) {
  const ChannelLayout layout = GetParam().layout;
  const auto values = TestValues(layout.outer * layout.channels * layout.inner, 1);
  const auto expected = ScalarChannelRanges(values, layout);
  for (const int threads : {1, 3}) {
    WorkerPool pool(threads);
    const auto got = ChannelRangesOfRaw(RawOf(values), layout, pool);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t c = 0; c < got.size(); ++c) {
      EXPECT_EQ(got[c].lo, expected[c].lo) << "channel " << c;
      EXPECT_EQ(got[c].hi, expected[c].hi) << "channel " << c;
    }
  }
}

TEST_P(RawWeightsTest, CodesEqualQuantizeValue) {
  const ChannelLayout layout = GetParam().layout;
  const auto values = TestValues(layout.outer * layout.channels * layout.inner, 2);
  for (const IntRange range : {IntRange{-128, 127}, IntRange{0, 255}, IntRange{-127, 127}}) {
    const auto params = ChannelParams(layout.channels, range);
    WorkerPool pool(3);
    std::vector<uint8_t> got(values.size());
    QuantizeRawTo8Bit(RawOf(values), layout, params, range, pool, got);
    for (size_t i = 0; i < values.size(); ++i) {
      const QuantParams& p = params[(i / layout.inner) % layout.channels];
      ASSERT_EQ(got[i], static_cast<uint8_t>(QuantizeValue(values[i], p, range)))
          << "value " << values[i] << " at " << i << ", range [" << range.qmin << ", " << range.qmax << "]";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, RawWeightsTest, testing::ValuesIn(kLayouts),
                         [](const testing::TestParamInfo<LayoutCase>& p) { return std::string(p.param.name); });

TEST(FiniteRangeOfRawTest, SkipsNanAndInfinities) {
  for (const size_t count : {size_t{1}, size_t{15}, size_t{17}, size_t{70001}}) {
    auto values = TestValues(count, 3);
    values[count / 2] = kNan;
    values[count - 1] = kInf;
    values[0] = -kInf;
    float lo = kInf;
    float hi = -kInf;
    for (const float v : values) {
      if (!std::isfinite(v)) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    WorkerPool pool(3);
    const ValueRange got = FiniteRangeOfRaw(RawOf(values), pool);
    EXPECT_EQ(got.lo, lo <= hi ? lo : 0.0F) << count;
    EXPECT_EQ(got.hi, lo <= hi ? hi : 0.0F) << count;
  }
}

TEST(AllFiniteOfRawTest, FindsOneNonFiniteValueAnywhere) {
  // 4099 values: a block of 4096 and a tail of 3; each special value in a lane, at a block's end and
  // in the tail.
  const std::vector<float> finite = TestValues(4099, 4);
  std::vector<float> clean;
  for (const float v : finite) clean.push_back(std::isfinite(v) ? v : std::numeric_limits<float>::max());
  EXPECT_TRUE(AllFiniteOfRaw(RawOf(clean)));
  EXPECT_TRUE(AllFiniteOfRaw(""));
  for (const float special : {kNan, kInf, -kInf}) {
    for (const size_t at : {size_t{0}, size_t{17}, size_t{4095}, size_t{4098}}) {
      auto values = clean;
      values[at] = special;
      EXPECT_FALSE(AllFiniteOfRaw(RawOf(values))) << special << " at " << at;
    }
  }
}

TEST(FiniteRangeOfRawTest, HandWorked) {
  WorkerPool pool(2);
  // 20 values (one vector of 16 and a tail of 4): the extremes in the tail and in the vector.
  std::vector<float> values(20, 0.5F);
  values[3] = -2.0F;
  values[18] = 3.0F;
  values[5] = -kInf;
  values[19] = kNan;
  const ValueRange r = FiniteRangeOfRaw(RawOf(values), pool);
  EXPECT_EQ(r.lo, -2.0F);
  EXPECT_EQ(r.hi, 3.0F);
  // Positive values only: the range is theirs (not widened to 0, ComputeQuantParams does that).
  const ValueRange positive = FiniteRangeOfRaw(RawOf({1.0F, 2.0F, kInf}), pool);
  EXPECT_EQ(positive.lo, 1.0F);
  EXPECT_EQ(positive.hi, 2.0F);
  const ValueRange none = FiniteRangeOfRaw(RawOf({kNan, kInf, -kInf}), pool);
  EXPECT_EQ(none.lo, 0.0F);
  EXPECT_EQ(none.hi, 0.0F);
  EXPECT_EQ(FiniteRangeOfRaw("", pool).hi, 0.0F);
}

TEST(ChannelRangesOfRawTest, HandWorkedInfinityCountsNanDoesNot) {
  // [2, 3, 1]: channel c holds values[c] and values[3 + c].
  WorkerPool pool(2);
  const auto r =
      ChannelRangesOfRaw(RawOf({1.0F, kNan, -kInf, 2.0F, -3.0F, 0.5F}), {.outer = 2, .channels = 3, .inner = 1}, pool);
  ASSERT_EQ(r.size(), 3U);
  EXPECT_EQ(r[0].lo, 0.0F);  // from 0
  EXPECT_EQ(r[0].hi, 2.0F);
  EXPECT_EQ(r[1].lo, -3.0F);  // NaN skipped
  EXPECT_EQ(r[1].hi, 0.0F);
  EXPECT_EQ(r[2].lo, -kInf);  // an infinity counts
  EXPECT_EQ(r[2].hi, 0.5F);
}

TEST(QuantizeRawTo8BitTest, HandWorkedTiesAndSaturation) {
  // Scale 0.5, zero point 1, int8: 0.25 -> 0.5 -> 0 (+1 = 1), 0.75 -> 1.5 -> 2 (3), -0.25 -> -0.5 -> 0
  // (1), 100 -> 127, -100 -> -128, NaN -> qmin.
  WorkerPool pool(1);
  std::vector<uint8_t> got(6);
  const QuantParams p{.scale = 0.5F, .zero_point = 1};
  QuantizeRawTo8Bit(RawOf({0.25F, 0.75F, -0.25F, 100.0F, -100.0F, kNan}), {.outer = 1, .channels = 1, .inner = 6},
                    std::span(&p, 1), {-128, 127}, pool, got);
  EXPECT_EQ(got, (std::vector<uint8_t>{1, 3, 1, 0x7F, 0x80, 0x80}));
}

TEST(LayoutOfTest, AxisNotZeroAndPerTensor) {
  const std::vector<int64_t> dims = {2, 3, 4, 5};
  const ChannelLayout axis2 = LayoutOf(dims, 2);
  EXPECT_EQ(axis2.outer, 6U);
  EXPECT_EQ(axis2.channels, 4U);
  EXPECT_EQ(axis2.inner, 5U);
  const ChannelLayout last = LayoutOf(dims, 3);
  EXPECT_EQ(last.outer, 24U);
  EXPECT_EQ(last.inner, 1U);
  const ChannelLayout tensor = LayoutOf(dims, -1);
  EXPECT_EQ(tensor.channels, 1U);
  EXPECT_EQ(tensor.inner, 120U);
}

}  // namespace
}  // namespace onnxq
