// The per-layer error report: on a quantized Fashion-MNIST MobileNetV2, every activation Q/DQ pair
// listed with plausible numbers, a weight's SQNR and a graph input's SQNR recomputed here from the
// models themselves, the sensitivity runs; the text, JSON and HTML forms; refusals.
#include "onnxq/layer_report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ir/tensor_util.h"
#include "onnxq/data_reader.h"
#include "onnxq/model_io.h"
#include "onnxq/quantize.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;
using testing::VectorReader;

Result<std::unique_ptr<CalibrationDataReader>> Calibration(int64_t samples) {
  return OpenArrayFiles({{"input", testing::DataDir() / "calib_1000.npy", {}, ElementType::kFloat}},
                        {.batch_size = 1, .max_samples = samples});
}

// The float model, its default quantization and the report on 16 samples (5 sensitivity runs), made
// once for the suite.
class LayerReportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto model = LoadModel(testing::ModelPath("mbv2_fmnist.onnx"));
    ASSERT_TRUE(model.ok()) << model.status().message();
    float_model_ = new onnx::ModelProto(*model);
    auto calibration = Calibration(64);
    ASSERT_TRUE(calibration.ok()) << calibration.status().message();
    auto quantized = QuantizeModel(*model, calibration->get(), {});
    ASSERT_TRUE(quantized.ok()) << quantized.status().message();
    quantized_ = new onnx::ModelProto(*quantized);
    auto data = Calibration(16);
    ASSERT_TRUE(data.ok());
    auto report = CompareLayers(*float_model_, *quantized_, **data, {.max_samples = 16, .sensitivity = 5});
    ASSERT_TRUE(report.ok()) << report.status().message();
    report_ = new LayerReport(*report);
  }
  static void TearDownTestSuite() {
    delete float_model_;
    delete quantized_;
    delete report_;
  }

  static const onnx::TensorProto* QuantizedInitializer(const std::string& name) {
    return testing::FindInitializer(quantized_->graph(), name);
  }

  static onnx::ModelProto* float_model_;
  static onnx::ModelProto* quantized_;
  static LayerReport* report_;
};

onnx::ModelProto* LayerReportTest::float_model_ = nullptr;
onnx::ModelProto* LayerReportTest::quantized_ = nullptr;
LayerReport* LayerReportTest::report_ = nullptr;

TEST_F(LayerReportTest, ListsEveryActivationPair) {
  // Every QuantizeLinear of a tensor that is no initializer: its input, or the DQ's output when the
  // quantizer renamed a graph output's producer.
  std::set<std::string> expected;
  for (const auto& node : quantized_->graph().node()) {
    if (node.op_type() != "QuantizeLinear" || QuantizedInitializer(node.input(0)) != nullptr) continue;
    std::string tensor = node.input(0);
    if (tensor.ends_with("_QuantizeInput")) tensor.resize(tensor.size() - std::string("_QuantizeInput").size());
    expected.insert(tensor);
  }
  ASSERT_GT(expected.size(), 30U);
  std::set<std::string> listed;
  for (const auto& a : report_->activations) listed.insert(a.tensor);
  EXPECT_EQ(listed, expected);
  EXPECT_EQ(report_->activations.size(), expected.size());
  EXPECT_TRUE(report_->unmatched.empty());
  EXPECT_EQ(report_->samples, 16);
}

