// Extra options (KEY=VALUE strings) into typed options: numbers are checked before any conversion. The
// cases come from the parse_command_line_fuzzer: NumBins=4.7e108 was converted to int (undefined).
// TensorQuantOverrides files: a good one, and one of each kind of error.
#include "onnxq/extra_options.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "testing/test_support.h"

namespace onnxq {
namespace {

Status Apply(const std::string& key, const std::string& value, QuantizeOptions* options) {
  return ApplyExtraOptions({{key, value}}, options);
}

TEST(ExtraOptionsTest, WholeNumbersWithinTheirRange) {
  QuantizeOptions options;
  ASSERT_TRUE(Apply("NumBins", "512", &options).ok());
  EXPECT_EQ(options.calibration.num_bins, 512);
  ASSERT_TRUE(Apply("NumQuantizedBins", "1.28e2", &options).ok());
  EXPECT_EQ(options.calibration.num_quantized_bins, 128);
  ASSERT_TRUE(Apply("CalibDataSize", "-1", &options).ok());
  EXPECT_EQ(options.calibration.max_samples, -1);
  ASSERT_TRUE(Apply("CalibDataSize", "9007199254740992", &options).ok());  // 2^53
  EXPECT_EQ(options.calibration.max_samples, int64_t{1} << 53);
  ASSERT_TRUE(Apply("CalibWorkerNum", std::to_string(kMaxCalibrationWorkers), &options).ok());
  EXPECT_EQ(options.calibration.threads, kMaxCalibrationWorkers);
  ASSERT_TRUE(Apply("CLESteps", "-1", &options).ok());
  EXPECT_EQ(options.passes.cle.steps, -1);
}

TEST(ExtraOptionsTest, TheDpusGraphFormsAndHardSigmoid) {
  QuantizeOptions options;
  // The graph forms are off and the SimulateDPU rewrites on until an option says otherwise.
  EXPECT_FALSE(options.passes.convert_reduce_mean_to_gap || options.passes.split_large_kernel_pool ||
               options.passes.convert_split_to_slice);
  EXPECT_TRUE(options.passes.dpu.sigmoid && options.passes.dpu.hard_sigmoid);
  ASSERT_TRUE(ApplyExtraOptions({{"ConvertReduceMeanToGlobalAvgPool", "True"},
                                 {"SplitLargeKernelPool", "1"},
                                 {"ConvertSplitToSlice", "true"},
                                 {"ConvertSigmoidToHardSigmoid", "False"},
                                 {"ConvertHardSigmoidToDPUVersion", "0"}},
                                &options)
                  .ok());
  EXPECT_TRUE(options.passes.convert_reduce_mean_to_gap);
  EXPECT_TRUE(options.passes.split_large_kernel_pool);
  EXPECT_TRUE(options.passes.convert_split_to_slice);
  EXPECT_FALSE(options.passes.dpu.sigmoid);
  EXPECT_FALSE(options.passes.dpu.hard_sigmoid);
  ASSERT_TRUE(Apply("ConvertSplitToSlice", "False", &options).ok());
  EXPECT_FALSE(options.passes.convert_split_to_slice);
  const Status bad = Apply("SplitLargeKernelPool", "maybe", &options);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("SplitLargeKernelPool"), std::string::npos) << bad.message();
}

TEST(ExtraOptionsTest, NumbersThatDoNotFitAreErrorsNamingTheOption) {
  const std::vector<std::pair<std::string, std::string>> bad = {{"NumBins", "4.7e108"},
                                                                {"NumBins", "2147483648"},
                                                                {"NumBins", "0"},
                                                                {"NumBins", "2.5"},
                                                                {"NumBins", "nan"},
                                                                {"NumQuantizedBins", "-1e300"},
                                                                {"CalibWorkerNum", "1e10"},
                                                                {"CalibWorkerNum", "nan"},
                                                                {"CalibDataSize", "9223372036854775808"},
                                                                {"CalibDataSize", "1e300"},
                                                                {"CalibDataSize", "-2"},
                                                                {"CLESteps", "1e20"},
                                                                {"CLESteps", "-inf"},
                                                                {"CLEWeightThreshold", "1e39"},
                                                                {"CalibMovingAverageConstant", "1e300"},
                                                                {"Percentile", "nan"},
                                                                {"CLETotalLayerDiffThreshold", "inf"},
                                                                {"RandomDataReaderInputDataRange", "[-1e39, 1]"}};
  for (const auto& [key, value] : bad) {
    QuantizeOptions options;
    const Status status = Apply(key, value, &options);
    EXPECT_FALSE(status.ok()) << key << "=" << value;
    EXPECT_NE(status.message().find(key), std::string::npos) << status.message();
  }
}

// Writes `json` to a file in `dir` and applies TensorQuantOverrides=that file to `options`.
Status ApplyOverridesFile(const std::filesystem::path& dir, const std::string& json, QuantizeOptions* options) {
  const std::filesystem::path path = dir / "overrides.json";
  testing::WriteBytes(path, json);
  return Apply("TensorQuantOverrides", path.string(), options);
}

TEST(ExtraOptionsTest, TensorQuantOverridesFromOnnxRuntimesJsonFile) {
  const std::filesystem::path dir = testing::TempDir("tensor_quant_overrides_good");
  QuantizeOptions options;
  const Status status = ApplyOverridesFile(dir,
                                           R"({"act": [{"quant_type": "QUInt16", "symmetric": false,
                                                        "rmin": -1.5, "rmax": 6}],
                                               "w": [{"quant_type": "QuantType.QInt8", "scale": 0.5,
                                                      "zero_point": 0, "symmetric": true}],
                                               "empty": [{}]})",
                                           &options);
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_EQ(options.tensor_overrides.size(), 3U);
  const TensorOverride& act = options.tensor_overrides.at("act");
  EXPECT_EQ(act.type, QuantType::kUInt16);
  EXPECT_EQ(act.symmetric, false);
  EXPECT_EQ(act.rmin, -1.5F);
  EXPECT_EQ(act.rmax, 6.0F);
  EXPECT_FALSE(act.scale.has_value() || act.zero_point.has_value());
  const TensorOverride& w = options.tensor_overrides.at("w");
  EXPECT_EQ(w.type, QuantType::kInt8);
  EXPECT_EQ(w.symmetric, true);
  EXPECT_EQ(w.scale, 0.5F);
  EXPECT_EQ(w.zero_point, 0);
  EXPECT_FALSE(w.rmin.has_value() || w.rmax.has_value());
  const TensorOverride& empty = options.tensor_overrides.at("empty");
  EXPECT_FALSE(empty.type || empty.symmetric || empty.scale || empty.rmin || empty.rmax);
  std::filesystem::remove_all(dir);
}

