// MeanBiasCorrection through the whole pipeline: the channel means measured while calibrating, the
// bias they correct, and what the correction buys: the quantized layer's output is right on average.
#include "quantizer/correct_weight_error_bias.h"

#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <cmath>
#include <string>
#include <vector>

#include "onnxq/calibrate.h"
#include "onnxq/quantize.h"
#include "passes/pass_test_util.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;
using testing::RunFirstOutput;
using testing::VectorReader;

// Samples of shape `shape` uniform in [low, high): inputs with a mean far from 0, as after a Relu.
std::vector<Feeds> Samples(const std::string& input, const std::vector<int64_t>& shape, int count, float low,
                           float high) {
  std::vector<Feeds> feeds;
  for (int i = 0; i < count; ++i) feeds.push_back({testing::RandomTensor(input, shape, 100 + i, low, high)});
  return feeds;
}

// Per output channel (axis 1 of [1, C, ...] outputs, or the last axis of [1, C]), the mean over the
// samples and positions of quantized - float.
std::vector<double> MeanErrorPerChannel(const onnx::ModelProto& float_model, const onnx::ModelProto& quantized,
                                        const std::vector<Feeds>& samples, int64_t channels) {
  std::vector<double> sums(static_cast<size_t>(channels), 0.0);
  size_t count = 0;
  for (const Feeds& feeds : samples) {
    const auto expected = RunFirstOutput(float_model, feeds);
    const auto actual = RunFirstOutput(quantized, feeds);
    const size_t per_channel = expected.size() / static_cast<size_t>(channels);
    for (size_t i = 0; i < expected.size(); ++i) {
      sums[i / per_channel] += static_cast<double>(actual[i]) - static_cast<double>(expected[i]);
    }
    count += per_channel;
  }
  for (double& s : sums) s /= static_cast<double>(count);
  return sums;
}

// The largest per-channel mean error without and with the correction, which must correct one layer.
struct MeanErrors {
  double before = 0.0;
  double after = 0.0;
};

MeanErrors MeanErrorsWithoutAndWith(const onnx::ModelProto& model, const std::vector<Feeds>& samples, int64_t channels);

double MaxAbs(const std::vector<double>& values) {
  double m = 0.0;
  for (const double v : values) m = std::max(m, std::fabs(v));
  return m;
}

MeanErrors MeanErrorsWithoutAndWith(const onnx::ModelProto& model, const std::vector<Feeds>& samples,
                                    int64_t channels) {
  QuantizeOptions off;
  off.passes.mean_bias_correction = false;
  VectorReader reader_off(samples);
  QuantizeReport report_off;
  const auto uncorrected = QuantizeModel(model, &reader_off, off, &report_off);
  VectorReader reader(samples);
  QuantizeReport report;
  const auto corrected = QuantizeModel(model, &reader, {}, &report);
  EXPECT_TRUE(uncorrected.ok() && corrected.ok());
  if (!uncorrected.ok() || !corrected.ok()) return {};
  EXPECT_EQ(report_off.biases_corrected, 0);
  EXPECT_EQ(report.biases_corrected, 1);
  EXPECT_NO_THROW(onnx::checker::check_model(*corrected));
  return {.before = MaxAbs(MeanErrorPerChannel(model, *uncorrected, samples, channels)),
          .after = MaxAbs(MeanErrorPerChannel(model, *corrected, samples, channels))};
}

// A grouped, padded Conv whose per-tensor weight grid is set by one large weight: the small weights
// round badly, and on inputs around 1 their error shifts every output channel's mean.
onnx::ModelProto PaddedGroupedConv() {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,6,6] X) => (float[1,4,6,6] Y)
<float[4,2,3,3] W, float[4] B>
{
  Y = Conv <pads = [1, 1, 1, 1], group = 2> (X, W, B)
}
)");
  testing::SetRandomInitializer(model, "W", {4, 2, 3, 3}, 1, -0.06F, 0.06F);
  testing::SetRandomInitializer(model, "B", {4}, 2, -0.1F, 0.1F);
  // One large weight sets the per-tensor grid: a step of 1/127, against weights of at most 0.06.
  auto values = testing::InitializerValues(model, "W");
  values[4] = 1.0F;
  testing::SetInitializer(model, "W", {4, 2, 3, 3}, values);
  return model;
}

TEST(MeanBiasCorrectionTest, CalibrationMeasuresEachLayerInputsMeanPerChannel) {
  const auto model = PaddedGroupedConv();
  const auto samples = Samples("X", {1, 4, 6, 6}, 8, 0.5F, 1.5F);
  // The per-channel means, by hand.
  std::vector<double> expected(4, 0.0);
  for (const Feeds& feeds : samples) {
    const auto values = feeds[0].floats();
    for (size_t i = 0; i < values.size(); ++i) expected[i / 36] += values[i] / (36.0 * 8.0);
  }
  VectorReader reader(samples);
  const auto table = CalibrateModel(model, &reader, {});
  ASSERT_TRUE(table.ok()) << table.status().message();
  ASSERT_TRUE(table->channel_means.contains("X"));
  const auto& means = table->channel_means.at("X");
  ASSERT_EQ(means.size(), 4U);
  for (size_t c = 0; c < 4; ++c) EXPECT_NEAR(means[c], expected[c], 1e-5) << "channel " << c;

  // Saved and loaded bit for bit; two shards merge into the mean weighted by their samples.
  const auto path = testing::TempDir("mean_bias") / "table.json";
  ASSERT_TRUE(SaveCalibrationTable(*table, path).ok());
  const auto loaded = LoadCalibrationTable(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->channel_means, table->channel_means);
  VectorReader first(std::vector<Feeds>(samples.begin(), samples.begin() + 6));
  VectorReader second(std::vector<Feeds>(samples.begin() + 6, samples.end()));
  const auto a = CalibrateModel(model, &first, {});
  const auto b = CalibrateModel(model, &second, {});
  ASSERT_TRUE(a.ok() && b.ok());
  const std::vector<CalibrationTable> shards = {*a, *b};
  const auto merged = MergeCalibrationTables(shards);
  ASSERT_TRUE(merged.ok()) << merged.status().message();
  for (size_t c = 0; c < 4; ++c) EXPECT_NEAR(merged->channel_means.at("X")[c], expected[c], 1e-5);
}

