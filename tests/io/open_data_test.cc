// OpenData: each kind of data source (a .npy, NAME=PATH entries, a folder of <input>.npy, a raw file,
// .npz samples, a folder of images) read into batches, and the errors that name what to give instead.
#include "onnxq/open_data.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <utility>
#include <vector>

#include "testing/image_writer.h"
#include "testing/npz_writer.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

namespace fs = std::filesystem;
using testing::ParseModelText;
using testing::TempDir;
using testing::WriteBytes;

// x [N, 2] => y; a second input z [N, 1] in the two-input model.
const char* kOneInput = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,2] x) => (float[N,2] y) { y = Relu (x) }
)";
const char* kTwoInputs = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,2] x, float[N,1] z) => (float[N,2] y) { y = Add (x, z) }
)";

// x = [[0, 1], [2, 3], ...]: sample i holds 2i and 2i + 1.
Tensor Ramp(const std::string& name, int64_t samples, int64_t width) {
  std::vector<float> values(static_cast<size_t>(samples * width));
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i);
  return Tensor::FromFloats(name, {samples, width}, values);
}

// Every batch of `reader`: per batch, its first input's values, and its inputs' names.
struct Batches {
  std::vector<std::vector<float>> values;
  std::vector<std::vector<std::string>> names;
};
Batches ReadAll(CalibrationDataReader& reader) {
  Batches read;
  for (;;) {
    auto next = reader.GetNext();
    EXPECT_TRUE(next.ok()) << next.status().message();
    if (!next.ok() || !next->has_value()) break;
    const Feeds& feeds = **next;
    read.values.emplace_back(feeds[0].floats().begin(), feeds[0].floats().end());
    std::vector<std::string> names;
    for (const Tensor& t : feeds) names.push_back(t.name);
    read.names.push_back(names);
  }
  return read;
}

class OpenDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir(std::string("open-data-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(OpenDataTest, OneNpyFileInBatches) {
  ASSERT_TRUE(WriteNpy(dir_ / "calib.npy", Ramp("x", 3, 2)).ok());
  auto reader = OpenData({.paths = {(dir_ / "calib.npy").string()}, .batch_size = 2}, ParseModelText(kOneInput));
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ((*reader)->SampleCount(), 3);
  const Batches read = ReadAll(**reader);
  // 3 samples in batches of 2: [0 1 2 3], then [4 5].
  ASSERT_EQ(read.values.size(), 2U);
  EXPECT_EQ(read.values[0], (std::vector<float>{0, 1, 2, 3}));
  EXPECT_EQ(read.values[1], (std::vector<float>{4, 5}));
}

TEST_F(OpenDataTest, FolderOfInputNpyFilesAndNamedEntriesReadTheSame) {
  ASSERT_TRUE(WriteNpy(dir_ / "x.npy", Ramp("x", 2, 2)).ok());
  ASSERT_TRUE(WriteNpy(dir_ / "z.npy", Ramp("z", 2, 1)).ok());
  const onnx::ModelProto model = ParseModelText(kTwoInputs);
  for (const std::vector<std::string>& paths :
       {std::vector<std::string>{dir_.string()},
        std::vector<std::string>{"z=" + (dir_ / "z.npy").string(), "x=" + (dir_ / "x.npy").string()}}) {
    auto reader = OpenData({.paths = paths, .batch_size = 4, .max_samples = 1}, model);
    ASSERT_TRUE(reader.ok()) << reader.status().message();
    const Batches read = ReadAll(**reader);
    // max_samples 1: sample 0 only, x = [0, 1] and z = [0].
    ASSERT_EQ(read.values.size(), 1U);
    EXPECT_EQ(read.names[0].size(), 2U);
    const bool x_first = read.names[0][0] == "x";
    EXPECT_EQ(read.values[0], x_first ? (std::vector<float>{0, 1}) : (std::vector<float>{0}));
  }
  // A folder without z.npy names the file and the input.
  fs::remove(dir_ / "z.npy");
  auto missing = OpenData({.paths = {dir_.string()}}, model);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("has no 'z.npy' for input 'z'"), std::string::npos)
      << missing.status().message();
  // One file for a model of two inputs.
  auto one = OpenData({.paths = {(dir_ / "x.npy").string()}}, model);
  ASSERT_FALSE(one.ok());
  EXPECT_NE(one.status().message().find("the model has 2 inputs"), std::string::npos) << one.status().message();
}