TEST_F(LayerReportTest, NumbersArePlausibleAndWorstFirst) {
  int above_15 = 0;
  for (size_t i = 0; i < report_->activations.size(); ++i) {
    const ActivationError& a = report_->activations[i];
    EXPECT_TRUE(std::isfinite(a.sqnr_db)) << a.tensor;
    EXPECT_GT(a.cosine, 0.9) << a.tensor;
    if (i > 0) {
      EXPECT_LE(report_->activations[i - 1].sqnr_db, a.sqnr_db);
    }
    above_15 += a.sqnr_db > 15 ? 1 : 0;
    // The range from the type, scale and zero point; the histogram holds every value.
    const int64_t qmin = a.quant_type == "uint8" ? 0 : -128;
    const int64_t qmax = a.quant_type == "uint8" ? 255 : 127;
    EXPECT_NEAR(a.range_min, static_cast<double>(qmin - a.zero_point) * a.scale, 1e-5) << a.tensor;
    EXPECT_NEAR(a.range_max, static_cast<double>(qmax - a.zero_point) * a.scale, 1e-5) << a.tensor;
    EXPECT_EQ(a.histogram.counts.size(), 64U);
    EXPECT_NEAR(std::accumulate(a.histogram.counts.begin(), a.histogram.counts.end(), 0.0),
                static_cast<double>(a.values), 1e-6 * static_cast<double>(a.values));
    EXPECT_LE(a.histogram.lo, std::min<double>(a.min, a.range_min));
    EXPECT_GE(a.histogram.hi, std::max<double>(a.max, a.range_max));
    EXPECT_GE(a.clipped_fraction, 0.0);
    EXPECT_LE(a.clipped_fraction, 0.05) << a.tensor << ": MinMax ranges clip only what the 16 samples add";
    EXPECT_EQ(a.producer_op.empty(), false);
  }
  EXPECT_GE(above_15 * 10, static_cast<int>(report_->activations.size()) * 9) << "most activations above 15 dB";
  ASSERT_EQ(report_->outputs.size(), 1U);
  EXPECT_GT(report_->outputs[0].sqnr_db, 15.0);
}

// The graph input is quantized first: its SQNR is that of rounding the feeds to the grid, computed
// here from the quantized model's scale and zero point.
TEST_F(LayerReportTest, GraphInputSqnrByHand) {
  const ActivationError* input = nullptr;
  for (const auto& a : report_->activations) {
    if (a.tensor == "input") input = &a;
  }
  ASSERT_NE(input, nullptr);
  EXPECT_EQ(input->producer_op, "input");
  EXPECT_EQ(input->graph_index, -1);
  const Tensor feeds = testing::LoadNpySamples(testing::DataDir() / "calib_1000.npy", "input", 0, 16);
  double signal = 0;
  double noise = 0;
  int64_t clipped = 0;
  for (const float x : feeds.floats()) {
    const double code =
        std::clamp(std::nearbyint(static_cast<double>(x / input->scale)) + input->zero_point,
                   input->quant_type == "uint8" ? 0.0 : -128.0, input->quant_type == "uint8" ? 255.0 : 127.0);
    const double q = static_cast<float>(code - static_cast<double>(input->zero_point)) * input->scale;
    signal += static_cast<double>(x) * x;
    noise += (x - q) * (x - q);
    clipped += x < input->range_min || x > input->range_max ? 1 : 0;
  }
  EXPECT_NEAR(input->sqnr_db, 10 * std::log10(signal / noise), 1e-3);
  EXPECT_EQ(input->values, feeds.element_count());
  EXPECT_EQ(input->clipped, clipped);
}

// A weight's SQNR: the worst weight's int8 codes dequantized here, against the float model's
// initializer. The int32 biases, which also carry the bias correction, come after every weight.
TEST_F(LayerReportTest, WeightSqnrByHand) {
  ASSERT_FALSE(report_->weights.empty());
  const WeightError& worst = report_->weights.front();
  const auto first_bias = std::ranges::find(report_->weights, std::string("int32"), &WeightError::quant_type);
  ASSERT_NE(first_bias, report_->weights.end());
  EXPECT_TRUE(
      std::all_of(first_bias, report_->weights.end(), [](const WeightError& w) { return w.quant_type == "int32"; }));
  const onnx::TensorProto* codes = QuantizedInitializer(worst.tensor + "_quantized");
  ASSERT_NE(codes, nullptr) << worst.tensor;
  const onnx::TensorProto* original = testing::FindInitializer(float_model_->graph(), worst.tensor);
  ASSERT_NE(original, nullptr);
  const onnx::NodeProto* dq = nullptr;
  for (const auto& node : quantized_->graph().node()) {
    if (node.op_type() == "DequantizeLinear" && node.input(0) == codes->name()) dq = &node;
  }
  ASSERT_NE(dq, nullptr);
  const auto q = ToInt64s(*codes);
  const auto x = ToFloats(*original);
  const auto scales = ToFloats(*QuantizedInitializer(dq->input(1)));
  const auto zps = ToInt64s(*QuantizedInitializer(dq->input(2)));
  ASSERT_TRUE(q.ok() && x.ok() && scales.ok() && zps.ok());
  ASSERT_EQ(q->size(), x->size());
  // Per channel along axis 0 (a Conv weight) or per tensor.
  const size_t per_channel = scales->size() == 1 ? q->size() : q->size() / scales->size();
  double signal = 0;
  double noise = 0;
  for (size_t i = 0; i < q->size(); ++i) {
    const size_t c = scales->size() == 1 ? 0 : i / per_channel;
    const double restored = static_cast<float>((*q)[i] - (*zps)[c]) * (*scales)[c];
    signal += static_cast<double>((*x)[i]) * (*x)[i];
    noise += ((*x)[i] - restored) * ((*x)[i] - restored);
  }
  EXPECT_NEAR(worst.sqnr_db, 10 * std::log10(signal / noise), 1e-3);
  EXPECT_EQ(worst.values, static_cast<int64_t>(q->size()));
  EXPECT_EQ(worst.quant_type, "int8");
  // 8-bit weights: tens of dB.
  for (const auto& w : report_->weights) {
    if (w.quant_type == "int8") {
      EXPECT_GT(w.sqnr_db, 10.0) << w.tensor;
    }
  }
}

