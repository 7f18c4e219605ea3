// The numeric options: every one range-checked where it enters (ApplyExtraOptions, ValidateOptions),
// at the documented limits, with errors that name the option; a failed apply changes nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "onnxq/extra_options.h"
#include "onnxq/options.h"

namespace onnxq {
namespace {

// The error of applying KEY=VALUE to default options ("" when it applies).
std::string ApplyError(const std::string& key, const std::string& value,
                       CalibrationMethod method = CalibrationMethod::kMinMax) {
  QuantizeOptions options;
  options.calibration.method = method;
  const Status status = ApplyExtraOptions({{key, value}}, &options);
  return status.ok() ? "" : status.message();
}

struct Limit {
  std::string key;
  std::string inside;   // applies
  std::string outside;  // refused, with an error naming the key
};

TEST(ExtraOptionRangesTest, EveryNumericOptionAcceptsItsLimitAndRefusesPastIt) {
  const Limit limits[] = {
      {"CalibWorkerNum", "1024", "1025"},
      {"CalibWorkerNum", "0", "-1"},
      {"CalibWorkerNum", "4", "2000000000"},
      {"NumBins", "131072", "131073"},
      {"NumBins", "2", "1"},
      {"NumBins", "2048", "1e300"},
      {"NumQuantizedBins", "2", "1"},
      {"CalibDataSize", "-1", "0"},
      {"CalibDataSize", "1", "-3"},
      {"CalibDataSize", "1000000", "1e300"},
      {"CLESteps", "1", "0"},
      {"CLESteps", "-1", "-2"},
      {"CLESteps", "10000", "10001"},
      {"Percentile", "100", "100.5"},
      {"Percentile", "0.001", "0"},
      {"Percentile", "99.9", "nan"},
      {"CalibMovingAverageConstant", "1", "0"},
      {"CalibMovingAverageConstant", "0.5", "1e300"},
      {"CLETotalLayerDiffThreshold", "0", "-1e-9"},
      {"CLETotalLayerDiffThreshold", "1", "inf"},
      {"CLEWeightThreshold", "0", "-0.5"},
      {"OutputCheckSamples", "0", "-1"},
      {"OutputCheckSamples", "1048576", "1048577"},
      {"OutputCheckSqnrThreshold", "-5", "nan"},
      {"RangeFallbackSqnrThreshold", "30", "inf"},
      {"RandomDataReaderInputDataRange", "[-1e30, 1e30]", "[1e300, 1e301]"},
      {"RandomDataReaderInputDataRange", "[0, 1]", "[3, 2]"},
      {"RandomDataReaderInputRange", "x:0,5", "x:5,0"},
  };
  for (const auto& limit : limits) {
    EXPECT_EQ(ApplyError(limit.key, limit.inside), "") << limit.key << "=" << limit.inside;
    const std::string error = ApplyError(limit.key, limit.outside);
    EXPECT_NE(error, "") << limit.key << "=" << limit.outside << " was taken";
    EXPECT_NE(error.find(limit.key.substr(0, 10)), std::string::npos) << error;
  }
}

TEST(ExtraOptionRangesTest, EntropyNeedsNoMoreQuantizedBinsThanBins) {
  // Entropy's default NumBins is 256.
  EXPECT_EQ(ApplyError("NumQuantizedBins", "256", CalibrationMethod::kEntropy), "");
  const std::string error = ApplyError("NumQuantizedBins", "257", CalibrationMethod::kEntropy);
  EXPECT_NE(error.find("at most NumBins (256"), std::string::npos) << error;
  // Other methods do not use it beyond its own range.
  EXPECT_EQ(ApplyError("NumQuantizedBins", "257", CalibrationMethod::kPercentile), "");
}

TEST(ExtraOptionRangesTest, AFailedApplyChangesNothing) {
  QuantizeOptions options;
  options.calibration.threads = 3;
  const Status status = ApplyExtraOptions({{"CalibWorkerNum", "5"}, {"NumBins", "512"}, {"CLESteps", "0"}}, &options);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(options.calibration.threads, 3);
  EXPECT_FALSE(options.calibration.num_bins.has_value());
  EXPECT_EQ(options.passes.cle.steps, 1);
}

TEST(ValidateOptionsTest, CatchesWhatAProgramSetsDirectly) {
  EXPECT_TRUE(ValidateOptions(QuantizeOptions{}).ok());
  const auto refused = [](auto change) {
    QuantizeOptions options;
    change(options);
    return !ValidateOptions(options).ok();
  };
  EXPECT_TRUE(refused([](QuantizeOptions& o) { o.calibration.batch_size = -1; }));
  EXPECT_TRUE(refused([](QuantizeOptions& o) { o.calibration.batch_size = kMaxCalibrationBatch + 1; }));
  EXPECT_TRUE(refused([](QuantizeOptions& o) { o.calibration.max_samples = 0; }));
  EXPECT_TRUE(refused([](QuantizeOptions& o) { o.calibration.threads = -2; }));
  EXPECT_TRUE(refused([](QuantizeOptions& o) { o.random_data.samples = 0; }));
  EXPECT_TRUE(refused([](QuantizeOptions& o) { o.random_data.input_shapes["x"] = {1, 0, 4}; }));
  EXPECT_TRUE(refused([](QuantizeOptions& o) { o.random_data.input_shapes["x"] = {1, -3}; }));
  // Dimensions whose product overflows int64: refused, not wrapped.
  EXPECT_TRUE(refused([](QuantizeOptions& o) { o.random_data.input_shapes["x"] = {1 << 30, 1 << 30, 1 << 30}; }));
  EXPECT_TRUE(refused([](QuantizeOptions& o) { o.random_data.low = std::numeric_limits<float>::infinity(); }));
  EXPECT_TRUE(refused([](QuantizeOptions& o) { o.random_data.input_ranges["sr"] = {.low = 2, .high = 1}; }));
  EXPECT_TRUE(refused([](QuantizeOptions& o) { o.passes.cle.steps = 0; }));
  EXPECT_FALSE(refused([](QuantizeOptions& o) { o.random_data.input_shapes["x"] = {1, 3, 224, 224}; }));
  EXPECT_FALSE(refused([](QuantizeOptions& o) { o.calibration.batch_size = kMaxCalibrationBatch; }));
  // TensorQuantOverrides set by a program: each entry as the file reader would check it.
  const std::vector<std::pair<TensorOverride, std::string>> bad_overrides = {
      {{.scale = 0.5F}, "scale and zero_point go together: give both or neither"},
      {{.scale = 0.0F, .zero_point = 0}, "scale 0.000000 is not a finite number above 0"},
      {{.rmin = 2.0F, .rmax = 1.0F}, "rmin 2.000000 is above rmax 1.000000"},
      {{.rmin = std::numeric_limits<float>::quiet_NaN()}, "rmin and rmax must be finite"},
      {{.type = QuantType::kFloat16}, "quant_type QFloat16 is not an integer type"},
  };
  for (const auto& [pinned, why] : bad_overrides) {
    QuantizeOptions o;
    o.tensor_overrides["conv1_out"] = pinned;
    EXPECT_EQ(ValidateOptions(o).message(), "TensorQuantOverrides: tensor 'conv1_out': " + why);
  }
  EXPECT_FALSE(refused([](QuantizeOptions& o) { o.tensor_overrides["x"] = {.scale = 0.5F, .zero_point = 3}; }));
  // The message names the option as the command line spells it.
  QuantizeOptions options;
  options.calibration.batch_size = -5;
  EXPECT_NE(ValidateOptions(options).message().find("--calib-batch-size"), std::string::npos);
}

}  // namespace
}  // namespace onnxq
