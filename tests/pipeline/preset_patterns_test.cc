// Each named configuration quantizes a small Conv model into the node patterns and types its
// definition asks for, and the result runs in ONNX Runtime; NPU-transformer mode quantizes MatMul only
// where B is a weight.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

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

const char* kConvModel = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  convs (float[N, 2, 4, 4] x) => (float[N, 2, 4, 4] y)
  <float[2, 2, 1, 1] w1 = {0.5, -0.25, 0.75, 0.1}, float[2] b1 = {0.1, -0.2},
   float[2, 2, 1, 1] w2 = {0.3, 0.6, -0.4, 0.2}, float[2] b2 = {0.05, -0.1}>
  {
    c1 = Conv(x, w1, b1)
    r1 = Relu(c1)
    c2 = Conv(r1, w2, b2)
    y = Add(c2, x)
  }
)";

struct Expected {
  std::string preset;
  int activation_type;  // onnx::TensorProto data type of activation zero points
  int weight_type;      // ... of the weights' quantized initializers
  bool microsoft;       // Q/DQ in the com.microsoft domain
  bool npu_cnn;         // the NPU-CNN rules hold
};

class PresetPatternsTest : public ::testing::TestWithParam<Expected> {};

TEST_P(PresetPatternsTest, QuantizesIntoTheDefinedTypesAndRuns) {
  const Expected& e = GetParam();
  const onnx::ModelProto model = ParseModelText(kConvModel);
  const auto options = ResolveOptions(e.preset, {});
  ASSERT_TRUE(options.ok()) << options.status().message();
  const auto feeds = testing::UniformFeeds("x", {1, 2, 4, 4}, 8, 3);
  VectorReader reader(feeds);
  auto quantized = QuantizeModel(model, &reader, *options);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  const auto& graph = quantized->graph();
  int quantizers = 0;
  for (const auto& node : graph.node()) {
    if (node.op_type() != "QuantizeLinear" && node.op_type() != "DequantizeLinear") continue;
    EXPECT_EQ(node.domain() == "com.microsoft", e.microsoft) << node.name();
    if (node.op_type() == "QuantizeLinear") {
      ++quantizers;
      const auto* zp = testing::FindInitializer(graph, node.input(2));
      ASSERT_NE(zp, nullptr);
      EXPECT_EQ(zp->data_type(), e.activation_type) << node.name();
    } else if (const auto* q = testing::FindInitializer(graph, node.input(0));
               q != nullptr && q->name().rfind("w", 0) == 0) {
      // A weight's quantized values: w1 / w2 (biases are int32 or, in NPU-CNN mode, int8).
      EXPECT_EQ(q->data_type(), e.weight_type) << q->name();
    }
  }
  EXPECT_GE(quantizers, 2);
  if (e.npu_cnn) {
    const auto violations = testing::CheckNpuRules(*quantized);
    EXPECT_TRUE(violations.empty()) << violations.front();
  }
  const auto expected = testing::RunFirstOutput(model, feeds[0]);
  const auto actual = testing::RunFirstOutput(*quantized, feeds[0]);
  testing::ExpectWithinFractionOfPeak(expected, actual, 0.1F);
}

constexpr int kInt8 = onnx::TensorProto::INT8;
constexpr int kUInt8 = onnx::TensorProto::UINT8;
constexpr int kInt16 = onnx::TensorProto::INT16;
constexpr int kUInt16 = onnx::TensorProto::UINT16;

INSTANTIATE_TEST_SUITE_P(Presets, PresetPatternsTest,
                         ::testing::Values(Expected{"XINT8", kUInt8, kInt8, false, true},
                                           Expected{"VINT8", kInt8, kInt8, false, false},
                                           Expected{"A8W8", kInt8, kInt8, false, false},
                                           Expected{"A16W8", kInt16, kInt8, true, false},
                                           Expected{"U8S8_AAWS", kUInt8, kInt8, false, false},
                                           Expected{"S8S8_AAWS", kInt8, kInt8, false, false},
                                           Expected{"U8U8_AAWA", kUInt8, kUInt8, false, false},
                                           Expected{"U16S8_AAWS", kUInt16, kInt8, true, false},
                                           Expected{"S16S8_ASWS", kInt16, kInt8, true, false},
                                           Expected{"INT8_CNN_DEFAULT", kUInt8, kInt8, false, false},
                                           Expected{"INT16_CNN_DEFAULT", kUInt16, kInt16, true, false}),
                         [](const ::testing::TestParamInfo<Expected>& param) { return param.param.preset; });