TEST(ExtraOptionsTest, TensorQuantOverridesErrorsNameTheFileTheTensorAndTheFault) {
  const std::filesystem::path dir = testing::TempDir("tensor_quant_overrides_bad");
  const std::string path = (dir / "overrides.json").string();
  struct Case {
    std::string json;
    std::vector<std::string> named;  // in the one-line message besides the file
  };
  const std::vector<Case> cases = {
      {R"({"x": [{"axis": 0, "scale": 0.5, "zero_point": 0}]})", {"tensor 'x'", "unknown key \"axis\""}},
      {R"({"x": [{"quant_type": "QInt4"}]})", {"tensor 'x'", "QInt4"}},
      {R"({"x": [{"quant_type": "QFloat16"}]})", {"tensor 'x'", "quant_type"}},
      {R"({"x": [{"scale": 0.5}]})", {"tensor 'x'", "zero_point"}},
      {R"({"x": [{"scale": 0, "zero_point": 0}]})", {"tensor 'x'", "\"scale\" must be"}},
      {R"({"x": [{"rmin": 2.0, "rmax": 1.0}]})", {"tensor 'x'", "is above rmax"}},
      {R"({"x": [{"zero_point": 1.5, "scale": 1}]})", {"tensor 'x'", "\"zero_point\" must be"}},
      {R"({"x": [{"scale": 1}, {"scale": 2}]})", {"tensor 'x'", "one per channel"}},
      {R"({"x": {"scale": 1, "zero_point": 0}})", {"tensor 'x'", "a list of one object"}},
      {R"({"x": [{"scale": 1, "zero_point": 0}])", {"not valid JSON"}},
      {R"([1, 2])", {"expected an object"}},
  };
  for (const Case& c : cases) {
    QuantizeOptions options;
    const Status status = ApplyOverridesFile(dir, c.json, &options);
    ASSERT_FALSE(status.ok()) << c.json;
    EXPECT_NE(status.message().find(path), std::string::npos) << status.message();
    EXPECT_EQ(status.message().find('\n'), std::string::npos) << status.message();
    for (const std::string& text : c.named)
      EXPECT_NE(status.message().find(text), std::string::npos) << status.message();
    EXPECT_TRUE(options.tensor_overrides.empty());
  }
  QuantizeOptions options;
  for (const std::filesystem::path& not_a_file : {dir / "missing.json", dir}) {
    const Status status = Apply("TensorQuantOverrides", not_a_file.string(), &options);
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.message().find(not_a_file.string() + ": not a file"), std::string::npos) << status.message();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace onnxq
