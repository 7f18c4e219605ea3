#include "algorithms/qparams.h"

#include <gtest/gtest.h>

#include <cmath>
#include <utility>
#include <vector>

namespace onnxq {
namespace {

TEST(QuantRangeTest, IntegerRanges) {
  EXPECT_EQ(QuantRange(QuantType::kInt8, {}).qmin, -128);
  EXPECT_EQ(QuantRange(QuantType::kInt8, {}).qmax, 127);
  EXPECT_EQ(QuantRange(QuantType::kInt8, {.symmetric = true}).qmin, -127);
  EXPECT_EQ(QuantRange(QuantType::kUInt8, {}).qmax, 255);
  EXPECT_EQ(QuantRange(QuantType::kInt8, {.reduce_range = true}).qmin, -64);
  EXPECT_EQ(QuantRange(QuantType::kUInt8, {.reduce_range = true}).qmax, 127);
  EXPECT_EQ(QuantRange(QuantType::kInt16, {.symmetric = true}).qmax, 32767);
  EXPECT_EQ(QuantRange(QuantType::kUInt16, {}).qmax, 65535);
}

TEST(ComputeQuantParamsTest, AsymmetricUInt8HandComputed) {
  // [-1, 3]: scale = 4/255, zp = round(0 - (-1)/(4/255)) = round(63.75) = 64.
  const QuantParams p = ComputeQuantParams(-1.0F, 3.0F, QuantType::kUInt8, {});
  EXPECT_FLOAT_EQ(p.scale, 4.0F / 255.0F);
  EXPECT_EQ(p.zero_point, 64);
}

TEST(ComputeQuantParamsTest, RangeIsWidenedToContainZero) {
  // [2, 6] -> [0, 6]: scale = 6/255, zp = 0.
  const QuantParams p = ComputeQuantParams(2.0F, 6.0F, QuantType::kUInt8, {});
  EXPECT_FLOAT_EQ(p.scale, 6.0F / 255.0F);
  EXPECT_EQ(p.zero_point, 0);
}

TEST(ComputeQuantParamsTest, SymmetricInt8) {
  const QuantParams p = ComputeQuantParams(-0.5F, 2.54F, QuantType::kInt8, {.symmetric = true});
  EXPECT_FLOAT_EQ(p.scale, 2.54F / 127.0F);
  EXPECT_EQ(p.zero_point, 0);
}

TEST(ComputeQuantParamsTest, SymmetricUInt8ZeroPointConventions) {
  const QuantParams ort = ComputeQuantParams(-1.27F, 1.0F, QuantType::kUInt8, {.symmetric = true});
  EXPECT_EQ(ort.zero_point, 127);
  EXPECT_FLOAT_EQ(ort.scale, 0.01F);
  const QuantParams npu =
      ComputeQuantParams(-1.27F, 1.0F, QuantType::kUInt8,
                         {.symmetric = true, .unsigned_symmetric_zero_point = UnsignedSymmetricZeroPoint::kNpu});
  EXPECT_EQ(npu.zero_point, 128);
  EXPECT_FLOAT_EQ(npu.scale, 0.01F);
}

TEST(ComputeQuantParamsTest, DegenerateRangeGivesUnitScale) {
  const QuantParams p = ComputeQuantParams(0.0F, 0.0F, QuantType::kUInt8, {});
  EXPECT_FLOAT_EQ(p.scale, 1.0F);
  EXPECT_EQ(p.zero_point, 0);
}

TEST(QuantizeValueTest, RoundsHalfToEvenAndSaturates) {
  const QuantParams p{.scale = 0.5F, .zero_point = 10};
  const IntRange r{0, 255};
  EXPECT_EQ(QuantizeValue(0.25F, p, r), 10);   // 0.5 -> 0
  EXPECT_EQ(QuantizeValue(0.75F, p, r), 12);   // 1.5 -> 2
  EXPECT_EQ(QuantizeValue(-100.0F, p, r), 0);  // saturates
  EXPECT_EQ(QuantizeValue(1000.0F, p, r), 255);
  EXPECT_FLOAT_EQ(DequantizeValue(12, p), 1.0F);
}

TEST(QuantizeValuesTest, EqualsQuantizeValueForEveryValue) {
  // Ties both ways, saturation both ways, NaN and infinities, and more values than one vector holds.
  const QuantParams p{.scale = 0.5F, .zero_point = 10};
  const IntRange r{0, 255};
  std::vector<float> values = {0.25F, 0.75F, -0.25F, -0.75F, -100.0F, 1000.0F, std::nanf(""), -INFINITY, INFINITY};
  for (int i = -600; i <= 600; ++i) values.push_back(static_cast<float>(i) * 0.125F);
  std::vector<int64_t> got(values.size(), -1);
  QuantizeValues(values, p, r, got);
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(got[i], QuantizeValue(values[i], p, r)) << values[i];
  EXPECT_EQ(got[0], 10);   // 0.5 -> 0
  EXPECT_EQ(got[1], 12);   // 1.5 -> 2
  EXPECT_EQ(got[2], 10);   // -0.5 -> 0
  EXPECT_EQ(got[3], 8);    // -1.5 -> -2
  EXPECT_EQ(got[6], 0);    // NaN -> qmin
  EXPECT_EQ(got[8], 255);  // +Inf saturates
}

TEST(QuantizeValuesTo8BitTest, EqualsQuantizeValuesAsBytes) {
  // Ties both ways, saturation both ways, NaN, infinities and values beyond the rounding trick's
  // 2^51, for a signed and an unsigned range.
  std::vector<float> values = {0.25F,         0.75F,     -0.25F,   -0.75F, -100.0F, 1000.0F,
                               std::nanf(""), -INFINITY, INFINITY, 1e30F,  -1e30F};
  for (int i = -600; i <= 600; ++i) values.push_back(static_cast<float>(i) * 0.125F);
  for (const auto& [p, r] : {std::pair{QuantParams{.scale = 0.5F, .zero_point = 10}, IntRange{0, 255}},
                             std::pair{QuantParams{.scale = 0.25F, .zero_point = -3}, IntRange{-128, 127}}}) {
    std::vector<int64_t> expected(values.size());
    QuantizeValues(values, p, r, expected);
    std::vector<uint8_t> got(values.size());
    QuantizeValuesTo8Bit(values, p, r, got);
    for (size_t i = 0; i < values.size(); ++i) {
      EXPECT_EQ(got[i], static_cast<uint8_t>(expected[i])) << values[i];
    }
  }
  std::vector<uint8_t> got(4);
  QuantizeValuesTo8Bit(std::vector<float>{0.25F, -0.375F, 100.0F, -100.0F}, {.scale = 0.25F, .zero_point = -3},
                       {-128, 127}, got);
  EXPECT_EQ(got, (std::vector<uint8_t>{0xFE, 0xFB, 0x7F, 0x80}));  // -2, -5 (tie -1.5 -> -2), 127, -128
}

TEST(MaxAbsQuantErrorTest, WithinHalfStepInsideRange) {
  const QuantParams p = ComputeQuantParams(-1.0F, 1.0F, QuantType::kInt8, {.symmetric = true});
  std::vector<float> data;
  for (int i = -100; i <= 100; ++i) data.push_back(static_cast<float>(i) / 100.0F);
  EXPECT_LE(MaxAbsQuantError(data, p, QuantRange(QuantType::kInt8, {.symmetric = true})), p.scale / 2 + 1e-7F);
  EXPECT_GT(MaxAbsQuantError(data, p, QuantRange(QuantType::kInt8, {.symmetric = true})), p.scale / 4);
}

}  // namespace
}  // namespace onnxq