// Two branches of different ranges concatenated: a (x times 0.1) and b (x times 4).
const char* kConcatModel = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  cat (float[N, 2, 4, 4] x) => (float[N, 2, 4, 4] y)
  <float[2, 2, 1, 1] wa = {0.1, 0.0, 0.0, 0.1}, float[2, 2, 1, 1] wb = {4.0, 0.0, 0.0, 4.0},
   float[2, 4, 1, 1] wy = {0.5, -0.25, 0.75, 0.1, 0.3, 0.6, -0.4, 0.2}>
  {
    a = Conv(x, wa)
    b = Conv(x, wb)
    c = Concat<axis = 1>(a, b)
    y = Conv(c, wy)
  }
)";

// The scale of the DequantizeLinear that hands `tensor` to its reader.
float DequantizedScale(const onnx::GraphProto& graph, const std::string& tensor) {
  std::string quantized;
  for (const auto& node : graph.node()) {
    if (node.op_type() == "QuantizeLinear" && node.input(0) == tensor) quantized = node.output(0);
  }
  for (const auto& node : graph.node()) {
    if (node.op_type() != "DequantizeLinear" || node.input(0) != quantized) continue;
    const auto* scale = testing::FindInitializer(graph, node.input(1));
    if (scale == nullptr) return 0.0F;
    float value = 0.0F;
    if (scale->float_data_size() > 0) return scale->float_data(0);
    std::memcpy(&value, scale->raw_data().data(), sizeof(value));
    return value;
  }
  return 0.0F;
}

TEST(AlignConcatTest, A8W8GivesEveryConcatInputTheOutputsScaleTheDefaultsDoNot) {
  const onnx::ModelProto model = ParseModelText(kConcatModel);
  const auto feeds = testing::UniformFeeds("x", {1, 2, 4, 4}, 8, 5);
  for (const std::string preset : {"A8W8", "A16W8", "S8S8_AAWS"}) {
    SCOPED_TRACE(preset);
    const auto options = ResolveOptions(preset, {});
    ASSERT_TRUE(options.ok()) << options.status().message();
    VectorReader reader(feeds);
    auto quantized = QuantizeModel(model, &reader, *options);
    ASSERT_TRUE(quantized.ok()) << quantized.status().message();
    const auto& graph = quantized->graph();
    const float a = DequantizedScale(graph, "a");
    const float b = DequantizedScale(graph, "b");
    const float c = DequantizedScale(graph, "c");
    ASSERT_GT(a, 0.0F);
    ASSERT_GT(c, 0.0F);
    if (preset == "S8S8_AAWS") {
      EXPECT_LT(a, b / 10.0F);  // its own range, 40 times smaller
    } else {
      EXPECT_EQ(a, c);
      EXPECT_EQ(b, c);
    }
    const auto expected = testing::RunFirstOutput(model, feeds[0]);
    const auto actual = testing::RunFirstOutput(*quantized, feeds[0]);
    testing::ExpectWithinFractionOfPeak(expected, actual, 0.1F);
  }
  // AlignConcat=False on A8W8 keeps each input's own scale.
  const std::vector<Setting> align_off = {{"AlignConcat", "False"}};
  const auto off = ResolveOptions("A8W8", align_off);
  ASSERT_TRUE(off.ok());
  VectorReader reader(feeds);
  auto quantized = QuantizeModel(model, &reader, *off);
  ASSERT_TRUE(quantized.ok());
  EXPECT_LT(DequantizedScale(quantized->graph(), "a"), DequantizedScale(quantized->graph(), "c") / 10.0F);
}

