// Calibration data as a folder of images: class folders of PNGs quantize the Fashion-MNIST model.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "onnxq/model_io.h"
#include "testing/image_writer.h"

#include "cli_fixture.h"

namespace onnxq {
namespace {

// 10 class folders of 3 28x28 grayscale PNGs each (a pattern per image), and one file that is no image.
void WriteImageFolder(const fs::path& dir) {
  for (int c = 0; c < 10; ++c) {
    const fs::path cls = dir / (std::to_string(c) + "_class");
    fs::create_directories(cls);
    for (int i = 0; i < 3; ++i) {
      std::vector<uint8_t> gray(28 * 28);
      for (size_t p = 0; p < gray.size(); ++p) gray[p] = static_cast<uint8_t>((p * (c + 1) + i * 37) % 256);
      WriteBytes(cls / ("img" + std::to_string(i) + ".png"), testing::EncodeGrayPng(gray, 28, 28));
    }
  }
  WriteBytes(dir / "3_class" / "broken.png", "\x89PNG\r\n\x1a\n truncated");
}

bool HasQuantizeLinear(const std::string& path) {
  auto model = LoadModel(path);
  EXPECT_TRUE(model.ok()) << model.status().message();
  return model.ok() && std::any_of(model->graph().node().begin(), model->graph().node().end(),
                                   [](const onnx::NodeProto& n) { return n.op_type() == "QuantizeLinear"; });
}

TEST_F(CliTest, QuantizesFromAFolderOfImageClasses) {
  const fs::path images = work_ / "images";
  WriteImageFolder(images);
  const CliRun run = RunCli({"quantize", Model(), Output(), "--calib-data", images.string(), "--color", "gray",
                             "--mean", "0.286", "--std", "0.353"},
                            logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("calibration       30 samples"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("onnxq: warning: skipped image '" + (images / "3_class" / "broken.png").string() + "'"),
            std::string::npos)
      << run.err;
  EXPECT_TRUE(HasQuantizeLinear(Output()));
}

TEST_F(CliTest, ImageOptionsComeFromAnOptionsFileAndTheCommandLineWins) {
  const fs::path images = work_ / "images";
  WriteImageFolder(images);
  const fs::path file = work_ / "gray.toml";
  WriteBytes(file, "[quantize]\ncolor = \"gray\"\nmean = [0.286]\nstd = [0.353]\ncalib-data-size = 20\n");
  const CliRun run =
      RunCli({"quantize", Model(), Output(), "--calib-data", images.string(), "--options-file", file.string()}, logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  // Two of each class, 3_class's broken.png among them.
  EXPECT_NE(run.out.find("calibration       19 samples (1 unreadable image skipped)"), std::string::npos) << run.out;
  fs::remove(Output());
  // The command line's --color rgb over the file's gray: three channels for a one-channel model.
  ExpectCleanFailure({"quantize", Model(), Output(), "--calib-data", images.string(), "--options-file", file.string(),
                      "--color", "rgb"},
                     {"--color gray"});
  // A name no option has, and a file that is not there: one-line errors naming them.
  const fs::path unknown = work_ / "unknown.toml";
  WriteBytes(unknown, "[quantize]\ncolour = \"gray\"\n");
  ExpectCleanFailure(
      {"quantize", Model(), Output(), "--calib-data", images.string(), "--options-file", unknown.string()},
      {"--options-file", "quantize.colour"});
  ExpectCleanFailure({"quantize", Model(), Output(), "--options-file", (work_ / "missing.toml").string()},
                     {"missing.toml"});
}

TEST_F(CliTest, ImageOptionsAreCheckedAgainstTheModel) {
  const fs::path images = work_ / "images";
  WriteImageFolder(images);
  // The model takes one channel: RGB images need --color gray.
  ExpectCleanFailure({"quantize", Model(), Output(), "--calib-data", images.string()}, {"--color gray"});
  ExpectCleanFailure(
      {"quantize", Model(), Output(), "--calib-data", images.string(), "--preprocess", "imagenet", "--color", "gray"},
      {"--crop 28,28"});
  ExpectCleanFailure({"quantize", Model(), Output(), "--calib-data", images.string(), "--color", "grey"},
                     {"--color 'grey'"});
  ExpectCleanFailure({"quantize", Model(), Output(), "--calib-data", images.string(), "--color", "gray", "--mean", "a"},
                     {"--mean 'a'"});
}

TEST_F(CliTest, ImageSamplesAreLimitedEvenlyAndResized) {
  // 10 samples, one a class (the first file of each); resized to 32 and center-cropped back to the model's
  // 28x28; symmetric preset. Class 3's first file is broken.png (it sorts before img0.png): 9 samples.
  const fs::path images = work_ / "images";
  WriteImageFolder(images);
  const CliRun run =
      RunCli({"calibrate", Model(), "-o", (out_dir_ / "table.json").string(), "--calib-data", images.string(),
              "--color", "gray", "--preprocess", "symmetric", "--resize", "32", "--calib-data-size", "10"},
             logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("samples           9\n"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("skipped image '" + (images / "3_class" / "broken.png").string() + "'"), std::string::npos)
      << run.err;
}

}  // namespace
}  // namespace onnxq
