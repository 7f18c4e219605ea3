// The QDQ quantizer on small graphs written in ONNX text syntax: the expected structure, hand-computed
// scales and zero points, and outputs close to float.
#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <cmath>
#include <map>

#include "ir/tensor_util.h"
#include "onnxq/quantize.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;
using testing::RunFirstOutput;
using testing::VectorReader;

// Conv (2 -> 3 channels, 1x1) + bias, then an activation.
std::string ConvModel(const std::string& activation) {
  return R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,2,2] X) => (float[1,3,2,2] Y)
<float[3,2,1,1] W = {0.5, -0.25, 0.1, 0.2, -0.3, 0.05}, float[3] B = {0.1, -0.2, 0.3}>
{
  C = Conv(X, W, B)
  Y = )" +
         activation + R"(
}
)";
}

// One batch whose values span exactly [-1, 3].
Feeds InputBatch() {
  const std::vector<float> x = {-1.0F, -0.5F, 0.0F, 0.25F, 0.5F, 0.75F, 3.0F, 0.1F};
  return {Tensor::FromFloats("X", {1, 2, 2, 2}, x)};
}

const onnx::TensorProto* FindInitializer(const onnx::ModelProto& model, const std::string& name) {
  for (const auto& init : model.graph().initializer()) {
    if (init.name() == name) return &init;
  }
  return nullptr;
}

std::map<std::string, int> OpCounts(const onnx::ModelProto& model) {
  std::map<std::string, int> counts;
  for (const auto& node : model.graph().node()) ++counts[node.op_type()];
  return counts;
}

float ScalarFloat(const onnx::ModelProto& model, const std::string& name) {
  const auto* t = FindInitializer(model, name);
  EXPECT_NE(t, nullptr) << name;
  return t == nullptr ? NAN : (*ToFloats(*t))[0];
}

TEST(QdqQuantizerTest, ConvReluStructureAndHandComputedParams) {
  const onnx::ModelProto model = ParseModelText(ConvModel("Relu(C)"));
  VectorReader reader({InputBatch()});
  // The bias as given (MeanBiasCorrection moves it: correct_weight_error_bias_test.cc).
  QuantizeOptions options;
  options.passes.mean_bias_correction = false;
  auto quantized = QuantizeModel(model, &reader, options);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_NO_THROW(onnx::checker::check_model(*quantized));

  // Relu folds into the Conv output range (uint8, asymmetric, range starts at 0).
  const auto counts = OpCounts(*quantized);
  EXPECT_EQ(counts.count("Relu"), 0U);
  EXPECT_EQ(counts.at("Conv"), 1);
  EXPECT_EQ(counts.at("QuantizeLinear"), 2);    // X and Y
  EXPECT_EQ(counts.at("DequantizeLinear"), 4);  // X, Y, W, B

  // X in [-1, 3] as uint8: scale 4/255, zero point round(0 - (-1) / (4/255)) = round(63.75) = 64.
  EXPECT_FLOAT_EQ(ScalarFloat(*quantized, "X_scale"), 4.0F / 255.0F);
  const auto x_zp = ToInt64s(*FindInitializer(*quantized, "X_zero_point"));
  EXPECT_EQ((*x_zp)[0], 64);
  EXPECT_EQ(FindInitializer(*quantized, "X_zero_point")->data_type(), onnx::TensorProto::UINT8);
  // W: int8 symmetric, max |w| = 0.5 -> scale 0.5/127, values round(w / scale).
  const float w_scale = ScalarFloat(*quantized, "W_scale");
  EXPECT_FLOAT_EQ(w_scale, 0.5F / 127.0F);
  const auto w_q = ToInt64s(*FindInitializer(*quantized, "W_quantized"));
  EXPECT_EQ(*w_q, (std::vector<int64_t>{127, -64, 25, 51, -76, 13}));
  // B: int32 with scale = X scale x W scale.
  const auto* b = FindInitializer(*quantized, "B_quantized");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->data_type(), onnx::TensorProto::INT32);
  const float b_scale = ScalarFloat(*quantized, "B_scale");
  EXPECT_FLOAT_EQ(b_scale, (4.0F / 255.0F) * (0.5F / 127.0F));
  const auto b_q = ToInt64s(*b);
  EXPECT_EQ((*b_q)[0], std::lround(0.1 / b_scale));
  EXPECT_EQ((*b_q)[1], std::lround(-0.2 / b_scale));
  // The float W and B are gone.
  EXPECT_EQ(FindInitializer(*quantized, "W"), nullptr);
  EXPECT_EQ(FindInitializer(*quantized, "B"), nullptr);
  // Y keeps its name as the graph output.
  EXPECT_EQ(quantized->graph().output(0).name(), "Y");

  // Numbers: within a few output quantization steps of float.
  const auto expected = RunFirstOutput(model, InputBatch());
  const auto actual = RunFirstOutput(*quantized, InputBatch());
  ASSERT_EQ(expected.size(), actual.size());
  const float y_scale = ScalarFloat(*quantized, "Y_scale");
  float worst = 0;
  for (size_t i = 0; i < expected.size(); ++i) worst = std::max(worst, std::fabs(expected[i] - actual[i]));
  EXPECT_LE(worst, 3 * y_scale);
  EXPECT_GT(y_scale, 0.0F);
}

