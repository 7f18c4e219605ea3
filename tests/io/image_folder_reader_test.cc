// The image-folder reader: order, labels, sampling across classes, skipped files, batches.
#include "io/image_folder_reader.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "testing/image_writer.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::WriteBytes;

// A 2x2 gray image whose pixels all hold `value`: the sample then reads back as value / 255.
void WriteImage(const fs::path& path, uint8_t value) {
  const std::string ext = path.extension().string();
  if (ext == ".jpg" || ext == ".JPG") {
    WriteBytes(path, testing::EncodeJpeg(std::vector<uint8_t>(2 * 2 * 3, value), 2, 2));
  } else {
    WriteBytes(path, testing::EncodeGrayPng(std::vector<uint8_t>(4, value), 2, 2));
  }
}

ImageFolderOptions GrayUnit(int64_t batch_size = 1, int64_t max_samples = -1) {
  ImageFolderOptions o{.batch_size = batch_size, .max_samples = max_samples};
  o.preprocess = {.resize_shorter = 0, .crop_h = 0, .crop_w = 0, .color = ColorOrder::kGray};
  return o;
}

// Every sample's first value, times 255, and its label, reading to the end.
struct Read {
  std::vector<int> values;
  std::vector<int> labels;
  std::vector<int64_t> batch_sizes;
};
Read ReadAll(ImageFolderReader& reader) {
  Read read;
  for (;;) {
    auto next = reader.GetNext();
    EXPECT_TRUE(next.ok()) << next.status().message();
    if (!next.ok() || !next->has_value()) break;
    const Tensor& t = (**next)[0];
    EXPECT_EQ(t.name, "x");
    EXPECT_EQ(t.shape.size(), 4U);
    read.batch_sizes.push_back(t.shape[0]);
    for (int64_t i = 0; i < t.shape[0]; ++i) {
      read.values.push_back(static_cast<int>(std::lround(t.floats()[static_cast<size_t>(i * 4)] * 255)));
    }
    read.labels.insert(read.labels.end(), reader.batch_labels().begin(), reader.batch_labels().end());
  }
  return read;
}

class ImageFolderReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir(std::string("images-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(ImageFolderReaderTest, ClassFoldersSortedFilesSortedLabelsByFolder) {
  // Made out of order; "10.png" sorts before "2.png". Other files and empty folders are left out.
  fs::create_directories(dir_ / "b_cat");
  fs::create_directories(dir_ / "a_ant");
  fs::create_directories(dir_ / "c_cow");
  fs::create_directories(dir_ / "0_empty");
  WriteImage(dir_ / "b_cat" / "2.png", 21);
  WriteImage(dir_ / "b_cat" / "10.PNG", 20);
  WriteImage(dir_ / "a_ant" / "x.png", 10);
  WriteImage(dir_ / "c_cow" / "a.JPG", 30);
  WriteBytes(dir_ / "c_cow" / "notes.txt", "not an image");
  ASSERT_TRUE(IsImageFolder(dir_));
  auto reader = ImageFolderReader::Open(dir_, "x", {-1, 1, 2, 2}, GrayUnit());
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ((*reader)->listing().classes, (std::vector<std::string>{"a_ant", "b_cat", "c_cow"}));
  EXPECT_EQ((*reader)->SampleCount(), 4);
  const Read read = ReadAll(**reader);
  ASSERT_EQ(read.values.size(), 4U);
  EXPECT_EQ(read.values[0], 10);
  EXPECT_EQ(read.values[1], 20);
  EXPECT_EQ(read.values[2], 21);
  EXPECT_NEAR(read.values[3], 30, 2);  // JPEG
  EXPECT_EQ(read.labels, (std::vector<int>{0, 1, 1, 2}));
  EXPECT_EQ((*reader)->skipped(), 0);
}

TEST_F(ImageFolderReaderTest, MaxSamplesTakesEvenlyAcrossClasses) {
  // a: 3 images, b: 1, c: 3; 5 samples round-robin: a, b, c, a, c -> a0 a1 b0 c0 c1.
  for (const auto& [cls, count] : std::vector<std::pair<std::string, int>>{{"a", 3}, {"b", 1}, {"c", 3}}) {
    fs::create_directories(dir_ / cls);
    for (int i = 0; i < count; ++i) {
      WriteImage(dir_ / cls / (std::to_string(i) + ".png"), static_cast<uint8_t>((cls[0] - 'a' + 1) * 10 + i));
    }
  }
  auto reader = ImageFolderReader::Open(dir_, "x", {1, 1, 2, 2}, GrayUnit(2, 5));
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  const Read read = ReadAll(**reader);
  EXPECT_EQ(read.values, (std::vector<int>{10, 11, 20, 30, 31}));
  EXPECT_EQ(read.labels, (std::vector<int>{0, 0, 1, 2, 2}));
  EXPECT_EQ(read.batch_sizes, (std::vector<int64_t>{2, 2, 1}));
  // Rewind reads the same again.
  ASSERT_TRUE((*reader)->Rewind().ok());
  EXPECT_EQ(ReadAll(**reader).values, read.values);
}

TEST_F(ImageFolderReaderTest, CorruptImageIsSkippedWithAWarningNamingIt) {
  WriteImage(dir_ / "0.png", 1);
  WriteBytes(dir_ / "1.png", "\x89PNG\r\n\x1a\n garbage");
  WriteImage(dir_ / "2.png", 3);
  auto reader = ImageFolderReader::Open(dir_, "x", {-1, 1, 2, 2}, GrayUnit(3));
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  const Read read = ReadAll(**reader);
  EXPECT_EQ(read.values, (std::vector<int>{1, 3}));
  EXPECT_EQ(read.labels, (std::vector<int>{0, 0}));  // a flat folder is one class
  EXPECT_EQ(read.batch_sizes, (std::vector<int64_t>{2}));
  EXPECT_EQ((*reader)->skipped(), 1);
  ASSERT_EQ((*reader)->warnings().size(), 1U);
  EXPECT_NE((*reader)->warnings()[0].find("skipped image '" + (dir_ / "1.png").string() + "'"), std::string::npos)
      << (*reader)->warnings()[0];
}

TEST_F(ImageFolderReaderTest, ShapeMismatchesSayWhichOptionToGive) {
  WriteImage(dir_ / "0.png", 1);
  ImageFolderOptions rgb = GrayUnit();
  rgb.preprocess.color = ColorOrder::kRgb;
  auto channels = ImageFolderReader::Open(dir_, "x", {1, 1, 2, 2}, rgb);
  ASSERT_FALSE(channels.ok());
  EXPECT_NE(channels.status().message().find("--color gray"), std::string::npos) << channels.status().message();
  ImageFolderOptions crop = GrayUnit();
  crop.preprocess.crop_h = 3;
  crop.preprocess.crop_w = 3;
  auto size = ImageFolderReader::Open(dir_, "x", {1, 1, 2, 2}, crop);
  ASSERT_FALSE(size.ok());
  EXPECT_NE(size.status().message().find("--crop 2,2"), std::string::npos) << size.status().message();
  auto symbolic = ImageFolderReader::Open(dir_, "x", {-1, 1, -1, -1}, GrayUnit());
  ASSERT_FALSE(symbolic.ok());
  EXPECT_NE(symbolic.status().message().find("--crop H,W"), std::string::npos);
}

TEST_F(ImageFolderReaderTest, NhwcAndFoldersWithoutImages) {
  WriteImage(dir_ / "0.png", 7);
  ImageFolderOptions o = GrayUnit();
  o.preprocess.layout = ImageLayout::kNhwc;
  auto reader = ImageFolderReader::Open(dir_, "x", {-1, 2, 2, 1}, o);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  auto next = (*reader)->GetNext();
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((**next)[0].shape, (std::vector<int64_t>{1, 2, 2, 1}));

  const fs::path npy = dir_ / "npy";
  fs::create_directories(npy);
  WriteBytes(npy / "x.npy", "not read");
  EXPECT_FALSE(IsImageFolder(npy));
  auto none = ListImageFolder(npy, -1);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find(npy.string()), std::string::npos);
}

}  // namespace
}  // namespace onnxq