// One tensor quantized alone costs the output less than all of them together.
TEST_F(LayerReportTest, SensitivityOfTheWorstFive) {
  const double full = report_->outputs[0].sqnr_db;
  for (size_t i = 0; i < report_->activations.size(); ++i) {
    const ActivationError& a = report_->activations[i];
    EXPECT_EQ(a.sensitivity_db.has_value(), i < 5) << a.tensor;
    if (!a.sensitivity_db) continue;
    EXPECT_TRUE(std::isfinite(*a.sensitivity_db));
    EXPECT_GE(*a.sensitivity_db, full) << a.tensor;
  }
}

TEST_F(LayerReportTest, TextJsonAndHtml) {
  const LayerReportTitle title{.float_model = "f.onnx", .quantized_model = "q.onnx", .data = "calib.npy"};
  const std::string text = LayerReportText(*report_, title);
  EXPECT_TRUE(text.starts_with("onnxq report: f.onnx vs q.onnx on 16 samples of calib.npy\n")) << text;
  EXPECT_NE(text.find(report_->activations.front().tensor), std::string::npos);
  EXPECT_EQ(text.find(" \n"), std::string::npos) << "no trailing spaces";
  const auto json = nlohmann::json::parse(LayerReportJson(*report_, title));
  EXPECT_EQ(json["samples"], 16);
  ASSERT_EQ(json["activations"].size(), report_->activations.size());
  EXPECT_EQ(json["activations"][0]["tensor"], report_->activations[0].tensor);
  EXPECT_NEAR(json["activations"][0]["sqnr_db"].get<double>(), report_->activations[0].sqnr_db, 1e-9);
  EXPECT_EQ(json["activations"][0]["histogram"]["counts"].size(), 64U);
  EXPECT_EQ(json["weights"].size(), report_->weights.size());
  const std::string html = LayerReportHtml(*report_, title);
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_NE(html.find("<table id='activations'>"), std::string::npos);
  EXPECT_NE(html.find("<svg id='sqnr-plot'"), std::string::npos);
  // A histogram per activation, nothing fetched, no script.
  size_t histograms = 0;
  for (size_t at = html.find("class='histogram'"); at != std::string::npos;
       at = html.find("class='histogram'", at + 1)) {
    ++histograms;
  }
  EXPECT_EQ(histograms, report_->activations.size());
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("href='http"), std::string::npos);
}