TEST(QdqQuantizerTest, PerChannelWeightsHaveOneScalePerOutputChannel) {
  const onnx::ModelProto model = ParseModelText(ConvModel("Relu(C)"));
  VectorReader reader({InputBatch()});
  QuantizeOptions options;
  options.per_channel = true;
  auto quantized = QuantizeModel(model, &reader, options);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  const auto w_scale = ToFloats(*FindInitializer(*quantized, "W_scale"));
  ASSERT_EQ(w_scale->size(), 3U);
  EXPECT_FLOAT_EQ((*w_scale)[0], 0.5F / 127.0F);  // max(|0.5|, |-0.25|)
  EXPECT_FLOAT_EQ((*w_scale)[1], 0.2F / 127.0F);  // max(|0.1|, |0.2|)
  EXPECT_FLOAT_EQ((*w_scale)[2], 0.3F / 127.0F);  // max(|-0.3|, |0.05|)
  const auto b_scale = ToFloats(*FindInitializer(*quantized, "B_scale"));
  ASSERT_EQ(b_scale->size(), 3U);
  EXPECT_FLOAT_EQ((*b_scale)[2], (4.0F / 255.0F) * (0.3F / 127.0F));
  // The weight DequantizeLinear carries axis 0.
  bool found_axis = false;
  for (const auto& node : quantized->graph().node()) {
    if (node.op_type() == "DequantizeLinear" && node.input(0) == "W_quantized") {
      for (const auto& attr : node.attribute()) found_axis = found_axis || (attr.name() == "axis" && attr.i() == 0);
    }
  }
  EXPECT_TRUE(found_axis);
}

TEST(QdqQuantizerTest, ClipSixFoldsOnlyWhenQuantizationClipsTheSame) {
  const std::string clip = R"(Clip(C, lo, hi)
  lo = Constant<value = float {0.0}>()
  hi = Constant<value = float {6.0}>())";
  const onnx::ModelProto model = ParseModelText(ConvModel(clip));
  {
    VectorReader reader({InputBatch()});
    auto quantized = QuantizeModel(model, &reader, {});
    ASSERT_TRUE(quantized.ok()) << quantized.status().message();
    EXPECT_EQ(OpCounts(*quantized).count("Clip"), 0U);
  }
  {
    // Symmetric int8 activations represent negatives, so the Clip must stay.
    VectorReader reader({InputBatch()});
    QuantizeOptions options;
    options.activation_type = QuantType::kInt8;
    options.activation_symmetric = true;
    auto quantized = QuantizeModel(model, &reader, options);
    ASSERT_TRUE(quantized.ok()) << quantized.status().message();
    EXPECT_EQ(OpCounts(*quantized).at("Clip"), 1);
    const auto x_zp = ToInt64s(*FindInitializer(*quantized, "X_zero_point"));
    EXPECT_EQ((*x_zp)[0], 0);
    EXPECT_FLOAT_EQ(ScalarFloat(*quantized, "X_scale"), 3.0F / 127.0F);
    // The Clip's input takes the Clip's output grid (values beyond it are clipped anyway), not a grid
    // of its own over C's wider range.
    const float y_scale = ScalarFloat(*quantized, "Y_scale");
    EXPECT_FLOAT_EQ(ScalarFloat(*quantized, "C_scale"), y_scale);
    const std::vector<float> want = RunFirstOutput(model, InputBatch());
    const std::vector<float> got = RunFirstOutput(*quantized, InputBatch());
    ASSERT_EQ(got.size(), want.size());
    // Within the input grid's step (3 / 127) over the weights, plus the output step.
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 0.03F) << i;
  }
}

TEST(QdqQuantizerTest, UnsupportedOpStaysFloatAndModelRuns) {
  const onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,2,2] X) => (float[1,3,2,2] Y)
<float[3,2,1,1] W = {0.5, -0.25, 0.1, 0.2, -0.3, 0.05}>
{
  C = Conv(X, W)
  E = Elu(C)
  Y = Relu(E)
}
)");
  VectorReader reader({InputBatch()});
  QuantizeReport report;
  auto quantized = QuantizeModel(model, &reader, {.placement = QdqPlacement::kAllQuantizable}, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  // Elu has no quantizer; the Relu after it, with nothing to do in integers, follows it in float.
  ASSERT_EQ(report.left_float.size(), 2U);
  EXPECT_EQ(report.left_float[0].op_type, "Elu");
  EXPECT_NE(report.left_float[0].reason.find("not quantized"), std::string::npos);
  EXPECT_EQ(report.left_float[1].op_type, "Relu");
  EXPECT_NE(report.left_float[1].reason.find("follows float Elu"), std::string::npos) << report.left_float[1].reason;
  EXPECT_EQ(OpCounts(*quantized).at("Elu"), 1);
  EXPECT_EQ(OpCounts(*quantized).at("QuantizeLinear"), 2);  // X and the Conv's output, none after Elu
  const auto expected = RunFirstOutput(model, InputBatch());
  const auto actual = RunFirstOutput(*quantized, InputBatch());
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(expected[i], actual[i], 0.02F);
}

