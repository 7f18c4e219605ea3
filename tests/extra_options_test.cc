// Extra options (KEY=VALUE strings) into typed options: numbers are checked before any conversion. The
// cases come from the parse_command_line_fuzzer: NumBins=4.7e108 was converted to int (undefined).
#include "onnxq/extra_options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

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

}  // namespace
}  // namespace onnxq