TEST_F(LayerReportTest, WritesEachFormatAtomically) {
  const auto dir = testing::TempDir("layer-report-files");
  const LayerReportTitle title{.float_model = "f.onnx", .quantized_model = "q.onnx"};
  for (const char* name : {"r.html", "r.json", "r.txt"}) {
    const auto format = LayerReportFormatOf(dir / name);
    ASSERT_TRUE(WriteLayerReport(*report_, title, format, dir / name).ok());
  }
  EXPECT_EQ(LayerReportFormatOf("x.HTM"), LayerReportFormat::kHtml);
  EXPECT_TRUE(testing::ReadBytes(dir / "r.html").starts_with("<!DOCTYPE html>"));
  EXPECT_TRUE(testing::ReadBytes(dir / "r.json").starts_with("{"));
  EXPECT_TRUE(testing::ReadBytes(dir / "r.txt").starts_with("onnxq report:"));
  EXPECT_EQ(testing::Listing(dir), (std::vector<std::string>{"r.html", "r.json", "r.txt"}));
  // A folder is no file to replace.
  EXPECT_FALSE(WriteLayerReport(*report_, title, LayerReportFormat::kText, dir).ok());
  std::filesystem::remove_all(dir);
}

TEST(LayerReportRefusalTest, AFloatModelHasNoPairs) {
  const onnx::ModelProto model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    relu (float[N, 4] x) => (float[N, 4] y)
    {
      y = Relu(x)
    }
  )");
  VectorReader reader({{Tensor::FromFloats("x", {1, 4}, std::vector<float>{1, 2, 3, 4})}});
  const auto report = CompareLayers(model, model, reader);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(report.status().message().find("no QuantizeLinear -> DequantizeLinear pair"), std::string::npos);
}

// A Relu quantized by hand: the pair's numbers, and the sensitivity run of the only pair equals the
// whole model's output SQNR (the output is that tensor).
TEST(LayerReportSmallTest, OnePairWorkedByHand) {
  const onnx::ModelProto float_model = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    relu (float[N, 4] x) => (float[N, 4] y)
    {
      r = Relu(x)
      y = Identity(r)
    }
  )");
  // Scale 0.5, zero point 0: 1.2 -> 1.0, 3.0 -> 3.0, 0.2 -> 0, 200 -> 127.5 (clipped at 255).
  const onnx::ModelProto quantized = ParseModelText(R"(
    <ir_version: 8, opset_import: ["" : 13]>
    relu (float[N, 4] x) => (float[N, 4] y)
    <float s = {0.5}, uint8 z = {0}>
    {
      r = Relu(x)
      rq = QuantizeLinear(r, s, z)
      rd = DequantizeLinear(rq, s, z)
      y = Identity(rd)
    }
  )");
  VectorReader reader({{Tensor::FromFloats("x", {1, 4}, std::vector<float>{1.2F, 3.0F, 0.2F, 200.0F})}});
  const auto report = CompareLayers(float_model, quantized, reader, {.histogram_bins = 4});
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->activations.size(), 1U);
  const ActivationError& r = report->activations[0];
  EXPECT_EQ(r.tensor, "r");
  EXPECT_EQ(r.producer_op, "Relu");
  EXPECT_EQ(r.graph_index, 0);
  EXPECT_EQ(r.quant_type, "uint8");
  EXPECT_EQ(r.range_min, 0.0);
  EXPECT_EQ(r.range_max, 127.5);
  // Signal 1.44 + 9 + 0.04 + 40000; noise 0.04 + 0 + 0.04 + 72.5^2 = 5256.33.
  EXPECT_NEAR(r.sqnr_db, 10 * std::log10(40010.48 / 5256.33), 1e-4);
  EXPECT_EQ(r.clipped, 1);
  EXPECT_DOUBLE_EQ(r.clipped_fraction, 0.25);
  EXPECT_FLOAT_EQ(r.min, 0.2F);
  EXPECT_FLOAT_EQ(r.max, 200.0F);
  // Display bins over [0, 200] (the range reaches down to 0): three values in the first, 200 in the last.
  EXPECT_NEAR(r.histogram.counts[0], 3.0, 1e-3);
  EXPECT_NEAR(r.histogram.counts[3], 1.0, 1e-3);
  ASSERT_TRUE(r.sensitivity_db.has_value());
  ASSERT_EQ(report->outputs.size(), 1U);
  EXPECT_NEAR(*r.sensitivity_db, report->outputs[0].sqnr_db, 1e-9);
  EXPECT_NEAR(report->outputs[0].sqnr_db, r.sqnr_db, 1e-4);
  EXPECT_TRUE(report->weights.empty());
}

}  // namespace
}  // namespace onnxq
