// JPEG and PNG decoding, on files the test encodes itself.
#include "io/image_decode.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "testing/image_writer.h"

namespace onnxq {
namespace {

std::span<const std::byte> Bytes(const std::string& s) { return std::as_bytes(std::span<const char>(s)); }

std::vector<uint8_t> Gradient(int width, int height) {
  std::vector<uint8_t> rgb;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      rgb.push_back(static_cast<uint8_t>(x * 40));
      rgb.push_back(static_cast<uint8_t>(y * 60));
      rgb.push_back(static_cast<uint8_t>(200));
    }
  }
  return rgb;
}

TEST(ImageDecodeTest, PngRoundTripsExactly) {
  const std::vector<uint8_t> rgb = Gradient(5, 3);
  auto image = DecodeImage(Bytes(testing::EncodePng(rgb, 5, 3)));
  ASSERT_TRUE(image.ok()) << image.status().message();
  EXPECT_EQ(image->width, 5);
  EXPECT_EQ(image->height, 3);
  EXPECT_EQ(image->pixels, rgb);
}

TEST(ImageDecodeTest, GrayPngBecomesEqualChannels) {
  auto image = DecodeImage(Bytes(testing::EncodeGrayPng({0, 77, 255, 9}, 2, 2)));
  ASSERT_TRUE(image.ok()) << image.status().message();
  EXPECT_EQ(image->pixels, (std::vector<uint8_t>{0, 0, 0, 77, 77, 77, 255, 255, 255, 9, 9, 9}));
}

TEST(ImageDecodeTest, JpegDecodesCloseToItsPixels) {
  // A flat color survives JPEG almost exactly (the chroma subsampling of a flat image loses nothing).
  const std::vector<uint8_t> rgb(16 * 8 * 3, 0);
  std::vector<uint8_t> flat;
  for (int i = 0; i < 16 * 8; ++i) flat.insert(flat.end(), {180, 60, 20});
  auto image = DecodeImage(Bytes(testing::EncodeJpeg(flat, 16, 8)));
  ASSERT_TRUE(image.ok()) << image.status().message();
  EXPECT_EQ(image->width, 16);
  EXPECT_EQ(image->height, 8);
  ASSERT_EQ(image->pixels.size(), flat.size());
  for (size_t i = 0; i < flat.size(); ++i) EXPECT_LE(std::abs(image->pixels[i] - flat[i]), 3) << "at " << i;
}

TEST(ImageDecodeTest, DamagedFilesAreErrors) {
  const std::string jpeg = testing::EncodeJpeg(Gradient(6, 6), 6, 6);
  const std::string png = testing::EncodePng(Gradient(6, 6), 6, 6);
  const auto truncated_jpeg = DecodeImage(Bytes(jpeg.substr(0, jpeg.size() / 2)));
  ASSERT_FALSE(truncated_jpeg.ok());
  EXPECT_NE(truncated_jpeg.status().message().find("JPEG"), std::string::npos) << truncated_jpeg.status().message();
  const auto truncated_png = DecodeImage(Bytes(png.substr(0, png.size() - 20)));
  ASSERT_FALSE(truncated_png.ok());
  EXPECT_NE(truncated_png.status().message().find("PNG"), std::string::npos) << truncated_png.status().message();
  const auto header_only = DecodeImage(Bytes(jpeg.substr(0, 3)));
  EXPECT_FALSE(header_only.ok());
  const auto text = DecodeImage(Bytes(std::string("not an image at all")));
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("neither a JPEG nor a PNG"), std::string::npos);
  EXPECT_FALSE(DecodeImage({}).ok());
}

}  // namespace
}  // namespace onnxq
