#include "ir/tensor_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace onnxq {
namespace {

template <typename T>
std::string RawOf(const std::vector<T>& values) {
  return {reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T)};
}

onnx::TensorProto Empty(const std::string& name, int32_t type, std::vector<int64_t> dims) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(type);
  for (int64_t d : dims) t.add_dims(d);
  return t;
}

std::vector<float> FloatsOk(const onnx::TensorProto& tensor) {
  auto values = ToFloats(tensor);
  EXPECT_TRUE(values.ok()) << values.status().message();
  return values.ok() ? *values : std::vector<float>{};
}

TEST(ToFloatsTest, FloatRawAndFloatData) {
  const std::vector<float> values = {1.5F, -2.25F, 0.0F, 3e-8F, 1e30F, -7.0F};
  onnx::TensorProto raw = Empty("raw", onnx::TensorProto::FLOAT, {2, 3});
  raw.set_raw_data(RawOf(values));
  EXPECT_EQ(FloatsOk(raw), values);

  onnx::TensorProto listed = Empty("listed", onnx::TensorProto::FLOAT, {3, 2});
  for (float v : values) listed.add_float_data(v);
  EXPECT_EQ(FloatsOk(listed), values);

  const std::vector<int64_t> dims = {6};
  EXPECT_EQ(FloatsOk(MakeFloatTensor("made", dims, values)), values);
}

TEST(ToFloatsTest, Float16BitPatterns) {
  // 1, -2, 0.5, 65504 (largest half), 2^-24 (smallest subnormal), 2^-15 (a subnormal), -0, +inf.
  const std::vector<uint16_t> bits = {0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x0200, 0x8000, 0x7C00};
  const std::vector<float> expected = {1.0F,
                                       -2.0F,
                                       0.5F,
                                       65504.0F,
                                       std::ldexp(1.0F, -24),
                                       std::ldexp(1.0F, -15),
                                       -0.0F,
                                       std::numeric_limits<float>::infinity()};
  onnx::TensorProto raw = Empty("half", onnx::TensorProto::FLOAT16, {8});
  raw.set_raw_data(RawOf(bits));
  const auto from_raw = FloatsOk(raw);
  EXPECT_EQ(from_raw, expected);
  ASSERT_EQ(from_raw.size(), 8U);
  EXPECT_TRUE(std::signbit(from_raw[6]));

  // The int32_data form holds one half per entry.
  onnx::TensorProto listed = Empty("half", onnx::TensorProto::FLOAT16, {8});
  for (uint16_t b : bits) listed.add_int32_data(b);
  EXPECT_EQ(FloatsOk(listed), expected);

  onnx::TensorProto nan = Empty("nan", onnx::TensorProto::FLOAT16, {1});
  nan.set_raw_data(RawOf(std::vector<uint16_t>{0x7E00}));
  EXPECT_TRUE(std::isnan(FloatsOk(nan)[0]));
}

TEST(ToFloatsTest, DoubleRawAndDoubleData) {
  const std::vector<double> values = {0.1, -1e10, 2.5};
  onnx::TensorProto raw = Empty("d", onnx::TensorProto::DOUBLE, {3});
  raw.set_raw_data(RawOf(values));
  EXPECT_EQ(FloatsOk(raw), (std::vector<float>{0.1F, -1e10F, 2.5F}));

  onnx::TensorProto listed = Empty("d", onnx::TensorProto::DOUBLE, {1, 3});
  for (double v : values) listed.add_double_data(v);
  EXPECT_EQ(FloatsOk(listed), (std::vector<float>{0.1F, -1e10F, 2.5F}));
}

TEST(ToFloatsTest, IntegerTensorsConvert) {
  onnx::TensorProto i64 = Empty("i", onnx::TensorProto::INT64, {3});
  for (int64_t v : {-3, 0, 100000}) i64.add_int64_data(v);
  EXPECT_EQ(FloatsOk(i64), (std::vector<float>{-3, 0, 100000}));
  onnx::TensorProto i32 = Empty("i", onnx::TensorProto::INT32, {2});
  i32.set_raw_data(RawOf(std::vector<int32_t>{-7, 9}));
  EXPECT_EQ(FloatsOk(i32), (std::vector<float>{-7, 9}));
}

