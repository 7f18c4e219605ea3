// NPU-CNN mode end to end: the node patterns and numbers an AMD NPU needs (power-of-two scales, the
// uint8 zero point 128, int8 power-of-two biases, no Q/DQ between a Conv and its activation), the
// model still running in ONNX Runtime, and on the Fashion-MNIST models top-1 within 1.5 points of float.
#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "onnxq/evaluate.h"
#include "onnxq/model_io.h"
#include "onnxq/presets.h"
#include "onnxq/quantize.h"
#include "testing/model_text.h"
#include "testing/npu_rule_checker.h"
#include "testing/test_support.h"
#include "testing/vector_reader.h"

namespace onnxq {
namespace {

using testing::ParseModelText;
using testing::VectorReader;

// Conv -> Relu -> Conv -> LeakyRelu -> GlobalAveragePool, with biases.
const char* kConvModel = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  convs (float[N, 2, 6, 6] x) => (float[N, 3, 1, 1] y)
  <float[3, 2, 3, 3] w1 = {0.5, -0.25, 0.75, 0.1, 0.2, -0.3, 0.4, 0.6, -0.1, 0.3, -0.7, 0.2, 0.1, 0.9, -0.4, 0.25,
                           0.35, -0.15, -0.5, 0.45, 0.3, 0.2, -0.6, 0.1, 0.7, -0.2, 0.05, 0.15, 0.65, -0.35, 0.4,
                           -0.45, 0.55, 0.2, -0.1, 0.3, 0.8, -0.3, 0.1, 0.2, 0.4, -0.6, 0.3, 0.5, -0.2, 0.1, 0.05,
                           -0.25, 0.6, 0.35, -0.55, 0.45, 0.15, -0.05},
   float[3] b1 = {0.1, -0.2, 0.3},
   float[3, 3, 1, 1] w2 = {0.5, -0.4, 0.3, 0.2, 0.6, -0.1, -0.3, 0.25, 0.7},
   float[3] b2 = {0.05, 0.1, -0.15}>
  {
    c1 = Conv<pads = [1, 1, 1, 1]>(x, w1, b1)
    r1 = Relu(c1)
    c2 = Conv(r1, w2, b2)
    l2 = LeakyRelu<alpha = 0.1>(c2)
    y = GlobalAveragePool(l2)
  }
)";

float ScalarFloat(const onnx::TensorProto& t) {
  if (t.float_data_size() > 0) return t.float_data(0);
  float v = 0.0F;
  std::memcpy(&v, t.raw_data().data(), sizeof(v));
  return v;
}

std::map<std::string, const onnx::NodeProto*> ProducerOf(const onnx::GraphProto& graph) {
  std::map<std::string, const onnx::NodeProto*> producer;
  for (const auto& node : graph.node()) {
    for (const auto& out : node.output()) producer[out] = &node;
  }
  return producer;
}

TEST(NpuCnnTest, ConvModelHasTheNpuPatterns) {
  const onnx::ModelProto model = ParseModelText(kConvModel);
  const auto options = ResolveOptions("XINT8", {});
  ASSERT_TRUE(options.ok()) << options.status().message();
  const auto feeds = testing::UniformFeeds("x", {1, 2, 6, 6}, 16, 7);
  VectorReader reader(feeds);
  QuantizeReport report;
  auto quantized = QuantizeModel(model, &reader, *options, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_NO_THROW(onnx::checker::check_model(*quantized));
  const auto& graph = quantized->graph();
  const auto producer = ProducerOf(graph);
  int qdq = 0;
  for (const auto& node : graph.node()) {
    if (node.op_type() != "QuantizeLinear" && node.op_type() != "DequantizeLinear") continue;
    ++qdq;
    const auto* scale = testing::FindInitializer(graph, node.input(1));
    ASSERT_NE(scale, nullptr) << node.name();
    EXPECT_EQ(scale->dims_size(), 0) << node.name() << ": per-tensor";
    const float s = ScalarFloat(*scale);
    EXPECT_EQ(std::exp2(std::round(std::log2(s))), s) << node.name() << ": scale " << s << " not a power of two";
    const auto* zp = testing::FindInitializer(graph, node.input(2));
    ASSERT_NE(zp, nullptr);
    if (zp->data_type() == onnx::TensorProto::UINT8) {
      EXPECT_EQ(static_cast<uint8_t>(zp->raw_data().empty() ? zp->int32_data(0) : zp->raw_data()[0]), 128)
          << node.name();
    } else {
      EXPECT_EQ(zp->data_type(), onnx::TensorProto::INT8) << node.name();
    }
    // Nothing between a Conv and its activation.
    if (node.op_type() == "QuantizeLinear") {
      const auto it = producer.find(node.input(0));
      if (it != producer.end()) {
        EXPECT_NE(it->second->op_type(), "Conv") << node.name();
      }
    }
  }
  EXPECT_GT(qdq, 8);
  for (const auto& node : graph.node()) {
    if (node.op_type() != "Conv") continue;
    ASSERT_EQ(node.input_size(), 3);
    const auto bias = producer.find(node.input(2));
    ASSERT_NE(bias, producer.end()) << node.name() << ": bias not dequantized";
    EXPECT_EQ(bias->second->op_type(), "DequantizeLinear");
    const auto* q = testing::FindInitializer(graph, bias->second->input(0));
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(q->data_type(), onnx::TensorProto::INT8) << node.name() << ": int8 bias";
  }
  // Every rule, checked by code of its own.
  const auto violations = testing::CheckNpuRules(*quantized);
  EXPECT_TRUE(violations.empty()) << violations.front();
  // The DPU's LeakyRelu alpha, 26/256.
  for (const auto& node : graph.node()) {
    if (node.op_type() == "LeakyRelu") {
      EXPECT_EQ(node.attribute(0).f(), 0.1015625F);
    }
  }
  // Still the model's function.
  const auto expected = testing::RunFirstOutput(model, feeds[0]);
  const auto actual = testing::RunFirstOutput(*quantized, feeds[0]);
  ASSERT_EQ(expected.size(), actual.size());
  testing::ExpectWithinFractionOfPeak(expected, actual, 0.1F);
}

// Add of a large and a small tensor: their positions lie more than 7 apart (the DPU's read shifter).
const char* kAddModel = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  add (float[N, 8] a, float[N, 8] b) => (float[N, 8] y)
  {
    y = Add(a, b)
  }
)";

// Eight samples of a (about 100, pos about 0) and b (about 0.01, pos about 13); b's values appended to
// `b_values` when given.
std::vector<Feeds> AddFeeds(std::vector<float>* b_values) {
  std::vector<Feeds> feeds;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uniform(-1.0F, 1.0F);
  for (int i = 0; i < 8; ++i) {
    std::vector<float> a(8);
    std::vector<float> b(8);
    for (auto& v : a) v = 100.0F * uniform(rng);
    for (auto& v : b) v = 0.01F * uniform(rng);
    if (b_values != nullptr) b_values->insert(b_values->end(), b.begin(), b.end());
    feeds.push_back({Tensor::FromFloats("a", {1, 8}, a), Tensor::FromFloats("b", {1, 8}, b)});
  }
  return feeds;
}

// SQNR (dB) of `values` on the NPU's uint8 grid at scale 2^-pos (zero point 128), computed here.
double Uint8SymmetricSqnrDb(const std::vector<float>& values, int pos) {
  const double scale = std::ldexp(1.0, -pos);
  double signal = 0.0;
  double noise = 0.0;
  for (const float x : values) {
    const double q = std::clamp(std::nearbyint(x / scale) + 128.0, 0.0, 255.0);
    const double error = x - (q - 128.0) * scale;
    signal += static_cast<double>(x) * x;
    noise += error * error;
  }
  return 10.0 * std::log10(signal / noise);
}

TEST(NpuCnnTest, RefinementMovesWhatTheShiftersCannotComputeAndReportsIt) {
  const onnx::ModelProto model = ParseModelText(kAddModel);
  std::vector<float> b_values;
  const auto feeds = AddFeeds(&b_values);
  for (const bool refine : {false, true}) {
    SCOPED_TRACE(refine ? "NPULimitationCheck" : "without");
    const std::vector<Setting> settings = {{"NPULimitationCheck", refine ? "True" : "False"}};
    const auto options = ResolveOptions("XINT8", settings);
    ASSERT_TRUE(options.ok()) << options.status().message();
    VectorReader reader(feeds);
    QuantizeReport report;
    auto quantized = QuantizeModel(model, &reader, *options, &report);
    ASSERT_TRUE(quantized.ok()) << quantized.status().message();
    const auto violations = testing::CheckNpuRules(*quantized);
    if (!refine) {
      EXPECT_FALSE(report.npu_refinement.has_value());
      ASSERT_FALSE(violations.empty());
      EXPECT_NE(violations.front().find("AdjustShiftRead"), std::string::npos) << violations.front();
      continue;
    }
    EXPECT_TRUE(violations.empty()) << violations.front();
    ASSERT_TRUE(report.npu_refinement.has_value());
    EXPECT_TRUE(report.npu_refinement->converged);
    ASSERT_FALSE(report.npu_refinement->adjustments.empty());
    const NpuAdjustment& a = report.npu_refinement->adjustments.front();
    EXPECT_EQ(a.rule, "AdjustShiftRead");
    EXPECT_EQ(a.tensor, "b");  // the larger position lowered to the smaller + 7
    EXPECT_LT(a.new_pos, a.old_pos);
    // From the calibration histogram: a coarser grid for b loses SQNR, by what b's own values say.
    EXPECT_NEAR(a.old_sqnr_db, Uint8SymmetricSqnrDb(b_values, a.old_pos), 0.1);
    EXPECT_NEAR(a.new_sqnr_db, Uint8SymmetricSqnrDb(b_values, a.new_pos), 0.1);
    EXPECT_LT(a.new_sqnr_db, a.old_sqnr_db - 20.0);
  }
}

TEST(NpuCnnTest, APositionPinnedByTensorQuantOverridesIsNotMovedAndTheRuleIsReportedHeld) {
  const onnx::ModelProto model = ParseModelText(kAddModel);
  const auto feeds = AddFeeds(nullptr);
  auto options = ResolveOptions("XINT8", {});
  ASSERT_TRUE(options.ok()) << options.status().message();
  options->tensor_overrides["b"] = {.scale = 1.0F / 8192.0F, .zero_point = 128};  // pos 13
  VectorReader reader(feeds);
  QuantizeReport report;
  auto quantized = QuantizeModel(model, &reader, *options, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  ASSERT_TRUE(report.npu_refinement.has_value());
  EXPECT_FALSE(report.npu_refinement->converged);
  ASSERT_EQ(report.npu_refinement->held.size(), 1U);
  const NpuAdjustment& held = report.npu_refinement->held.front();
  EXPECT_EQ(held.rule, "AdjustShiftRead");
  EXPECT_EQ(held.tensor, "b");
  EXPECT_EQ(held.old_pos, 13);
  for (const NpuAdjustment& a : report.npu_refinement->adjustments) EXPECT_NE(a.tensor, "b");
  // b keeps its pinned scale in the model; the broken rule is what the independent checker finds.
  int pinned_scales = 0;
  for (const auto& node : quantized->graph().node()) {
    if (node.op_type() != "QuantizeLinear" || node.input(0) != "b") continue;
    const auto* scale = testing::FindInitializer(quantized->graph(), node.input(1));
    ASSERT_NE(scale, nullptr);
    EXPECT_EQ(ScalarFloat(*scale), 1.0F / 8192.0F);
    ++pinned_scales;
  }
  EXPECT_EQ(pinned_scales, 1);
  const auto violations = testing::CheckNpuRules(*quantized);
  ASSERT_FALSE(violations.empty());
  EXPECT_NE(violations.front().find("AdjustShiftRead"), std::string::npos) << violations.front();
}

struct AccuracyCase {
  std::string model;
  bool cle;
};

class NpuCnnAccuracyTest : public ::testing::TestWithParam<AccuracyCase> {};

Result<std::unique_ptr<CalibrationDataReader>> Open(const std::string& file, int64_t max_samples) {
  return OpenArrayFiles({{"input", testing::DataDir() / file, {}, ElementType::kFloat}},
                        {.batch_size = 1, .max_samples = max_samples});
}

TEST_P(NpuCnnAccuracyTest, Xint8StaysWithinOneAndAHalfPointsOfFloat) {
  const AccuracyCase& c = GetParam();
  auto model = LoadModel(testing::ModelPath(c.model));
  ASSERT_TRUE(model.ok()) << model.status().message();
  std::vector<Setting> settings;
  if (c.cle) settings.push_back({"include_cle", "True"});
  const auto options = ResolveOptions("XINT8", settings);
  ASSERT_TRUE(options.ok()) << options.status().message();
  auto calib = Open("calib_1000.npy", 300);
  ASSERT_TRUE(calib.ok());
  auto quantized = QuantizeModel(*model, calib->get(), *options);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_NO_THROW(onnx::checker::check_model(*quantized));
  const auto violations = testing::CheckNpuRules(*quantized);
  EXPECT_TRUE(violations.empty()) << violations.size() << " violations, the first: " << violations.front();
  auto labels = LoadLabels(testing::DataDir() / "eval_labels.u8");
  ASSERT_TRUE(labels.ok());
  auto eval = Open("eval_10000.npy", -1);
  ASSERT_TRUE(eval.ok());
  auto float_top1 = EvaluateClassifier(*model, **eval, *labels);
  ASSERT_TRUE(float_top1.ok()) << float_top1.status().message();
  auto eval2 = Open("eval_10000.npy", -1);
  ASSERT_TRUE(eval2.ok());
  auto quant_top1 = EvaluateClassifier(*quantized, **eval2, *labels);
  ASSERT_TRUE(quant_top1.ok()) << quant_top1.status().message();
  EXPECT_GE(quant_top1->top1, float_top1->top1 - 1.5) << c.model;
}

INSTANTIATE_TEST_SUITE_P(
    FashionMnist, NpuCnnAccuracyTest,
    ::testing::Values(AccuracyCase{"mbv2_fmnist_bn.onnx", false}, AccuracyCase{"mbv2_fmnist_bn.onnx", true},
                      AccuracyCase{"resnet_fmnist_bn.onnx", false}, AccuracyCase{"resnet_fmnist_bn.onnx", true}),
    [](const ::testing::TestParamInfo<AccuracyCase>& param) {
      return param.param.model.substr(0, param.param.model.find('.')) + (param.param.cle ? "_cle" : "");
    });

}  // namespace
}  // namespace onnxq
