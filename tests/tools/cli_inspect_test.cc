// `onnxq inspect`: what ONNX Runtime runs of a QDQ model, as text and as JSON; bad input refused.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "onnxq/model_io.h"
#include "testing/model_text.h"
#include "testing/qdq_models.h"

#include "cli_fixture.h"

namespace onnxq {
namespace {

TEST_F(CliTest, InspectNamesIntegerKernelsAndFloatOpsBetweenQdq) {
  const fs::path model = work_ / "conv_hardsigmoid.onnx";
  ASSERT_TRUE(SaveModel(testing::QdqConvModel(testing::AfterConv::kHardSigmoid), model).ok());
  CliRun run = RunCli({"inspect", model.string()}, logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  EXPECT_NE(run.out.find("  integer kernels 1 node groups, float between Q/DQ 1 (HardSigmoid 1)\n"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("  integer kernels             1  QLinearConv 1\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("  float between Q/DQ          1  HardSigmoid 1\n"), std::string::npos) << run.out;

  run = RunCli({"inspect", model.string(), "--json"}, logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto json = nlohmann::json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(json.is_discarded()) << run.out;
  EXPECT_EQ(json["command"], "inspect");
  EXPECT_EQ(json["model"], model.string());
  const auto& r = json["runnability"];
  EXPECT_EQ(r["integer_kernels"]["total"], 1);
  EXPECT_EQ(r["integer_kernels"]["by_op_type"]["QLinearConv"], 1);
  EXPECT_EQ(r["float_between_qdq"]["total"], 1);
  ASSERT_EQ(r["float_between_qdq_nodes"].size(), 1U);
  EXPECT_EQ(r["float_between_qdq_nodes"][0]["op_type"], "HardSigmoid");
}

// --benchmark: the float Conv against its QDQ form, on 4 random samples, 2 timed passes each.
TEST_F(CliTest, InspectBenchmarkMeasuresBothModelsOnTheSameSamples) {
  const fs::path quantized = work_ / "conv_qdq.onnx";
  const fs::path float_model = work_ / "conv.onnx";
  ASSERT_TRUE(SaveModel(testing::QdqConvModel(testing::AfterConv::kNothing), quantized).ok());
  ASSERT_TRUE(SaveModel(testing::ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,2,4,4] Y)
<float[2,2,1,1] w = {0.05, 0.1, 0.15, 0.2}>
{
  Y = Conv(X, w)
}
)"),
                        float_model)
                  .ok());
  const CliRun run = RunCli({"inspect", quantized.string(), "--benchmark", "--float-model", float_model.string(),
                             "--max-samples", "4", "--repeats", "2", "--json"},
                            logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto json = nlohmann::json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(json.is_discarded()) << run.out;
  EXPECT_EQ(json["runnability"]["integer_kernels"]["total"], 1);
  const auto& latency = json["latency"];
  EXPECT_EQ(latency["samples"], 4);
  EXPECT_EQ(latency["passes"], 2);
  EXPECT_GT(latency["float_ms"].get<double>(), 0.0);
  EXPECT_GT(latency["quantized_ms"].get<double>(), 0.0);
  ExpectCleanFailure({"inspect", quantized.string(), "--benchmark"}, {"--benchmark requires --float-model"});
  ExpectCleanFailure({"inspect", quantized.string(), "--data", Calib()}, {"--data is for --benchmark"});
}

// A "quantized" model 32768 times the float one's work (a Tile to 512 x 512 and a Sigmoid over it) is
// reported as slower, with a warning; the same pair the other way round gets none.
TEST_F(CliTest, InspectBenchmarkWarnsWhenTheQuantizedModelIsNoFaster) {
  const fs::path small = work_ / "small.onnx";
  const fs::path large = work_ / "large.onnx";
  ASSERT_TRUE(SaveModel(testing::ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,2,4,4] Y)
{
  Y = Relu(X)
}
)"),
                        small)
                  .ok());
  ASSERT_TRUE(SaveModel(testing::ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,2,512,512] Y)
<int64[4] reps = {1, 1, 128, 128}>
{
  T = Tile(X, reps)
  Y = Sigmoid(T)
}
)"),
                        large)
                  .ok());
  const std::string warning = "ran no faster than the float one";
  const CliRun slower = RunCli({"inspect", large.string(), "--benchmark", "--float-model", small.string(),
                                "--max-samples", "2", "--repeats", "3"},
                               logs_);
  ASSERT_EQ(slower.exit_code, 0) << slower.err;
  EXPECT_NE(slower.err.find(warning), std::string::npos) << slower.err;
  const CliRun faster = RunCli({"inspect", small.string(), "--benchmark", "--float-model", large.string(),
                                "--max-samples", "2", "--repeats", "3"},
                               logs_);
  ASSERT_EQ(faster.exit_code, 0) << faster.err;
  EXPECT_EQ(faster.err.find(warning), std::string::npos) << faster.err;
}

// quantize --benchmark: the float and the written model on the first 16 calibration samples.
TEST_F(CliTest, QuantizeBenchmarkMeasuresOnTheCalibrationSamples) {
  const CliRun run = RunCli(
      {"quantize", Model(), Output(), "--calib-data", Calib(), "--calib-data-size", "32", "--benchmark", "--json"},
      logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto json = nlohmann::json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(json.is_discarded()) << run.out;
  EXPECT_EQ(json["latency"]["samples"], 16);
  EXPECT_EQ(json["latency"]["passes"], 5);
  EXPECT_GT(json["latency"]["quantized_ms"].get<double>(), 0.0);
  EXPECT_EQ(json["runnability"]["float_between_qdq"]["total"], 0);
}

TEST_F(CliTest, InspectRefusesMissingFilesAndNonModels) {
  ExpectCleanFailure({"inspect", (work_ / "missing.onnx").string()}, {"missing.onnx"});
  const fs::path text = work_ / "notes.onnx";
  WriteBytes(text, "not a model");
  ExpectCleanFailure({"inspect", text.string()}, {"notes.onnx", "not a valid ONNX model"});
}

}  // namespace
}  // namespace onnxq
