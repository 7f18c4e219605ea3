// What runs before calibration, on models that are malformed in ways the ONNX checker lets pass: each is
// refused with InvalidModel (or prepared), never a crash. The cases come from the load_model_fuzzer.
#include "pipeline/prepare_quantization.h"

#include <gtest/gtest.h>

#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;

void ExpectInvalidModel(const onnx::ModelProto& model, const std::string& text) {
  auto prepared = PrepareQuantization(model, {});
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.status().code(), StatusCode::kInvalidModel) << prepared.status().message();
  EXPECT_NE(prepared.status().message().find(text), std::string::npos) << prepared.status().message();
}

TEST(PrepareQuantizationTest, PreparesAValidModel) {
  const onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3] X) => (float[1,2] Y)
<float[3,2] W = {1, 2, 3, 4, 5, 6}>
{
  Y = MatMul (X, W)
}
)");
  auto prepared = PrepareQuantization(model, {});
  ASSERT_TRUE(prepared.ok()) << prepared.status().message();
  EXPECT_EQ(prepared->plan.marks.size(), 1U);
  // Y, which only the graph's output reads, is written in float (MatMulIntegerToFloat).
  EXPECT_EQ(prepared->tensors, std::vector<std::string>({"X"}));
}

// ONNX's version converter (opset 8 -> 10 for Slice) dereferenced a null value for the output Y.
TEST(PrepareQuantizationTest, GraphOutputProducedByNothingAtAnOpsetToConvert) {
  ExpectInvalidModel(ParseModelText(R"(
<ir_version: 3, opset_import: ["" : 8]>
g (float[1,4] X) => (float[1,2] Y)
{
  S = Slice <axes = [1], starts = [1], ends = [3]> (X)
  y = Relu (S)
}
)"),
                     "graph output 'Y'");
}

// The converter's Slice adapter read `axes` as ints, whatever the attribute's type.
TEST(PrepareQuantizationTest, AttributeOfTheWrongTypeAtAnOpsetToConvert) {
  onnx::ModelProto model = ParseModelText(R"(
<ir_version: 3, opset_import: ["" : 8]>
g (float[1,4] X) => (float[1,2] Y)
{
  S = Slice <axes = [1], starts = [1], ends = [3]> (X)
  Y = Relu (S)
}
)");
  onnx::AttributeProto& axes = *model.mutable_graph()->mutable_node(0)->mutable_attribute(0);
  ASSERT_EQ(axes.name(), "axes");
  axes.clear_ints();
  axes.set_type(onnx::AttributeProto::STRING);
  axes.set_s("1");
  ExpectInvalidModel(model, "fails the ONNX checker");
}

TEST(PrepareQuantizationTest, GraphOutputProducedByNothing) {
  ExpectInvalidModel(ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] X) => (float[1,4] Y, float[1,4] Z)
{
  Y = Relu (X)
}
)"),
                     "graph output 'Z'");
}

}  // namespace
}  // namespace onnxq
