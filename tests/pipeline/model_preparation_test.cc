// Preparation seen through the whole pipeline: weights held in Constant nodes are quantized like
// initializers, and an opset-9 model is raised to opset 10 (the first with Q/DQ), its per-channel Q/DQ
// (opset 13) written in com.microsoft.
#include <gtest/gtest.h>
#include <onnx/checker.h>

#include "ir/graph_view.h"
#include "onnxq/quantize.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;
using testing::RunFirstOutput;
using testing::VectorReader;

Feeds Batch() {
  return {
      Tensor::FromFloats("X", {1, 2, 2, 2}, std::vector<float>{-1.0F, -0.5F, 0.0F, 0.25F, 0.5F, 0.75F, 3.0F, 0.1F})};
}

bool HasInitializer(const onnx::ModelProto& model, const std::string& name) {
  for (const auto& init : model.graph().initializer()) {
    if (init.name() == name) return true;
  }
  return false;
}

TEST(ModelPreparationTest, WeightsInConstantNodesAreQuantized) {
  const onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,2,2] X) => (float[1,3,2,2] Y)
{
  W = Constant<value = float[3,2,1,1] {0.5, -0.25, 0.1, 0.2, -0.3, 0.05}>()
  B = Constant<value = float[3] {0.1, -0.2, 0.3}>()
  C = Conv(X, W, B)
  Y = Relu(C)
}
)");
  VectorReader reader({Batch()});
  auto quantized = QuantizeModel(model, &reader, {});
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_TRUE(HasInitializer(*quantized, "W_quantized"));
  EXPECT_TRUE(HasInitializer(*quantized, "B_quantized"));
  for (const auto& node : quantized->graph().node()) EXPECT_NE(node.op_type(), "Constant");
  const auto expected = RunFirstOutput(model, Batch());
  const auto actual = RunFirstOutput(*quantized, Batch());
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(expected[i], actual[i], 0.05F);
}

TEST(ModelPreparationTest, OldOpsetGetsMicrosoftQdqForPerChannel) {
  const onnx::ModelProto model = ParseModelText(R"(
<ir_version: 4, opset_import: ["" : 9]>
g (float[1,2,2,2] X) => (float[1,3,2,2] Y)
<float[3,2,1,1] W = {0.5, -0.25, 0.1, 0.2, -0.3, 0.05}>
{
  C = Conv(X, W)
  Y = Relu(C)
}
)");
  VectorReader reader({Batch()});
  QuantizeOptions options;
  options.per_channel = true;
  QuantizeReport report;
  auto quantized = QuantizeModel(model, &reader, options, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_EQ(DefaultOpset(*quantized), 10);
  EXPECT_NO_THROW(onnx::checker::check_model(*quantized));
  for (const auto& node : quantized->graph().node()) {
    if (node.op_type() == "QuantizeLinear" || node.op_type() == "DequantizeLinear") {
      EXPECT_EQ(node.domain(), "com.microsoft");
    }
  }
  bool noted = false;
  for (const auto& w : report.warnings) noted = noted || w.find("com.microsoft") != std::string::npos;
  EXPECT_TRUE(noted);
  const auto expected = RunFirstOutput(model, Batch());
  const auto actual = RunFirstOutput(*quantized, Batch());
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(expected[i], actual[i], 0.05F);
}

}  // namespace
}  // namespace onnxq