// 16-bit activations and weights: the input scale x weight scale of an int32 bias is about 7e-10, so a
// bias of 5 would need the code 7e9. It gets the smallest scale that holds it.
const char* kLargeBiasModel = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  conv (float[N, 2, 4, 4] x) => (float[N, 2, 4, 4] y)
  <float[2, 2, 1, 1] w = {0.5, -0.25, 0.75, 0.1}, float[2] b = {5, -4}>
  {
    y = Conv(x, w, b)
  }
)";

TEST(SixteenBitTest, BiasesBeyondTheInt32RangeGetTheSmallestScaleThatHoldsThem) {
  const onnx::ModelProto model = ParseModelText(kLargeBiasModel);
  const auto options = ResolveOptions("INT16_CNN_DEFAULT", {});
  ASSERT_TRUE(options.ok()) << options.status().message();
  const auto feeds = testing::UniformFeeds("x", {1, 2, 4, 4}, 8, 3);
  VectorReader reader(feeds);
  auto quantized = QuantizeModel(model, &reader, *options);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  const auto& graph = quantized->graph();
  const onnx::TensorProto* bias_scale = nullptr;
  for (const auto& node : graph.node()) {
    if (node.op_type() == "DequantizeLinear" && node.input(0).rfind("b_", 0) == 0) {
      bias_scale = testing::FindInitializer(graph, node.input(1));
    }
  }
  ASSERT_NE(bias_scale, nullptr);
  ASSERT_EQ(bias_scale->dims_size(), 0);
  float scale = 0.0F;
  std::memcpy(&scale, bias_scale->raw_data().data(), sizeof(scale));
  // 5 / (2^31 - 1), rounded up to the next float.
  EXPECT_EQ(scale, std::nextafter(static_cast<float>(5.0 / 2147483647.0), 1.0F));
  const auto expected = testing::RunFirstOutput(model, feeds[0]);
  const auto actual = testing::RunFirstOutput(*quantized, feeds[0]);
  testing::ExpectWithinFractionOfPeak(expected, actual, 1e-3F);
}

// x [N, 4] -> MatMul(x, W) -> q; MatMul(q, Transpose(q)): B an activation.
const char* kAttentionModel = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  attention (float[N, 4] x) => (float[N, N] y)
  <float[4, 4] w = {0.5, -0.25, 0.75, 0.1, 0.3, 0.6, -0.4, 0.2, 0.1, 0.2, 0.3, 0.4, -0.5, 0.6, -0.7, 0.8}>
  {
    q = MatMul(x, w)
    t = Transpose(q)
    y = MatMul(q, t)
  }
)";

TEST(NpuTransformerTest, QuantizesMatMulOnlyWithAConstantB) {
  const onnx::ModelProto model = ParseModelText(kAttentionModel);
  const auto options = ResolveOptions("INT8_TRANSFORMER_DEFAULT", {});
  ASSERT_TRUE(options.ok()) << options.status().message();
  const auto feeds = testing::UniformFeeds("x", {3, 4}, 8, 3);
  VectorReader reader(feeds);
  QuantizeReport report;
  auto quantized = QuantizeModel(model, &reader, *options, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  bool constant_b_quantized = false;
  for (const auto& node : quantized->graph().node()) {
    if (node.op_type() == "DequantizeLinear" && node.input(0).rfind("w", 0) == 0) constant_b_quantized = true;
  }
  EXPECT_TRUE(constant_b_quantized);
  bool reason = false;
  for (const auto& d : report.left_float) reason = reason || d.reason.find("MatMulConstBOnly") != std::string::npos;
  EXPECT_TRUE(reason);
  const auto expected = testing::RunFirstOutput(model, feeds[0]);
  const auto actual = testing::RunFirstOutput(*quantized, feeds[0]);
  testing::ExpectWithinFractionOfPeak(expected, actual, 0.1F);
}

}  // namespace
}  // namespace onnxq