TEST(QdqQuantizerTest, LightOpsAfterAFloatOpStayFloatUntilTheNextQuantizedOp) {
  // A normalization written out and left float (Exp here), then its scale and shift and a Relu: one
  // rounding, at the second Conv's input, instead of one at each of Mul, Add and Relu.
  const onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,2,2] X) => (float[1,3,2,2] Y)
<float[3,2,1,1] W = {0.5, -0.25, 0.1, 0.2, -0.3, 0.05}, float[3,3,1,1] W2 = {1, 0, 0.5, 0, 1, 0, -0.5, 0, 1},
 float[3,1,1] gamma = {1.5, 0.5, -1}, float[3,1,1] beta = {0.1, -0.2, 0.3}>
{
  C = Conv(X, W)
  E = Exp(C)
  M = Mul(E, gamma)
  A = Add(M, beta)
  R = Relu(A)
  Y = Conv(R, W2)
}
)");
  VectorReader reader({InputBatch()});
  QuantizeReport report;
  auto quantized = QuantizeModel(model, &reader, {.placement = QdqPlacement::kAllQuantizable}, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_NO_THROW(onnx::checker::check_model(*quantized));
  std::map<std::string, std::string> reasons;
  for (const auto& d : report.left_float) reasons[d.op_type] = d.reason;
  EXPECT_NE(reasons["Mul"].find("follows float Exp"), std::string::npos) << reasons["Mul"];
  EXPECT_NE(reasons["Add"].find("follows float Mul"), std::string::npos) << reasons["Add"];
  EXPECT_NE(reasons["Relu"].find("follows float Add"), std::string::npos) << reasons["Relu"];
  EXPECT_EQ(report.nodes_quantized, 2);  // the two Convs
  // X, C and R (the second Conv's input): nothing between Exp and it.
  EXPECT_EQ(OpCounts(*quantized).at("QuantizeLinear"), 4);  // and Y
  const auto expected = RunFirstOutput(model, InputBatch());
  const auto actual = RunFirstOutput(*quantized, InputBatch());
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(expected[i], actual[i], 0.05F);
}

TEST(QdqQuantizerTest, ExcludedNodesAndOpTypeFilterStayFloat) {
  const onnx::ModelProto model = ParseModelText(ConvModel("Relu(C)"));
  {
    VectorReader reader({InputBatch()});
    QuantizeOptions options;
    options.nodes_to_exclude = {"C"};  // by output name: the Conv is unnamed
    QuantizeReport report;
    auto quantized = QuantizeModel(model, &reader, options, &report);
    ASSERT_TRUE(quantized.ok()) << quantized.status().message();
    EXPECT_EQ(FindInitializer(*quantized, "W_quantized"), nullptr);
    ASSERT_FALSE(report.left_float.empty());
    EXPECT_EQ(report.left_float[0].reason, "excluded by --nodes-to-exclude");
  }
  {
    VectorReader reader({InputBatch()});
    QuantizeOptions options;
    options.nodes_to_exclude = {"no_such_node"};
    auto quantized = QuantizeModel(model, &reader, options);
    ASSERT_FALSE(quantized.ok());
    EXPECT_NE(quantized.status().message().find("no_such_node"), std::string::npos);
  }
  {
    VectorReader reader({InputBatch()});
    QuantizeOptions options;
    options.op_types_to_quantize = {"Relu"};
    auto quantized = QuantizeModel(model, &reader, options);
    ASSERT_TRUE(quantized.ok()) << quantized.status().message();
    EXPECT_EQ(FindInitializer(*quantized, "W_quantized"), nullptr);
    EXPECT_EQ(OpCounts(*quantized).at("Relu"), 1);
  }
}

TEST(QdqQuantizerTest, ReshapeSharesItsInputParameters) {
  const onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,2,2] X) => (float[1,8] Y)
<int64[2] shape = {1, 8}>
{
  R = Reshape(X, shape)
  Y = Sigmoid(R)
}
)");
  VectorReader reader({InputBatch()});
  auto quantized = QuantizeModel(model, &reader, {});
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_FLOAT_EQ(ScalarFloat(*quantized, "R_scale"), ScalarFloat(*quantized, "X_scale"));
  // Sigmoid output in [0.27, 0.95]: its own range, widened to contain 0.
  EXPECT_FLOAT_EQ(ScalarFloat(*quantized, "Y_scale"), 1.0F / (1.0F + std::exp(-3.0F)) / 255.0F);
}

}  // namespace
}  // namespace onnxq
