// ONNX shape inference through the guarded registry: the inputs on which libonnx 1.12's inference reads
// out of bounds fail that node's inference instead; the rest of the graph is still inferred. The cases
// come from the load_model_fuzzer.
#include "ir/infer_shapes.h"

#include <gtest/gtest.h>

#include "ir/graph_view.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;

// Rank of `tensor` after inference, or -1 when it stays unknown.
int RankOf(onnx::ModelProto& model, const std::string& tensor) {
  const GraphView view(model.mutable_graph());
  const auto shape = view.Shape(tensor);
  return shape ? static_cast<int>(shape->size()) : -1;
}

TEST(InferShapesTest, InfersAConv) {
  onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,3,3] X) => (float[1,2,3,3] Y)
<float[2,2,1,1] W = {1, 0, 0, 1}>
{
  C = Conv (X, W)
  Y = Relu (C)
}
)");
  ASSERT_TRUE(InferShapes(model).ok());
  EXPECT_EQ(RankOf(model, "C"), 4);
}

// The first Conv's weight has 3 axes for a 4-axis input: ONNX infers C1 with 3 axes, and the second
// Conv, with a 4-axis weight, read the 4th axis of C1. Both Convs now fail their inference.
TEST(InferShapesTest, ConvWeightOfAnotherRankFailsTheNodeNotTheProcess) {
  onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,3,3] X) => (float[1,2,3,3] Y)
<float[2,2,1] W1 = {1, 0, 0, 1}, float[2,2,1,1] W2 = {1, 0, 0, 1}>
{
  C1 = Conv (X, W1)
  R = Relu (C1)
  C2 = Conv (R, W2)
  Y = Relu (C2)
}
)");
  ASSERT_TRUE(InferShapes(model).ok());
  EXPECT_EQ(RankOf(model, "C1"), -1);
  EXPECT_EQ(RankOf(model, "C2"), -1);
}

// The same mismatch that only inference reveals: Squeeze gives the second Conv a 3-axis input.
TEST(InferShapesTest, InferredInputOfAnotherRankFailsTheNode) {
  onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,1,3] X) => (float[1,2,3] Y)
<float[2,2,1,1] W = {1, 0, 0, 1}, int64[1] axes = {2}>
{
  S = Squeeze (X, axes)
  C = Conv (S, W)
  Y = Relu (C)
}
)");
  ASSERT_TRUE(InferShapes(model).ok());
  EXPECT_EQ(RankOf(model, "S"), 3);
  EXPECT_EQ(RankOf(model, "C"), -1);
}

// A running sum over the rows of X: Scan with one state and one scan input.
onnx::ModelProto ScanModel() {
  return ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2] S, float[3,2] X) => (float[3,2] Y)
{
  F, O = Scan <num_scan_inputs = 1, body = b (float[2] s, float[2] x) => (float[2] t, float[2] y) {
    t = Add (s, x)
    y = Identity (t)
  }> (S, X)
  Y = Relu (O)
}
)");
}

onnx::AttributeProto& ScanInputCount(onnx::ModelProto& model) {
  auto* node = model.mutable_graph()->mutable_node(0);
  for (auto& attr : *node->mutable_attribute()) {
    if (attr.name() == "num_scan_inputs") return attr;
  }
  ADD_FAILURE() << "no num_scan_inputs";
  return *node->add_attribute();
}

TEST(InferShapesTest, InfersAScan) {
  onnx::ModelProto model = ScanModel();
  ASSERT_TRUE(InferShapes(model).ok());
  EXPECT_EQ(RankOf(model, "O"), 2);
}

// Scan's inference read num_scan_inputs through a null pointer when it was absent, and subtracted a
// count above the inputs' unsigned (found by the load_model_fuzzer). Both now fail that node only.
TEST(InferShapesTest, ScanWithoutOrWithTooManyScanInputsFailsTheNode) {
  onnx::ModelProto absent = ScanModel();
  auto* attributes = absent.mutable_graph()->mutable_node(0)->mutable_attribute();
  for (int a = attributes->size() - 1; a >= 0; --a) {
    if (attributes->Get(a).name() == "num_scan_inputs") attributes->DeleteSubrange(a, 1);
  }
  ASSERT_TRUE(InferShapes(absent).ok());
  EXPECT_EQ(RankOf(absent, "O"), -1);

  onnx::ModelProto too_many = ScanModel();
  ScanInputCount(too_many).set_i(3);
  ASSERT_TRUE(InferShapes(too_many).ok());
  EXPECT_EQ(RankOf(too_many, "O"), -1);
}

// Any op: a required attribute missing, or an attribute of another type, fails the node's inference.
TEST(InferShapesTest, NodeTheCheckerWouldRefuseFailsTheNode) {
  onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[3,2] Y)
{
  T = Transpose <perm = [1, 0]> (X)
  Y = Relu (T)
}
)");
  onnx::ModelProto wrong_type = model;
  auto& perm = *wrong_type.mutable_graph()->mutable_node(0)->mutable_attribute(0);
  perm.clear_ints();
  perm.set_type(onnx::AttributeProto::STRING);
  perm.set_s("1,0");
  ASSERT_TRUE(InferShapes(wrong_type).ok());
  EXPECT_EQ(RankOf(wrong_type, "T"), -1);
  ASSERT_TRUE(InferShapes(model).ok());
  EXPECT_EQ(RankOf(model, "T"), 2);
}

TEST(InferShapesTest, ZeroStrideIsAnInvalidModel) {
  onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,3,3] X) => (float[1,2,3,3] Y)
<float[2,2,1,1] W = {1, 0, 0, 1}>
{
  Y = Conv <strides = [1, 0]> (X, W)
}
)");
  const Status status = InferShapes(model);
  EXPECT_EQ(status.code(), StatusCode::kInvalidModel);
  EXPECT_NE(status.message().find("strides = [1, 0]"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace onnxq
