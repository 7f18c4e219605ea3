// Evaluation of a classifier: on a folder of class folders of Fashion-MNIST PNGs (data/fmnist/png/val)
// with the labels the folders give, the same per-sample predictions as on the raw arrays of the same
// test images; the top-1 agreement of two reports; data without labels.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "io/image_folder_reader.h"
#include "onnxq/evaluate.h"
#include "onnxq/model_io.h"
#include "testing/test_support.h"
#include "testing/vector_reader.h"

namespace onnxq {
namespace {

namespace fs = std::filesystem;

// Fashion-MNIST's preprocessing (data/fmnist/README.txt): gray, (pixel/255 - 0.2860) / 0.3530.
ImagePreprocessOptions FashionMnistImages() {
  ImagePreprocessOptions p;
  p.resize_shorter = 0;
  p.crop_h = 0;
  p.crop_w = 0;
  p.color = ColorOrder::kGray;
  p.mean = {0.2860F, 0.2860F, 0.2860F};
  p.std = {0.3530F, 0.3530F, 0.3530F};
  return p;
}

// img_00019.png is test image 19.
int64_t TestIndexOf(const fs::path& png) { return std::stoll(png.stem().string().substr(4)); }

TEST(EvaluateTest, AFolderOfClassesGivesTheArraysPredictionsOnTheSameImages) {
  auto model = LoadModel(testing::ModelPath("mbv2_fmnist_bn_dyn.onnx"));
  ASSERT_TRUE(model.ok()) << model.status().message();
  const fs::path val = testing::DataDir() / "png" / "val";
  auto images =
      ImageFolderReader::Open(val, "input", {-1, 1, 28, 28}, {.preprocess = FashionMnistImages(), .batch_size = 64});
  ASSERT_TRUE(images.ok()) << images.status().message();
  auto from_folder = EvaluateClassifier(*model, **images, {});
  ASSERT_TRUE(from_folder.ok()) << from_folder.status().message();
  EXPECT_EQ(from_folder->samples, 500);
  EXPECT_EQ(from_folder->skipped, 0);
  EXPECT_EQ(from_folder->batches, 8);  // 7 x 64 + 52
  ASSERT_EQ(from_folder->predictions.size(), 500U);
  // 92.39 on all 10,000 test images; these 500 are the first 50 of each class.
  EXPECT_GT(from_folder->top1, 85.0);
  EXPECT_LT(from_folder->top1, 99.0);
  EXPECT_GT(from_folder->top5, from_folder->top1);

  // The same test images, as rows of eval_10000.npy in the folder's order, with eval_labels.u8's labels.
  auto listing = ListImageFolder(val, -1);
  ASSERT_TRUE(listing.ok());
  const Tensor all = testing::LoadNpySamples(testing::DataDir() / "eval_10000.npy", "input", 0, 10000);
  auto all_labels = LoadLabels(testing::DataDir() / "eval_labels.u8");
  ASSERT_TRUE(all_labels.ok());
  constexpr size_t kSample = 28 * 28;
  std::vector<float> rows;
  std::vector<int64_t> labels;
  for (const ImageFile& file : listing->files) {
    const auto index = static_cast<size_t>(TestIndexOf(file.path));
    const auto row = all.floats().subspan(index * kSample, kSample);
    rows.insert(rows.end(), row.begin(), row.end());
    labels.push_back((*all_labels)[index]);
    EXPECT_EQ(labels.back(), file.label) << file.path;  // the class folder is the data set's label
  }
  testing::VectorReader arrays({{Tensor::FromFloats("input", {static_cast<int64_t>(labels.size()), 1, 28, 28}, rows)}});
  auto from_arrays = EvaluateClassifier(*model, arrays, labels);
  ASSERT_TRUE(from_arrays.ok()) << from_arrays.status().message();
  EXPECT_EQ(from_folder->predictions, from_arrays->predictions);
  EXPECT_DOUBLE_EQ(from_folder->top1, from_arrays->top1);
  EXPECT_DOUBLE_EQ(from_folder->top5, from_arrays->top5);
  EXPECT_EQ(from_arrays->batches, 1);
  EXPECT_GT(from_arrays->SamplesPerSecond(), 0.0);
  EXPECT_DOUBLE_EQ(from_arrays->SecondsPerBatch(), from_arrays->run_seconds);
}

TEST(EvaluateTest, Top1AgreementIsThePercentOfEqualPredictions) {
  AccuracyReport a;
  AccuracyReport b;
  a.predictions = {1, 2, 3, 4, 5, 6, 7, 8};
  b.predictions = {1, 2, 0, 4, 5, 6, 0, 8};
  auto agreement = Top1Agreement(a, b);
  ASSERT_TRUE(agreement.ok());
  EXPECT_DOUBLE_EQ(*agreement, 75.0);
  EXPECT_DOUBLE_EQ(*Top1Agreement(a, a), 100.0);
  b.predictions.pop_back();
  auto mismatched = Top1Agreement(a, b);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.status().message().find("8 against 7"), std::string::npos) << mismatched.status().message();
}

TEST(EvaluateTest, DataWithoutLabelsNeedsALabelsFile) {
  auto model = LoadModel(testing::ModelPath("mbv2_fmnist_bn_dyn.onnx"));
  ASSERT_TRUE(model.ok());
  const std::vector<float> zeros(2 * 28 * 28, 0.0F);
  testing::VectorReader arrays({{Tensor::FromFloats("input", {2, 1, 28, 28}, zeros)}});
  auto report = EvaluateClassifier(*model, arrays, {});
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("give a labels file"), std::string::npos) << report.status().message();
}

}  // namespace
}  // namespace onnxq
