// RangeFallback: when MinMax ranges give an output below RangeFallbackSqnrThreshold on the check's
// samples, the pipeline calibrates Percentile ranges over the same data, quantizes again and keeps the
// model whose worst output is better; the option turns it off; a reader that cannot rewind keeps the
// first model with a warning. A fallback that is no better: check_outputs_test.cc.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "ir/tensor_util.h"
#include "onnxq/data_reader.h"
#include "onnxq/extra_options.h"
#include "onnxq/quantize.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;
using testing::VectorReader;

const char* kReluModel = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  relu (float[N, 4096] x) => (float[N, 4096] y)
  {
    y = Relu(x)
  }
)";

constexpr int kSamples = 32;
constexpr int kWidth = 4096;
constexpr int kOutlierSample = 20;  // after the 8 samples the output check compares on

// 32 samples of x [1, 4096], uniform in [0, 1), with one value of 1000 in sample 20: 1 in 131072
// values, under the 0.001 % that Percentile (99.999) may clip.
std::vector<Feeds> SamplesWithOneOutlier() {
  std::vector<Feeds> batches;
  for (int s = 0; s < kSamples; ++s) {
    std::vector<float> x(kWidth);
    for (int i = 0; i < kWidth; ++i) x[i] = static_cast<float>((s * 7919 + i * 104729) % 10007) / 10007.0F;
    if (s == kOutlierSample) x[17] = 1000.0F;
    batches.push_back({Tensor::FromFloats("x", {1, kWidth}, x)});
  }
  return batches;
}

// The scale of the QuantizeLinear of `tensor` (-1 when there is none).
float ScaleOf(const onnx::ModelProto& model, const std::string& tensor) {
  for (const auto& node : model.graph().node()) {
    if (node.op_type() != "QuantizeLinear" || node.input(0) != tensor) continue;
    for (const auto& init : model.graph().initializer()) {
      if (init.name() == node.input(1)) return ToFloats(init).value().at(0);
    }
  }
  return -1.0F;
}

TEST(RangeFallbackTest, PercentileRangesReplaceMinMaxStretchedByAnOutlier) {
  VectorReader reader(SamplesWithOneOutlier());
  QuantizeReport report;
  auto quantized = QuantizeModel(ParseModelText(kReluModel), &reader, {}, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  ASSERT_TRUE(report.range_fallback.has_value());
  const RangeFallbackReport& fallback = *report.range_fallback;
  EXPECT_EQ(fallback.method, "Percentile");
  // MinMax: [0, 1000], a step of 3.92, and every value of the 8 checked samples rounds to 0: 0 dB.
  EXPECT_NEAR(fallback.minmax_sqnr_db, 0.0, 1e-6);
  // Percentile: about [0, 1], a step of 1/255: about 50 dB on uniform values.
  EXPECT_GT(fallback.fallback_sqnr_db, 35.0);
  EXPECT_TRUE(fallback.kept_fallback);
  ASSERT_EQ(report.outputs.size(), 1U);
  EXPECT_DOUBLE_EQ(report.outputs[0].sqnr_db, fallback.fallback_sqnr_db);
  EXPECT_TRUE(report.outputs[0].warning.empty());
  EXPECT_NEAR(ScaleOf(*quantized, "x"), 1.0F / 255.0F, 0.1F / 255.0F);
  bool told = false;
  for (const auto& w : report.warnings) {
    told = told || w.find("RangeFallback: the worst output measures 0.00 dB with MinMax ranges") == 0;
    EXPECT_EQ(w.find("output 'y': SQNR"), std::string::npos) << w;  // the first model's warning is gone
  }
  EXPECT_TRUE(told);
}

TEST(RangeFallbackTest, TheOptionKeepsMinMax) {
  VectorReader reader(SamplesWithOneOutlier());
  QuantizeOptions options;
  ASSERT_TRUE(ApplyExtraOptions({{"RangeFallback", "0"}}, &options).ok());
  QuantizeReport report;
  auto quantized = QuantizeModel(ParseModelText(kReluModel), &reader, options, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_FALSE(report.range_fallback.has_value());
  ASSERT_EQ(report.outputs.size(), 1U);
  EXPECT_NEAR(report.outputs[0].sqnr_db, 0.0, 1e-6);
  EXPECT_NEAR(ScaleOf(*quantized, "x"), 1000.0F / 255.0F, 1e-3);
  EXPECT_FALSE(report.outputs[0].warning.empty());
}

TEST(RangeFallbackTest, AThresholdBelowTheFirstModelsSqnrDoesNotRecalibrate) {
  VectorReader reader(SamplesWithOneOutlier());
  QuantizeOptions options;
  ASSERT_TRUE(ApplyExtraOptions({{"RangeFallbackSqnrThreshold", "-1"}}, &options).ok());
  QuantizeReport report;
  ASSERT_TRUE(QuantizeModel(ParseModelText(kReluModel), &reader, options, &report).ok());
  EXPECT_FALSE(report.range_fallback.has_value());
  EXPECT_EQ(reader.batches_read(), kSamples);  // read once
}

// A reader that cannot read its data again.
class OnceReader final : public CalibrationDataReader {
 public:
  explicit OnceReader(std::vector<Feeds> batches) : inner_(std::move(batches)) {}
  Result<std::optional<Feeds>> GetNext() override { return inner_.GetNext(); }

 private:
  VectorReader inner_;
};

TEST(RangeFallbackTest, AReaderThatCannotRewindKeepsTheFirstModelWithAWarning) {
  OnceReader reader(SamplesWithOneOutlier());
  QuantizeReport report;
  auto quantized = QuantizeModel(ParseModelText(kReluModel), &reader, {}, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_FALSE(report.range_fallback.has_value());
  EXPECT_NEAR(report.outputs[0].sqnr_db, 0.0, 1e-6);
  EXPECT_TRUE(testing::HasWarning(report, "RangeFallback: no Percentile ranges (this data reader cannot rewind)"));
}

}  // namespace
}  // namespace onnxq