// A layer input that the engine computes in its channel-blocked layout (a Conv's output, 12 channels:
// one whole block and a padded one where blocks hold 8, or one padded block of 16) is summed there,
// lanes to their channels.
TEST(MeanBiasCorrectionTest, AnInputInTheEnginesBlockedLayoutHasItsOwnMeans) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,8,8] X) => (float[1,4,8,8] Y)
<float[12,4,3,3] W1, float[12] B1, float[4,12,3,3] W2, float[4] B2>
{
  H = Conv <pads = [1, 1, 1, 1]> (X, W1, B1)
  Y = Conv <pads = [1, 1, 1, 1]> (H, W2, B2)
}
)");
  testing::SetRandomInitializer(model, "W1", {12, 4, 3, 3}, 1, -0.5F, 0.5F);
  testing::SetRandomInitializer(model, "B1", {12}, 2, -1.0F, 1.0F);
  testing::SetRandomInitializer(model, "W2", {4, 12, 3, 3}, 3, -0.2F, 0.2F);
  testing::SetRandomInitializer(model, "B2", {4}, 4, -0.1F, 0.1F);
  const auto samples = Samples("X", {1, 4, 8, 8}, 8, 0.0F, 1.0F);
  // H's means by hand: the first Conv alone, run sample by sample.
  auto first_layer = model;
  first_layer.mutable_graph()->mutable_node()->RemoveLast();
  first_layer.mutable_graph()->mutable_output(0)->set_name("H");
  first_layer.mutable_graph()
      ->mutable_output(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim(1)
      ->set_dim_value(12);
  std::vector<double> expected(12, 0.0);
  for (const Feeds& feeds : samples) {
    const auto h = RunFirstOutput(first_layer, feeds);
    ASSERT_EQ(h.size(), 12U * 64U);
    for (size_t i = 0; i < h.size(); ++i) expected[i / 64] += h[i] / (64.0 * 8.0);
  }
  VectorReader reader(samples);
  const auto table = CalibrateModel(model, &reader, {});
  ASSERT_TRUE(table.ok()) << table.status().message();
  ASSERT_TRUE(table->channel_means.contains("H"));
  const auto& means = table->channel_means.at("H");
  ASSERT_EQ(means.size(), 12U);
  for (size_t c = 0; c < 12; ++c) EXPECT_NEAR(means[c], expected[c], 1e-4) << "channel " << c;
}

TEST(MeanBiasCorrectionTest, APaddedGroupedConvIsRightOnAverage) {
  const auto errors = MeanErrorsWithoutAndWith(PaddedGroupedConv(), Samples("X", {1, 4, 6, 6}, 16, 0.5F, 1.5F), 4);
  // The weights' rounding shifts some channel's mean by a good part of a grid step of the output...
  EXPECT_GT(errors.before, 0.01);
  // ...which the correction removes, up to the output's own rounding.
  EXPECT_LT(errors.after, errors.before / 5) << "before " << errors.before << ", after " << errors.after;
}

TEST(MeanBiasCorrectionTest, AGemmWithAlphaBetaAndAnUntransposedWeightIsRightOnAverage) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,8] X) => (float[1,3] Y)
<float[8,3] W, float[3] C>
{
  Y = Gemm <alpha = 0.5, beta = 2.0> (X, W, C)
}
)");
  testing::SetRandomInitializer(model, "W", {8, 3}, 3, -0.05F, 0.05F);
  testing::SetRandomInitializer(model, "C", {3}, 4, -0.1F, 0.1F);
  auto values = testing::InitializerValues(model, "W");
  values[1] = 1.5F;
  testing::SetInitializer(model, "W", {8, 3}, values);
  const auto errors = MeanErrorsWithoutAndWith(model, Samples("X", {1, 8}, 32, 1.0F, 3.0F), 3);
  EXPECT_GT(errors.before, 0.005);
  EXPECT_LT(errors.after, errors.before / 3) << "before " << errors.before << ", after " << errors.after;
}

TEST(MeanBiasCorrectionTest, ExplicitBiasCorrectionReplacesIt) {
  const auto model = PaddedGroupedConv();
  const auto samples = Samples("X", {1, 4, 6, 6}, 4, 0.5F, 1.5F);
  QuantizeOptions options;
  options.passes.bias_correction = true;
  VectorReader reader(samples);
  QuantizeReport report;
  const auto quantized = QuantizeModel(model, &reader, options, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_EQ(report.biases_corrected, 0);
}

}  // namespace
}  // namespace onnxq
