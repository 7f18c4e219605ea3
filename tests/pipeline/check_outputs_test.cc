// The output check: each float graph output's SQNR and cosine between the float and the quantized
// model, worked by hand on tiny models and recomputed from both models' outputs; a warning naming an
// output below the threshold; the option that turns the check off; random data for a table; and
// errors for a quantized model that does not run.
#include "pipeline/check_outputs.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "calibration/onnxruntime_backend.h"
#include "onnxq/calibrate.h"
#include "onnxq/data_reader.h"
#include "onnxq/extra_options.h"
#include "onnxq/model_io.h"
#include "onnxq/quantize.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;
using testing::RunAllOutputs;
using testing::VectorReader;

// Relu of a graph input: both quantize with the input's range, so the quantized output is x rounded
// to the grid.
const char* kReluModel = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  relu (float[N, 4] x) => (float[N, 4] y)
  {
    y = Relu(x)
  }
)";

// t = x [100, 0.01]: per tensor, the int8 weight grid's step (100 / 127) takes 0.01 to 0, so `small`
// comes out 0 and `big` close to float.
const char* kTwoOutputsModel = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  two_outputs (float[N, 1] x) => (float[N, 1] big, float[N, 1] small)
  <float[1, 2] w = {100, 0.01}>
  {
    t = MatMul(x, w)
    big, small = Split<axis = 1>(t)
  }
)";

// Calibration data: one batch of `n` samples of x [n, 1], uniform in [0.5, 1).
std::vector<Feeds> OneColumn(int n) {
  std::vector<float> x;
  for (int i = 0; i < n; ++i) x.push_back(0.5F + 0.5F * static_cast<float>(i) / static_cast<float>(n));
  return {{Tensor::FromFloats("x", {n, 1}, x)}};
}