TEST(ToFloatsTest, ErrorsNameTheTensor) {
  onnx::TensorProto short_raw = Empty("short_weights", onnx::TensorProto::FLOAT, {2, 2});
  short_raw.set_raw_data(RawOf(std::vector<float>{1, 2, 3}));
  auto values = ToFloats(short_raw);
  ASSERT_FALSE(values.ok());
  EXPECT_EQ(values.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(values.status().message().find("'short_weights'"), std::string::npos) << values.status().message();

  onnx::TensorProto strings = Empty("labels", onnx::TensorProto::STRING, {1});
  strings.add_string_data("cat");
  values = ToFloats(strings);
  ASSERT_FALSE(values.ok());
  EXPECT_EQ(values.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(values.status().message().find("'labels'"), std::string::npos) << values.status().message();
}

TEST(MakeIntTensorTest, RawLayoutIsLittleEndianOfTheRequestedWidth) {
  const std::vector<int64_t> dims = {3};

  const auto i8 = MakeIntTensor("q", onnx::TensorProto::INT8, dims, std::vector<int64_t>{-1, 127, -128});
  EXPECT_EQ(i8.name(), "q");
  EXPECT_EQ(i8.data_type(), onnx::TensorProto::INT8);
  EXPECT_EQ(std::vector<int64_t>(i8.dims().begin(), i8.dims().end()), dims);
  EXPECT_EQ(i8.raw_data(), std::string("\xFF\x7F\x80", 3));

  const auto u8 = MakeIntTensor("zp", onnx::TensorProto::UINT8, dims, std::vector<int64_t>{0, 200, 255});
  EXPECT_EQ(u8.data_type(), onnx::TensorProto::UINT8);
  EXPECT_EQ(u8.raw_data(), std::string("\x00\xC8\xFF", 3));

  const auto i32 = MakeIntTensor("bias", onnx::TensorProto::INT32, dims, std::vector<int64_t>{1, -2, 65536});
  EXPECT_EQ(i32.data_type(), onnx::TensorProto::INT32);
  EXPECT_EQ(i32.raw_data(), std::string("\x01\x00\x00\x00"
                                        "\xFE\xFF\xFF\xFF"
                                        "\x00\x00\x01\x00",
                                        12));
  EXPECT_EQ(i32.int32_data_size(), 0);  // raw only

  // The tensors read back as the values they were made from.
  auto back = ToInt64s(i8);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, (std::vector<int64_t>{-1, 127, -128}));
  back = ToInt64s(u8);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, (std::vector<int64_t>{0, 200, 255}));
  back = ToInt64s(i32);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, (std::vector<int64_t>{1, -2, 65536}));

  // A scalar has no dims and one value.
  const auto scalar = MakeIntTensor("s", onnx::TensorProto::INT64, {}, std::vector<int64_t>{-5});
  EXPECT_EQ(scalar.dims_size(), 0);
  EXPECT_EQ(ElementCount(scalar), 1);
  EXPECT_EQ(scalar.raw_data().size(), 8U);
}

TEST(MakeFloatTensorTest, ScalarAndDims) {
  const auto s = MakeScalarFloat("scale", 0.125F);
  EXPECT_EQ(s.data_type(), onnx::TensorProto::FLOAT);
  EXPECT_EQ(s.dims_size(), 0);
  EXPECT_EQ(FloatsOk(s), std::vector<float>{0.125F});

  const std::vector<int64_t> dims = {2, 1, 2};
  const auto t = MakeFloatTensor("w", dims, std::vector<float>{1, 2, 3, 4});
  EXPECT_EQ(Dims(t), dims);
  EXPECT_EQ(ElementCount(t), 4);
  EXPECT_EQ(t.raw_data().size(), 16U);
}

TEST(HalfConversionTest, HandComputedBitPatterns) {
  EXPECT_EQ(HalfToFloat(0x3C00), 1.0F);
  EXPECT_EQ(HalfToFloat(0x7BFF), 65504.0F);
  EXPECT_EQ(HalfToFloat(0x0400), std::ldexp(1.0F, -14));            // smallest normal
  EXPECT_EQ(HalfToFloat(0x03FF), 1023.0F * std::ldexp(1.0F, -24));  // largest subnormal
  EXPECT_EQ(HalfToFloat(0xFC00), -std::numeric_limits<float>::infinity());

  EXPECT_EQ(FloatToHalf(1.0F), 0x3C00);
  EXPECT_EQ(FloatToHalf(-2.0F), 0xC000);
  EXPECT_EQ(FloatToHalf(0.5F), 0x3800);
  EXPECT_EQ(FloatToHalf(65504.0F), 0x7BFF);
  // 0.1 = 1.6 x 2^-4: exponent 11 (0x2C00), mantissa 0.6 x 1024 = 614.4 -> 614 = 0x266.
  EXPECT_EQ(FloatToHalf(0.1F), 0x2E66);
  EXPECT_EQ(FloatToHalf(0.0F), 0x0000);
  EXPECT_EQ(FloatToHalf(-0.0F), 0x8000);
}

TEST(HalfConversionTest, RoundsToNearestEven) {
  // 1 + 2^-11 lies halfway between 1 (0x3C00, even) and 1 + 2^-10 (0x3C01): the even one wins.
  EXPECT_EQ(FloatToHalf(1.0F + std::ldexp(1.0F, -11)), 0x3C00);
  // 1 + 3 x 2^-11 lies halfway between 0x3C01 (odd) and 0x3C02.
  EXPECT_EQ(FloatToHalf(1.0F + 3.0F * std::ldexp(1.0F, -11)), 0x3C02);
  // Just above the halfway point rounds up.
  EXPECT_EQ(FloatToHalf(std::nextafter(1.0F + std::ldexp(1.0F, -11), 2.0F)), 0x3C01);
  // A carry out of the mantissa moves to the next exponent: 2 - 2^-12 rounds to 2.
  EXPECT_EQ(FloatToHalf(2.0F - std::ldexp(1.0F, -12)), 0x4000);
}

