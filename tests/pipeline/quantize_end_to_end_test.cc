// End to end on the Fashion-MNIST models kept in data/: quantize with 300 calibration images, check
// the output passes the ONNX checker, runs in ONNX Runtime, and stays within 1.0 point of float top-1
// on the 10,000 test images; a rerun gives the same bytes.
#include <gtest/gtest.h>
#include <onnx/checker.h>

#include "onnxq/evaluate.h"
#include "onnxq/model_io.h"
#include "onnxq/quantize.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

struct Case {
  std::string model;
  double float_top1;  // measured with ONNX Runtime on the 10,000 test images
  bool per_channel;
};

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  std::string name = info.param.model.substr(0, info.param.model.find('.'));
  return name + (info.param.per_channel ? "_per_channel" : "_per_tensor");
}

class QuantizeEndToEndTest : public ::testing::TestWithParam<Case> {};

Result<std::unique_ptr<CalibrationDataReader>> Open(const std::string& file, int64_t max_samples) {
  return OpenArrayFiles({{"input", testing::DataDir() / file, {}, ElementType::kFloat}},
                        {.batch_size = 1, .max_samples = max_samples});
}

TEST_P(QuantizeEndToEndTest, StaysWithinOnePointOfFloat) {
  const Case& c = GetParam();
  auto model = LoadModel(testing::ModelPath(c.model));
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_EQ(model->graph().input(0).name(), "input");

  QuantizeOptions options;
  options.per_channel = c.per_channel;
  auto calib = Open("calib_1000.npy", 300);
  ASSERT_TRUE(calib.ok()) << calib.status().message();
  QuantizeReport report;
  auto quantized = QuantizeModel(*model, calib->get(), options, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_EQ(report.calibration_samples, 300);
  EXPECT_NO_THROW(onnx::checker::check_model(*quantized));
  EXPECT_GE(report.weights_quantized, 10);  // resnet_fmnist has 10 weight tensors

  auto labels = LoadLabels(testing::DataDir() / "eval_labels.u8");
  ASSERT_TRUE(labels.ok());
  auto eval = Open("eval_10000.npy", -1);
  ASSERT_TRUE(eval.ok());
  auto accuracy = EvaluateClassifier(*quantized, **eval, *labels);
  ASSERT_TRUE(accuracy.ok()) << accuracy.status().message();
  EXPECT_EQ(accuracy->samples, 10000);
  EXPECT_GE(accuracy->top1, c.float_top1 - 1.0) << c.model;
  EXPECT_LE(accuracy->top1, c.float_top1 + 1.0) << c.model;

  // Determinism: the same inputs and options give the same bytes.
  auto calib_again = Open("calib_1000.npy", 300);
  auto again = QuantizeModel(*model, calib_again->get(), options);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(quantized->SerializeAsString(), again->SerializeAsString());
}

INSTANTIATE_TEST_SUITE_P(
    FashionMnist, QuantizeEndToEndTest,
    ::testing::Values(Case{"mbv2_fmnist_bn.onnx", 92.39, false}, Case{"mbv2_fmnist_bn.onnx", 92.39, true},
                      Case{"mbv2_fmnist.onnx", 92.39, false}, Case{"mbv2_fmnist.onnx", 92.39, true},
                      Case{"resnet_fmnist.onnx", 92.06, false}, Case{"resnet_fmnist.onnx", 92.06, true}),
    CaseName);

TEST(QuantizeStaticTest, WritesAModelThatLoadsAndRandomDataWorks) {
  const auto dir = testing::TempDir("quantize_static");
  QuantizeOptions options;
  auto report = QuantizeStatic(testing::ModelPath("resnet_fmnist.onnx"), dir / "q.onnx", nullptr, options);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_FALSE(report->warnings.empty());
  EXPECT_NE(report->warnings.back().find("random data"), std::string::npos);
  auto written = LoadModel(dir / "q.onnx");
  ASSERT_TRUE(written.ok()) << written.status().message();
  const auto input = testing::LoadNpySamples(testing::DataDir() / "calib_1000.npy", "input", 0, 1);
  EXPECT_EQ(testing::RunFirstOutput(*written, {input}).size(), 10U);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace onnxq