TEST_F(OpenDataTest, RawFileTakesItsShapeFromTheSource) {
  // 6 little-endian floats 0.5, 1.5 ... 5.5: three samples of [2] with input_shapes x -> [1, 2].
  std::string bytes;
  for (int i = 0; i < 6; ++i) {
    const float v = static_cast<float>(i) + 0.5F;
    bytes.append(reinterpret_cast<const char*>(&v), sizeof(v));
  }
  WriteBytes(dir_ / "calib.f32", bytes);
  const onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,M] x) => (float[N,M] y) { y = Relu (x) }
)");
  auto reader =
      OpenData({.paths = {(dir_ / "calib.f32").string()}, .input_shapes = {{"x", {1, 2}}}, .batch_size = 3}, model);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  const Batches read = ReadAll(**reader);
  ASSERT_EQ(read.values.size(), 1U);
  EXPECT_EQ(read.values[0], (std::vector<float>{0.5F, 1.5F, 2.5F, 3.5F, 4.5F, 5.5F}));
}

TEST_F(OpenDataTest, NpzSamplesInTheOrderGiven) {
  testing::WriteNpz(dir_ / "b.npz", {Ramp("x", 1, 2)});
  Tensor second = Ramp("x", 1, 2);
  second.mutable_floats()[0] = 7;
  testing::WriteNpz(dir_ / "a.npz", {second});
  // The files as given (b, a), or the folder in name order (a, b).
  auto given = OpenData({.paths = {(dir_ / "b.npz").string(), (dir_ / "a.npz").string()}, .batch_size = 1},
                        ParseModelText(kOneInput));
  ASSERT_TRUE(given.ok()) << given.status().message();
  EXPECT_EQ(ReadAll(**given).values, (std::vector<std::vector<float>>{{0, 1}, {7, 1}}));
  auto folder = OpenData({.paths = {dir_.string()}, .batch_size = 1}, ParseModelText(kOneInput));
  ASSERT_TRUE(folder.ok()) << folder.status().message();
  EXPECT_EQ(ReadAll(**folder).values, (std::vector<std::vector<float>>{{7, 1}, {0, 1}}));
  // .npz beside a .npy: an error naming the entry that is not .npz samples.
  ASSERT_TRUE(WriteNpy(dir_ / "calib.npy", Ramp("x", 1, 2)).ok());
  auto mixed =
      OpenData({.paths = {(dir_ / "a.npz").string(), (dir_ / "calib.npy").string()}}, ParseModelText(kOneInput));
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.status().message().find("calib.npy' is not .npz samples"), std::string::npos)
      << mixed.status().message();
}

TEST_F(OpenDataTest, FolderOfImagesWithItsPreprocessing) {
  // Two 2x2 gray images of 51 and 102: 0.2 and 0.4 with the default ([0, 1]); (0.2 - 0.5) / 0.5 = -0.6
  // and (0.4 - 0.5) / 0.5 = -0.2 with mean 0.5, std 0.5.
  WriteBytes(dir_ / "a.png", testing::EncodeGrayPng(std::vector<uint8_t>(4, 51), 2, 2));
  WriteBytes(dir_ / "b.png", testing::EncodeGrayPng(std::vector<uint8_t>(4, 102), 2, 2));
  const onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,1,2,2] x) => (float[N,1,2,2] y) { y = Relu (x) }
)");
  DataSource source{.paths = {dir_.string()}, .batch_size = 2};
  source.images.color = ColorOrder::kGray;
  for (const auto& [mean, expected] :
       {std::pair{0.0F, std::vector<float>{0.2F, 0.4F}}, std::pair{0.5F, std::vector<float>{-0.6F, -0.2F}}}) {
    source.images.mean = {mean, mean, mean};
    source.images.std = mean == 0.0F ? std::array<float, 3>{1, 1, 1} : std::array<float, 3>{0.5F, 0.5F, 0.5F};
    auto reader = OpenData(source, model);
    ASSERT_TRUE(reader.ok()) << reader.status().message();
    const Batches read = ReadAll(**reader);
    ASSERT_EQ(read.values.size(), 1U);
    ASSERT_EQ(read.values[0].size(), 8U);
    EXPECT_NEAR(read.values[0][0], expected[0], 1e-6);
    EXPECT_NEAR(read.values[0][4], expected[1], 1e-6);
  }
  // Images for a model of two inputs.
  auto two = OpenData(source, ParseModelText(kTwoInputs));
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.status().message().find("images feed a model of one input; this one has 2"), std::string::npos)
      << two.status().message();
}

TEST_F(OpenDataTest, DataInputsNameEveryFileRead) {
  fs::create_directories(dir_ / "samples");
  WriteBytes(dir_ / "samples" / "a.npz", "");
  WriteBytes(dir_ / "samples" / "b.npz", "");
  const auto inputs =
      DataInputs({.paths = {"x=" + (dir_ / "x.npy").string(), (dir_ / "samples").string()}, .batch_size = 1});
  std::vector<std::string> names;
  for (const auto& input : inputs) {
    names.push_back(input.path.filename().string());
    EXPECT_EQ(input.role, "calibration data");
  }
  std::sort(names.begin() + 1, names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"x.npy", "a.npz", "b.npz"}));
}

}  // namespace
}  // namespace onnxq
