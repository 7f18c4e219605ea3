// WriteOutHardSwish: each HardSwish becomes Mul(x, HardSigmoid(x; 1/6, 1/2)), the same function; and a
// Conv -> HardSwish -> Conv model exported at opset 14 then quantizes to integer kernels only, as its
// opset-13 form (x * HardSigmoid(x)) does. Checked: the rewritten graph's nodes and attributes, its
// outputs against the HardSwish over x in [-6, 6) (beyond both ends of the slope), the options that
// leave it alone, and ONNX Runtime's integer kernels and the accuracy after quantization.
#include "quantizer/write_out_hard_swish.h"

#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "onnxq/quantize.h"
#include "onnxq/runnability.h"
#include "passes/pass_test_util.h"
#include "testing/test_support.h"
#include "testing/vector_reader.h"

namespace onnxq {
namespace {

using testing::ParseModelText;

constexpr const char* kHardSwish = R"(
<ir_version: 8, opset_import: ["" : 14]>
g (float[1,200] X) => (float[1,200] Y)
{
  Y = HardSwish (X)
}
)";

Feeds Ramp() {
  std::vector<float> values(200);
  for (size_t i = 0; i < values.size(); ++i) values[i] = -6.0F + 0.06F * static_cast<float>(i);
  return {Tensor::FromFloats("X", {1, 200}, values)};
}

// n comma-separated weights spread over (-scale, scale), fixed.
std::string Weights(int n, float scale) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    text += (i > 0 ? ", " : "") + std::to_string(scale * std::sin(0.7F * static_cast<float>(i) + 0.3F));
  }
  return text;
}

float AttrF(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return a.f();
  }
  return NAN;
}

TEST(WriteOutHardSwishTest, BecomesXTimesHardSigmoidOfX) {
  auto model = ParseModelText(kHardSwish);
  model.mutable_graph()->mutable_node(0)->set_name("act");
  ASSERT_EQ(WriteOutHardSwish(model.mutable_graph(), {}), 1);
  EXPECT_NO_THROW(onnx::checker::check_model(model));
  EXPECT_EQ(testing::OpCounts(model), (std::map<std::string, int>{{"HardSigmoid", 1}, {"Mul", 1}}));
  const auto& gate = model.graph().node(0);
  const auto& mul = model.graph().node(1);
  ASSERT_EQ(gate.op_type(), "HardSigmoid");
  EXPECT_EQ(gate.input(0), "X");
  EXPECT_FLOAT_EQ(AttrF(gate, "alpha"), 1.0F / 6.0F);
  EXPECT_FLOAT_EQ(AttrF(gate, "beta"), 0.5F);
  EXPECT_EQ(mul.name(), "act");
  EXPECT_EQ(mul.output(0), "Y");
  ASSERT_EQ(mul.input_size(), 2);
  EXPECT_EQ(mul.input(0), "X");
  EXPECT_EQ(mul.input(1), gate.output(0));
  // The function of ONNX's definition, x * clip(x / 6 + 1 / 2, 0, 1): 0 below -3, x above 3.
  const Feeds ramp = Ramp();
  const auto y = testing::RunFirstOutput(model, ramp);
  const auto x = ramp.front().floats();
  ASSERT_EQ(y.size(), x.size());
  for (size_t i = 0; i < y.size(); ++i) {
    const float expected = x[i] * std::fmin(1.0F, std::fmax(0.0F, x[i] / 6.0F + 0.5F));
    EXPECT_NEAR(y[i], expected, 1e-5F) << "x = " << x[i];
  }
}

TEST(WriteOutHardSwishTest, LeftAloneWhereTheOptionsSaySo) {
  const auto count = [](const QuantizeOptions& options) {
    auto model = ParseModelText(kHardSwish);
    model.mutable_graph()->mutable_node(0)->set_name("act");
    const int written = WriteOutHardSwish(model.mutable_graph(), options);
    EXPECT_EQ(testing::OpCounts(model).count("HardSwish"), written == 0 ? 1U : 0U);
    return written;
  };
  EXPECT_EQ(count({}), 1);
  EXPECT_EQ(count({.activation_symmetric = true}), 0);  // no HardSigmoid-as-Add for it
  EXPECT_EQ(count({.placement = QdqPlacement::kAllQuantizable}), 0);
  EXPECT_EQ(count({.op_types_to_quantize = {"HardSwish"}}), 0);
  EXPECT_EQ(count({.nodes_to_quantize = {"act"}}), 0);
  EXPECT_EQ(count({.nodes_to_exclude = {"act"}}), 0);
  EXPECT_EQ(count({.nodes_to_exclude = {"Y"}}), 0);
  EXPECT_EQ(count({.nodes_to_exclude = {"other"}}), 1);
}

// A Conv -> HardSwish -> Conv block as torch.onnx.export writes it from opset 14.
TEST(WriteOutHardSwishTest, QuantizesToIntegerKernelsOnly) {
  const auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 14]>
g (float[1,8,16,16] X) => (float[1,16,16,16] Y)
<float[16,8,1,1] w1 = {)" + Weights(128, 0.3F) +
                                    R"(},
 float[16,16,1,1] w2 = {)" + Weights(256, 0.2F) +
                                    R"(}>
{
  a = Conv (X, w1)
  h = HardSwish (a)
  Y = Conv (h, w2)
}
)");
  testing::VectorReader reader(testing::UniformFeeds("X", {1, 8, 16, 16}, 16, 7));
  QuantizeReport report;
  const auto quantized = QuantizeModel(model, &reader, {}, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_EQ(testing::OpCounts(*quantized).count("HardSwish"), 0U);
  ASSERT_TRUE(report.runnability.has_value());
  EXPECT_TRUE(report.runnability->float_between_qdq.empty()) << RunnabilitySummary(*report.runnability);
  EXPECT_EQ(report.runnability->integer_kernels.at("QLinearConv"), 2) << RunnabilitySummary(*report.runnability);
  EXPECT_EQ(report.runnability->integer_kernels.at("QLinearAdd"), 1) << RunnabilitySummary(*report.runnability);
  EXPECT_EQ(report.runnability->integer_kernels.at("QLinearMul"), 1) << RunnabilitySummary(*report.runnability);
  ASSERT_EQ(report.outputs.size(), 1U);
  EXPECT_GT(report.outputs[0].sqnr_db, 30.0) << "the float model's outputs, 8 bits all the way";
}

}  // namespace
}  // namespace onnxq
