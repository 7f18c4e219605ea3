// Image preprocessing on tiny images, every expected value worked by hand in the comments.
#include "algorithms/image_preprocess.h"

#include <gtest/gtest.h>

#include <vector>

namespace onnxq {
namespace {

// A 2x2 RGB image: R = [[0, 100], [200, 40]], G = 255, B = 0.
std::vector<uint8_t> TwoByTwo() { return {0, 255, 0, 100, 255, 0, 200, 255, 0, 40, 255, 0}; }

void ExpectNear(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5F) << "at " << i;
}

TEST(ImagePreprocessTest, BilinearUpsamplingAtHalfPixelCenters) {
  // 2 -> 4: src = (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25, clamped to 0, 0.25, 0.75, 1.
  // Row 0: 0, 25, 75, 100. Row 3 (from 200, 40): 200, 160, 80, 40.
  // Row 1 = row 0 + 0.25 (row 3 - row 0): 50, 58.75, 76.25, 85. Row 2 with 0.75: 150, 126.25, 78.75, 55.
  const std::vector<float> in = {0, 100, 200, 40};
  ExpectNear(ResizeBilinear(in, 1, 2, 2, 4, 4),
             {0, 25, 75, 100, 50, 58.75F, 76.25F, 85, 150, 126.25F, 78.75F, 55, 200, 160, 80, 40});
}

TEST(ImagePreprocessTest, BilinearDownsamplingAveragesNeighbours) {
  // 4 -> 2 columns: src = (i + 0.5) * 2 - 0.5 = 0.5, 2.5: the mean of columns 0,1 and of 2,3.
  const std::vector<float> in = {0, 10, 20, 40};
  ExpectNear(ResizeBilinear(in, 1, 1, 4, 1, 2), {5, 30});
}

TEST(ImagePreprocessTest, ResizeCropUnitNchw) {
  // Resize the shorter side to 4 (the 4x4 above), crop 2x2 at top = left = 1: R = 58.75, 76.25,
  // 126.25, 78.75 over 255; G = 1; B = 0.
  ImagePreprocessOptions o{.resize_shorter = 4, .crop_h = 2, .crop_w = 2};
  std::vector<float> out(12);
  ASSERT_TRUE(PreprocessImage(TwoByTwo(), 2, 2, o, out).ok());
  ExpectNear(out, {58.75F / 255, 76.25F / 255, 126.25F / 255, 78.75F / 255, 1, 1, 1, 1, 0, 0, 0, 0});
}

TEST(ImagePreprocessTest, NhwcInterleavesTheChannels) {
  ImagePreprocessOptions o{.resize_shorter = 4, .crop_h = 2, .crop_w = 2, .layout = ImageLayout::kNhwc};
  std::vector<float> out(12);
  ASSERT_TRUE(PreprocessImage(TwoByTwo(), 2, 2, o, out).ok());
  ExpectNear(out, {58.75F / 255, 1, 0, 76.25F / 255, 1, 0, 126.25F / 255, 1, 0, 78.75F / 255, 1, 0});
}

TEST(ImagePreprocessTest, BgrTakesTheMeanAndStdOfItsChannel) {
  // No resize (0: the 2x2 image already covers the crop). Channel 0 is B: (0 - 0.25) / 0.5 = -0.5;
  // channel 1 is G: (1 - 0.5) / 0.25 = 2; channel 2 is R with mean 0 and std 1: r / 255.
  ImagePreprocessOptions o{.resize_shorter = 0,
                           .crop_h = 2,
                           .crop_w = 2,
                           .mean = {0.0F, 0.5F, 0.25F},
                           .std = {1.0F, 0.25F, 0.5F},
                           .color = ColorOrder::kBgr};
  std::vector<float> out(12);
  ASSERT_TRUE(PreprocessImage(TwoByTwo(), 2, 2, o, out).ok());
  ExpectNear(out, {-0.5F, -0.5F, -0.5F, -0.5F, 2, 2, 2, 2, 0, 100.0F / 255, 200.0F / 255, 40.0F / 255});
}

TEST(ImagePreprocessTest, GrayWeighsTheChannelsAndKeepsGrayPixels) {
  // Pixels: pure red -> 0.299; pure green -> 0.587; pure blue -> 0.114; (77, 77, 77) -> 77 exactly.
  // Symmetric: 2 v - 1.
  const std::vector<uint8_t> rgb = {255, 0, 0, 0, 255, 0, 0, 0, 255, 77, 77, 77};
  ImagePreprocessOptions o{.resize_shorter = 0, .crop_h = 2, .crop_w = 2, .color = ColorOrder::kGray};
  o.mean = {0.5F, 0.5F, 0.5F};
  o.std = {0.5F, 0.5F, 0.5F};
  std::vector<float> out(4);
  ASSERT_TRUE(PreprocessImage(rgb, 2, 2, o, out).ok());
  ExpectNear(out, {2 * 0.299F - 1, 2 * 0.587F - 1, 2 * 0.114F - 1, 2 * 77.0F / 255 - 1});
}

TEST(ImagePreprocessTest, LongerSideFollowsAndTooLargeACropIsRefused) {
  // 3 wide, 2 high, shorter side to 3: width int(3 * 3 / 2) = 4. A 3x4 crop fits, 3x5 does not.
  const std::vector<uint8_t> rgb(3 * 2 * 3, 128);
  ImagePreprocessOptions o{.resize_shorter = 3, .crop_h = 3, .crop_w = 4};
  std::vector<float> out(3 * 3 * 4);
  EXPECT_TRUE(PreprocessImage(rgb, 3, 2, o, out).ok());
  for (const float v : out) EXPECT_NEAR(v, 128.0F / 255, 1e-6F);
  o.crop_w = 5;
  out.resize(3 * 3 * 5);
  const Status s = PreprocessImage(rgb, 3, 2, o, out);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("resized to 3x4"), std::string::npos) << s.message();
}

TEST(ImagePreprocessTest, Presets) {
  auto imagenet = ImagePreprocessPreset("imagenet");
  ASSERT_TRUE(imagenet.ok());
  EXPECT_EQ(imagenet->resize_shorter, 256);
  EXPECT_EQ(imagenet->crop_h, 224);
  EXPECT_FLOAT_EQ(imagenet->mean[1], 0.456F);
  EXPECT_FLOAT_EQ(imagenet->std[2], 0.225F);
  auto ocr = ImagePreprocessPreset("paddleocr");
  ASSERT_TRUE(ocr.ok());
  EXPECT_EQ(ocr->color, ColorOrder::kBgr);
  EXPECT_EQ(ocr->crop_h, 0);
  EXPECT_FLOAT_EQ(ocr->std[0], 0.5F);
  auto unit = ImagePreprocessPreset("unit");
  ASSERT_TRUE(unit.ok());
  EXPECT_FLOAT_EQ(unit->mean[0], 0.0F);
  EXPECT_FLOAT_EQ(unit->std[0], 1.0F);
  auto bad = ImagePreprocessPreset("coco");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'coco'"), std::string::npos);
}

}  // namespace
}  // namespace onnxq