TEST(HalfConversionTest, OverflowInfAndNan) {
  // 65520 is halfway between 65504 (0x7BFF, odd) and 65536 (not representable): it becomes inf.
  EXPECT_EQ(FloatToHalf(65519.0F), 0x7BFF);
  EXPECT_EQ(FloatToHalf(65520.0F), 0x7C00);
  EXPECT_EQ(FloatToHalf(1e6F), 0x7C00);
  EXPECT_EQ(FloatToHalf(-1e6F), 0xFC00);
  EXPECT_EQ(FloatToHalf(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(FloatToHalf(-std::numeric_limits<float>::infinity()), 0xFC00);
  const uint16_t nan = FloatToHalf(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7C00, 0x7C00);
  EXPECT_NE(nan & 0x03FF, 0);
  EXPECT_TRUE(std::isnan(HalfToFloat(nan)));
}

TEST(HalfConversionTest, Subnormals) {
  const float tiny = std::ldexp(1.0F, -24);  // 0x0001
  EXPECT_EQ(FloatToHalf(tiny), 0x0001);
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0F, -14)), 0x0400);
  EXPECT_EQ(FloatToHalf(1023.0F * tiny), 0x03FF);
  EXPECT_EQ(FloatToHalf(0.5F * tiny), 0x0000);   // halfway between 0 and 0x0001: even (0)
  EXPECT_EQ(FloatToHalf(0.75F * tiny), 0x0001);  // above halfway
  EXPECT_EQ(FloatToHalf(1.5F * tiny), 0x0002);   // halfway between 0x0001 and 0x0002: even
  EXPECT_EQ(FloatToHalf(2.5F * tiny), 0x0002);   // halfway between 0x0002 and 0x0003: even
  EXPECT_EQ(FloatToHalf(-tiny), 0x8001);
  EXPECT_EQ(FloatToHalf(1e-40F), 0x0000);  // a float subnormal
  EXPECT_EQ(FloatToHalf(-1e-30F), 0x8000);
}

TEST(HalfConversionTest, EveryHalfRoundTrips) {
  for (uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    const auto half = static_cast<uint16_t>(bits);
    const float value = HalfToFloat(half);
    if (std::isnan(value)) continue;
    ASSERT_EQ(FloatToHalf(value), half) << std::hex << bits;
  }
}

TEST(BFloat16ConversionTest, HandComputedBitPatterns) {
  EXPECT_EQ(BFloat16ToFloat(0x3F80), 1.0F);
  EXPECT_EQ(BFloat16ToFloat(0xC000), -2.0F);
  EXPECT_EQ(BFloat16ToFloat(0x7F80), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(BFloat16ToFloat(0x7FC0)));
  EXPECT_EQ(FloatToBFloat16(1.0F), 0x3F80);
  EXPECT_EQ(FloatToBFloat16(3.14159274F), 0x4049);  // 0x40490FDB: the dropped half 0x0FDB rounds down
  // 1 + 2^-8 (0x3F808000) is halfway between 0x3F80 (even) and 0x3F81; 1 + 3 x 2^-8 between 0x3F81 and 0x3F82.
  EXPECT_EQ(FloatToBFloat16(1.0F + std::ldexp(1.0F, -8)), 0x3F80);
  EXPECT_EQ(FloatToBFloat16(1.0F + 3.0F * std::ldexp(1.0F, -8)), 0x3F82);
  EXPECT_TRUE(std::isnan(BFloat16ToFloat(FloatToBFloat16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(ToFloatsTest, BFloat16RawAndInt32Data) {
  const std::vector<uint16_t> bits = {0x3F80, 0xC000, 0x3F00, 0x0000};
  const std::vector<float> expected = {1.0F, -2.0F, 0.5F, 0.0F};
  onnx::TensorProto raw = Empty("bf", onnx::TensorProto::BFLOAT16, {2, 2});
  raw.set_raw_data(RawOf(bits));
  EXPECT_EQ(FloatsOk(raw), expected);
  onnx::TensorProto listed = Empty("bf", onnx::TensorProto::BFLOAT16, {4});
  for (uint16_t b : bits) listed.add_int32_data(b);
  EXPECT_EQ(FloatsOk(listed), expected);
}

TEST(MakeFloat16TensorTest, RoundsToHalf) {
  const std::vector<int64_t> dims = {3};
  const auto t = MakeFloat16Tensor("h", dims, std::vector<float>{1.0F, 0.1F, 70000.0F});
  EXPECT_EQ(t.data_type(), onnx::TensorProto::FLOAT16);
  EXPECT_EQ(Dims(t), dims);
  ASSERT_EQ(t.raw_data().size(), 6U);
  EXPECT_EQ(t.raw_data(), RawOf(std::vector<uint16_t>{0x3C00, 0x2E66, 0x7C00}));
  const auto back = FloatsOk(t);
  ASSERT_EQ(back.size(), 3U);
  EXPECT_EQ(back[0], 1.0F);
  EXPECT_EQ(back[1], 0.0999755859375F);
  EXPECT_TRUE(std::isinf(back[2]));
}

}  // namespace
}  // namespace onnxq