TEST(CheckOutputsTest, SqnrOfAReluWorkedByHand) {
  const onnx::ModelProto model = ParseModelText(kReluModel);
  // Range [0, 2.55]: uint8 step 0.01, zero point 0. Rounding moves 0.004 to 0, 0.016 to 0.02 and
  // 1.234 to 1.23: noise 3 x 0.004^2 = 4.8e-5; signal sum x^2 = 13.275528;
  // SQNR = 10 log10(13.275528 / 4.8e-5) = 54.4181 dB.
  const Feeds feeds = {
      Tensor::FromFloats("x", {2, 4}, std::vector<float>{0, 0.004F, 1, 2.55F, 0.5F, 0.016F, 2, 1.234F})};
  VectorReader reader({feeds});
  QuantizeReport report;
  auto quantized = QuantizeModel(model, &reader, {}, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_EQ(report.output_check_samples, 2);
  EXPECT_EQ(report.output_check_data, CheckData::kCalibration);
  ASSERT_EQ(report.outputs.size(), 1U);
  const OutputAccuracy& y = report.outputs[0];
  EXPECT_EQ(y.output, "y");
  EXPECT_EQ(y.values, 8);
  EXPECT_NEAR(y.sqnr_db, 54.4181, 1e-3);
  EXPECT_NEAR(y.cosine, 0.99999826, 1e-7);
  EXPECT_TRUE(y.warning.empty());

  // The same from both models' outputs, run here.
  const auto x = RunAllOutputs(model, feeds);
  const auto q = RunAllOutputs(*quantized, feeds);
  ASSERT_EQ(x.size(), 1U);
  ASSERT_EQ(q.size(), 1U);
  ASSERT_EQ(x[0].size(), 8U);
  double signal = 0;
  double noise = 0;
  for (size_t i = 0; i < x[0].size(); ++i) {
    signal += static_cast<double>(x[0][i]) * x[0][i];
    noise += (static_cast<double>(x[0][i]) - q[0][i]) * (static_cast<double>(x[0][i]) - q[0][i]);
  }
  EXPECT_NEAR(noise, 4.8e-5, 1e-9);
  EXPECT_DOUBLE_EQ(y.sqnr_db, 10.0 * std::log10(signal / noise));
}

TEST(CheckOutputsTest, AnOutputBelowTheThresholdIsNamedWithWhatToTry) {
  const onnx::ModelProto model = ParseModelText(kTwoOutputsModel);
  VectorReader reader(OneColumn(16));
  QuantizeReport report;
  auto quantized = QuantizeModel(model, &reader, {}, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_EQ(report.output_check_samples, 8);  // the default: the first 8
  ASSERT_EQ(report.outputs.size(), 2U);
  const OutputAccuracy& big = report.outputs[0];
  const OutputAccuracy& small = report.outputs[1];
  EXPECT_EQ(big.output, "big");
  EXPECT_GT(big.sqnr_db, 30.0);
  EXPECT_TRUE(big.warning.empty());
  // The quantized `small` is 0: the noise is the signal, 0 dB, and it points nowhere.
  EXPECT_EQ(small.output, "small");
  EXPECT_EQ(small.sqnr_db, 0.0);
  EXPECT_EQ(small.cosine, 0.0);
  EXPECT_EQ(small.values, 8);
  EXPECT_EQ(small.warning,
            "output 'small': SQNR 0.0 dB (cosine 0.0000) against the float model on 8 calibration samples, below 10 "
            "dB: the quantized model's output is far from the float one; try --per-channel, --include-cle (with "
            "--replace-clip6-relu when the model has Clip(0,6)), --calibrate-method Percentile or Entropy, or keeping "
            "the nodes that compute it in float with --nodes-to-exclude (the last is 'Split #1')");
  EXPECT_TRUE(testing::HasWarning(report, small.warning));
  // Percentile ranges do no better (the weight grid, not the activations' ranges, loses `small`): the
  // range fallback keeps MinMax.
  ASSERT_TRUE(report.range_fallback.has_value());
  EXPECT_FALSE(report.range_fallback->kept_fallback);
  EXPECT_EQ(report.range_fallback->minmax_sqnr_db, 0.0);
  EXPECT_EQ(report.range_fallback->fallback_sqnr_db, 0.0);
  EXPECT_TRUE(testing::HasWarning(report,
                                  "RangeFallback: the worst output measures 0.00 dB with MinMax ranges, "
                                  "0.00 dB with Percentile ranges: MinMax kept"));

  // A lower threshold: measured, no warning.
  QuantizeOptions lenient;
  ASSERT_TRUE(ApplyExtraOptions({{"OutputCheckSqnrThreshold", "-3"}}, &lenient).ok());
  VectorReader again(OneColumn(16));
  QuantizeReport quiet;
  ASSERT_TRUE(QuantizeModel(model, &again, lenient, &quiet).ok());
  ASSERT_EQ(quiet.outputs.size(), 2U);
  EXPECT_EQ(quiet.outputs[1].sqnr_db, 0.0);
  EXPECT_TRUE(quiet.outputs[1].warning.empty());
  EXPECT_FALSE(testing::HasWarning(quiet, "SQNR"));
}

// A MobileNetV2 whose channels differ by orders of magnitude: per-tensor int8 collapses it, which the
// check says; cross-layer equalization, as the warning suggests, repairs it.
TEST(CheckOutputsTest, ACollapsedModelIsNeverSilent) {
  auto model = LoadModel(testing::ModelPath("mbv2_fmnist_imbalanced.onnx"));
  ASSERT_TRUE(model.ok()) << model.status().message();
  const auto calibrate = [&](const QuantizeOptions& options) {
    auto reader = OpenArrayFiles({{"input", testing::DataDir() / "calib_1000.npy", {}, ElementType::kFloat}},
                                 {.batch_size = 16, .max_samples = 64});
    EXPECT_TRUE(reader.ok()) << reader.status().message();
    QuantizeReport report;
    auto quantized = QuantizeModel(*model, reader->get(), options, &report);
    EXPECT_TRUE(quantized.ok()) << quantized.status().message();
    return report;
  };
  const QuantizeReport plain = calibrate({});
  ASSERT_EQ(plain.outputs.size(), 1U);
  EXPECT_EQ(plain.outputs[0].output, "logits");
  EXPECT_LT(plain.outputs[0].sqnr_db, 10.0);
  EXPECT_TRUE(plain.outputs[0].warning.starts_with("output 'logits': SQNR ")) << plain.outputs[0].warning;
  EXPECT_NE(plain.outputs[0].warning.find("--include-cle"), std::string::npos);

  QuantizeOptions equalized;
  equalized.passes.include_cle = true;
  equalized.passes.replace_clip6_relu = true;
  const QuantizeReport repaired = calibrate(equalized);
  ASSERT_EQ(repaired.outputs.size(), 1U);
  EXPECT_GT(repaired.outputs[0].sqnr_db, 20.0);
  EXPECT_TRUE(repaired.outputs[0].warning.empty());
}

TEST(CheckOutputsTest, TheOptionTurnsTheCheckOffOrSetsTheSampleCount) {
  const onnx::ModelProto model = ParseModelText(kTwoOutputsModel);
  QuantizeOptions off;
  ASSERT_TRUE(ApplyExtraOptions({{"OutputCheckSamples", "0"}}, &off).ok());
  VectorReader reader(OneColumn(16));
  QuantizeReport report;
  ASSERT_TRUE(QuantizeModel(model, &reader, off, &report).ok());
  EXPECT_EQ(report.output_check_samples, 0);
  EXPECT_TRUE(report.outputs.empty());
  EXPECT_FALSE(testing::HasWarning(report, "SQNR"));

  QuantizeOptions three;
  ASSERT_TRUE(ApplyExtraOptions({{"OutputCheckSamples", "3"}}, &three).ok());
  VectorReader again(OneColumn(16));
  QuantizeReport counted;
  ASSERT_TRUE(QuantizeModel(model, &again, three, &counted).ok());
  EXPECT_EQ(counted.output_check_samples, 3);
  ASSERT_EQ(counted.outputs.size(), 2U);
  EXPECT_EQ(counted.outputs[0].values, 3);

  EXPECT_FALSE(ApplyExtraOptions({{"OutputCheckSamples", "-1"}}, &three).ok());
  EXPECT_FALSE(ApplyExtraOptions({{"OutputCheckSamples", "2.5"}}, &three).ok());
  EXPECT_FALSE(ApplyExtraOptions({{"OutputCheckSqnrThreshold", "loud"}}, &three).ok());
}

TEST(CheckOutputsTest, ATableBringsNoDataSoTheCheckRunsOnRandomData) {
  const onnx::ModelProto model = ParseModelText(kTwoOutputsModel);
  VectorReader reader(OneColumn(16));
  auto table = CalibrateModel(model, &reader, {});
  ASSERT_TRUE(table.ok()) << table.status().message();
  QuantizeReport report;
  ASSERT_TRUE(QuantizeModel(model, *table, {}, &report).ok());
  EXPECT_EQ(report.output_check_data, CheckData::kRandom);
  EXPECT_EQ(report.output_check_samples, 8);
  ASSERT_EQ(report.outputs.size(), 2U);
  EXPECT_NE(report.outputs[1].warning.find("on 8 random samples"), std::string::npos) << report.outputs[1].warning;
  EXPECT_NE(report.outputs[1].warning.find("calibration data of real inputs (--calib-data)"), std::string::npos);
}

TEST(CheckOutputsTest, NothingQuantizedNothingChecked) {
  QuantizeOptions options;
  options.op_types_to_quantize = {"Conv"};
  VectorReader reader(OneColumn(4));
  QuantizeReport report;
  ASSERT_TRUE(QuantizeModel(ParseModelText(kTwoOutputsModel), &reader, options, &report).ok());
  EXPECT_EQ(report.nodes_quantized, 0);
  EXPECT_EQ(report.output_check_samples, 0);
  EXPECT_TRUE(report.outputs.empty());
}

TEST(CheckOutputsTest, TheNodeNamedForAnOutputIsTheOneComputingIt) {
  // A float16 model's output is a Cast of what computes it: the warning names the computing node.
  const auto producers = OutputProducers(ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    casts (float[N, 4] x) => (float16[N, 4] y, float[N, 4] x_out, float[N, 4] r)
    {
      r = Relu(x)
      h = Cast<to = 10>(r)
      y = Cast<to = 10>(h)
      x_out = Identity(x)
    }
  )"));
  EXPECT_EQ(producers.at("y"), "Relu #0");
  EXPECT_EQ(producers.at("r"), "Relu #0");
  EXPECT_EQ(producers.at("x_out"), "Identity #3");
}

TEST(CheckOutputsTest, AQuantizedModelThatDoesNotRunIsAnError) {
  const onnx::ModelProto model = ParseModelText(kReluModel);
  ReferenceRuns runs;
  runs.runs.push_back({.feeds = {Tensor::FromFloats("x", {1, 4}, std::vector<float>{1, 2, 3, 4})}});
  auto reference = RunFloatReference(OnnxRuntimeBackend(), model, runs);
  ASSERT_TRUE(reference.ok()) << reference.status().message();
  ASSERT_EQ(reference->outputs, std::vector<std::string>{"y"});

  // An op the runtime does not know.
  const onnx::ModelProto unknown = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 13, "onnxq.test" : 1]>
    relu (float[N, 4] x) => (float[N, 4] y)
    {
      y = onnxq.test.Mystery(x)
    }
  )");
  auto compared = CompareWithReference(OnnxRuntimeBackend(), *reference, unknown);
  ASSERT_FALSE(compared.ok());
  EXPECT_EQ(compared.status().code(), StatusCode::kInternal);
  EXPECT_NE(compared.status().message().find("the quantized model does not load in ONNX Runtime"), std::string::npos)
      << compared.status().message();

  // An output of another shape.
  const onnx::ModelProto wider = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    relu (float[N, 4] x) => (float[N, 8] y)
    {
      y = Concat<axis = 1>(x, x)
    }
  )");
  compared = CompareWithReference(OnnxRuntimeBackend(), *reference, wider);
  ASSERT_FALSE(compared.ok());
  EXPECT_NE(compared.status().message().find("gives output 'y' another type or shape"), std::string::npos)
      << compared.status().message();
}

}  // namespace
}  // namespace onnxq
