// correct_bias: the corrected biases and the structure around them, and that the quantized model's
// mean output error against float shrinks.
#include "quantizer/correct_bias.h"

#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <cmath>

#include "calibration/onnxruntime_backend.h"
#include "onnxq/quantize.h"
#include "passes/pass_test_util.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::OpCounts;
using testing::ParseModelText;
using testing::SetRandomInitializer;
using testing::VectorReader;

// Conv (with bias) -> Relu -> depthwise 3x3 Conv (without bias), weights with a few large values so
// that per-tensor int8 rounds the small ones coarsely.
onnx::ModelProto SmallModel() {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,6,6] X) => (float[1,4,6,6] Y)
{
  H = Conv (X, W1, B1)
  A = Relu (H)
  Y = Conv <group = 4, pads = [1, 1, 1, 1]> (A, W2)
}
)");
  SetRandomInitializer(model, "W1", {4, 3, 1, 1}, 1, -0.05F, 0.05F);
  SetRandomInitializer(model, "B1", {4}, 2, 0.0F, 0.5F);
  SetRandomInitializer(model, "W2", {4, 1, 3, 3}, 3, 0.0F, 0.02F);
  // One large weight per tensor sets the per-tensor scale.
  auto* graph = model.mutable_graph();
  for (auto& init : *graph->mutable_initializer()) {
    if (init.name() == "W1" || init.name() == "W2") {
      std::string raw = init.raw_data();
      const float big = 1.0F;
      std::memcpy(raw.data(), &big, sizeof(big));
      init.set_raw_data(raw);
    }
  }
  return model;
}

std::vector<Feeds> Batches(uint32_t seed, int count) {
  std::vector<Feeds> batches;
  for (int i = 0; i < count; ++i) {
    batches.push_back({testing::RandomTensor("X", {1, 3, 6, 6}, seed + static_cast<uint32_t>(i), 0.0F, 1.0F)});
  }
  return batches;
}

// Per output channel (axis 1) mean of float - quantized over the batches; returns max |mean|.
double MaxChannelMeanError(const onnx::ModelProto& float_model, const onnx::ModelProto& quantized,
                           const std::vector<Feeds>& batches, int64_t channels) {
  std::vector<double> sums(static_cast<size_t>(channels), 0.0);
  int64_t count = 0;
  for (const auto& feeds : batches) {
    const auto f = testing::RunFirstOutput(float_model, feeds);
    const auto q = testing::RunFirstOutput(quantized, feeds);
    const size_t inner = f.size() / static_cast<size_t>(channels);
    for (size_t c = 0; c < static_cast<size_t>(channels); ++c) {
      for (size_t i = 0; i < inner; ++i) sums[c] += f[c * inner + i] - q[c * inner + i];
    }
    count += static_cast<int64_t>(inner);
  }
  double worst = 0;
  for (const double s : sums) worst = std::max(worst, std::fabs(s / static_cast<double>(count)));
  return worst;
}

TEST(CorrectBiasTest, StructureAndCorrectedBiases) {
  const auto model = SmallModel();
  VectorReader plain(Batches(0, 8));
  auto quantized = QuantizeModel(model, &plain, {});
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();

  auto corrected = *quantized;
  VectorReader again(Batches(0, 8));
  auto report = CorrectBias(OnnxRuntimeBackend(), model, corrected, again);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->changes, 2);
  EXPECT_NO_THROW(onnx::checker::check_model(corrected));
  // Same ops, plus one DequantizeLinear for the bias the depthwise conv did not have.
  auto expected = OpCounts(*quantized);
  ++expected["DequantizeLinear"];
  EXPECT_EQ(OpCounts(corrected), expected);
  const auto* dw = testing::FindNode(corrected, "Conv", 1);
  ASSERT_NE(dw, nullptr);
  ASSERT_EQ(dw->input_size(), 3);
  const auto* head = testing::FindNode(corrected, "Conv", 0);
  const auto* head_before = testing::FindNode(*quantized, "Conv", 0);
  // The head's int32 bias changed in place (same DequantizeLinear, new values).
  EXPECT_EQ(head->input(2), head_before->input(2));
}

TEST(CorrectBiasTest, MeanOutputErrorShrinks) {
  const auto model = SmallModel();
  QuantizeOptions options;
  VectorReader plain(Batches(0, 16));
  auto quantized = QuantizeModel(model, &plain, options);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  options.passes.bias_correction = true;
  VectorReader reader(Batches(0, 16));
  QuantizeReport report;
  auto corrected = QuantizeModel(model, &reader, options, &report);
  ASSERT_TRUE(corrected.ok()) << corrected.status().message();
  bool noted = false;
  for (const auto& w : report.warnings) noted |= w.find("correct_bias: 2 layer biases corrected") != std::string::npos;
  EXPECT_TRUE(noted);
  // Measured on other data than the correction saw.
  const auto held_out = Batches(100, 16);
  const double before = MaxChannelMeanError(model, *quantized, held_out, 4);
  const double after = MaxChannelMeanError(model, *corrected, held_out, 4);
  EXPECT_LT(after, 0.5 * before) << "before " << before << ", after " << after;
}

TEST(CorrectBiasTest, NeedsDataThatRewinds) {
  class OneShotReader final : public CalibrationDataReader {
   public:
    Result<std::optional<Feeds>> GetNext() override {
      if (done_) return std::optional<Feeds>();
      done_ = true;
      return std::optional<Feeds>(Batches(0, 1)[0]);
    }

   private:
    bool done_ = false;
  };
  QuantizeOptions options;
  options.passes.bias_correction = true;
  OneShotReader one_shot;
  auto quantized = QuantizeModel(SmallModel(), &one_shot, options);
  ASSERT_FALSE(quantized.ok());
  EXPECT_NE(quantized.status().message().find("BiasCorrection"), std::string::npos) << quantized.status().message();
}

TEST(CorrectBiasTest, ImbalancedMobileNetV2AfterEqualization) {
  const auto model = testing::LoadTestModel("mbv2_fmnist_imbalanced.onnx");
  const std::string input = model.graph().input(0).name();
  auto calib = [&] {
    std::vector<Feeds> feeds;
    for (int64_t i = 0; i < 64; ++i)
      feeds.push_back({testing::LoadNpySamples(testing::DataDir() / "calib_1000.npy", input, i, 1)});
    return feeds;
  };
  QuantizeOptions options;
  options.passes.include_cle = true;
  VectorReader plain(calib());
  auto quantized = QuantizeModel(model, &plain, options);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  options.passes.bias_correction = true;
  VectorReader reader(calib());
  auto corrected = QuantizeModel(model, &reader, options);
  ASSERT_TRUE(corrected.ok()) << corrected.status().message();
  // Logit error against float on held-out test images: its per-class mean shrinks.
  std::vector<Feeds> held_out;
  for (int64_t i = 0; i < 64; ++i) {
    held_out.push_back({testing::LoadNpySamples(testing::DataDir() / "eval_10000.npy", input, 2 * i, 1)});
  }
  const double before = MaxChannelMeanError(model, *quantized, held_out, 10);
  const double after = MaxChannelMeanError(model, *corrected, held_out, 10);
  EXPECT_LT(after, before) << "before " << before << ", after " << after;
}

}  // namespace
}  // namespace onnxq
