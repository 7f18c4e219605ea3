// convert_float16_to_float: a float16 model computes in float32 with its float16 inputs and outputs
// kept; the float interface helpers the pipeline uses around calibration.
#include "passes/convert_float16_to_float.h"

#include <gtest/gtest.h>

#include <cmath>

#include "ir/tensor_util.h"
#include "pass_test_util.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ElemType;
using testing::ExpectPassChangesNothing;
using testing::FindInitializer;
using testing::OpCounts;
using testing::ParseModelText;
using testing::RandomTensor;
using testing::RunFirstOutput;
using testing::RunFloat16Model;
using testing::RunPassOk;

void AddHalf(onnx::ModelProto& model, const std::string& name, const std::vector<int64_t>& dims, uint32_t seed) {
  const Tensor values = RandomTensor(name, dims, seed);
  *model.mutable_graph()->add_initializer() = MakeFloat16Tensor(name, dims, values.floats());
}

// Conv -> Relu -> GlobalAveragePool -> Flatten -> Gemm, every tensor float16, X [1,2,4,4].
onnx::ModelProto Float16ConvGemm() {
  auto model = testing::Float16ConvGemmGraph(4);
  AddHalf(model, "W", {4, 2, 3, 3}, 1);
  AddHalf(model, "B", {4}, 2);
  AddHalf(model, "Wg", {3, 4}, 3);
  AddHalf(model, "Bg", {3}, 4);
  return model;
}

void ExpectClose(const std::vector<float>& expected, const std::vector<float>& actual, float tolerance) {
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(expected[i], actual[i], tolerance) << "at " << i;
}

TEST(ConvertFloat16ToFloatTest, ComputesInFloat32BehindAFloat16Interface) {
  const auto before = Float16ConvGemm();
  auto after = before;
  const PassReport report = RunPassOk("convert_float16_to_float", after);
  EXPECT_GT(report.changes, 0);
  const auto& graph = after.graph();
  // The interface keeps its float16 types and names.
  ASSERT_EQ(graph.input_size(), 1);
  EXPECT_EQ(graph.input(0).name(), "X");
  EXPECT_EQ(ElemType(graph.input(0)), onnx::TensorProto::FLOAT16);
  ASSERT_EQ(graph.output_size(), 1);
  EXPECT_EQ(graph.output(0).name(), "Y");
  EXPECT_EQ(ElemType(graph.output(0)), onnx::TensorProto::FLOAT16);
  // X -> Cast<to=FLOAT> first, Cast<to=FLOAT16> -> Y last, float32 weights in between.
  ASSERT_EQ(graph.node_size(), 7);
  const auto& first = graph.node(0);
  EXPECT_EQ(first.op_type(), "Cast");
  EXPECT_EQ(first.input(0), "X");
  EXPECT_EQ(first.attribute(0).i(), onnx::TensorProto::FLOAT);
  EXPECT_EQ(graph.node(1).input(0), first.output(0));
  const auto& last = graph.node(6);
  EXPECT_EQ(last.op_type(), "Cast");
  EXPECT_EQ(last.output(0), "Y");
  EXPECT_EQ(last.attribute(0).i(), onnx::TensorProto::FLOAT16);
  EXPECT_EQ(graph.node(5).output(0), last.input(0));
  for (const auto& init : graph.initializer()) EXPECT_EQ(init.data_type(), onnx::TensorProto::FLOAT) << init.name();
  for (const auto& info : graph.value_info()) EXPECT_EQ(ElemType(info), onnx::TensorProto::FLOAT) << info.name();
  // float16 -> float32 is exact.
  const auto* w = FindInitializer(before, "W");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(*ToFloats(*w), *ToFloats(*FindInitializer(after, "W")));
  // Numbers: the float32 computation matches float16's to float16's precision.
  const Tensor x = RandomTensor("X", {1, 2, 4, 4}, 5);
  ExpectClose(RunFloat16Model(before, x), RunFloat16Model(after, x), 2e-3F);
  // A second run changes nothing: the model no longer computes in float16.
  ExpectPassChangesNothing("convert_float16_to_float", after);
}

TEST(ConvertFloat16ToFloatTest, InnerCastsAndFloat16Attributes) {
  // A float32 model with a float16 section: Cast<to=FLOAT16> of a float input is removed; a
  // ConstantOfShape's float16 value becomes float32; a Cast<to=FLOAT16> writing an output stays.
  auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[3] X) => (float[3] Y, float16[3] Z)
{
  H = Cast <to = 10> (X)
  S = Shape (X)
  K = ConstantOfShape <value = float[1] {0.0}> (S)
  M = Mul (H, K)
  A = Add (M, H)
  Y = Cast <to = 1> (A)
  Z = Cast <to = 10> (A)
}
)");
  const std::vector<int64_t> one = {1};
  *before.mutable_graph()->mutable_node(2)->mutable_attribute(0)->mutable_t() =
      MakeFloat16Tensor("", one, std::vector<float>{1.5F});
  auto after = before;
  EXPECT_GT(RunPassOk("convert_float16_to_float", after).changes, 0);
  const auto counts = OpCounts(after);
  EXPECT_EQ(counts.at("Cast"), 2);  // Y's (float -> float) and Z's
  const auto* mul = testing::FindNode(after, "Mul");
  ASSERT_NE(mul, nullptr);
  EXPECT_EQ(mul->input(0), "X");
  const auto* cos = testing::FindNode(after, "ConstantOfShape");
  ASSERT_NE(cos, nullptr);
  EXPECT_EQ(cos->attribute(0).t().data_type(), onnx::TensorProto::FLOAT);
  const auto* z_cast = testing::FindNode(after, "Cast", 1);
  ASSERT_NE(z_cast, nullptr);
  EXPECT_EQ(z_cast->output(0), "Z");
  EXPECT_EQ(z_cast->attribute(0).i(), onnx::TensorProto::FLOAT16);
  EXPECT_EQ(ElemType(after.graph().output(1)), onnx::TensorProto::FLOAT16);
  // Y = 1.5 x + x = 2.5 x, now without float16 rounding of x.
  const Tensor x = Tensor::FromFloats("X", {3}, std::vector<float>{0.1F, -2.0F, 3.0F});
  const auto y = RunFirstOutput(after, {x});
  ExpectClose({0.25F, -5.0F, 7.5F}, y, 1e-6F);
}

// onnxconverter-common's float16 export with float32 inputs and outputs (keep_io_types; IS-Net):
// X -> Cast<to=FLOAT16>, float16 layers with float16 weights, a float32 island between two casts, and
// Cast<to=FLOAT> -> Y.
onnx::ModelProto Float16WithFloat32Interface() {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[1,2,4,4] X) => (float[1,4,2,2] Y)
{
  Xh = Cast <to = 10> (X)
  C = Conv <pads = [1, 1, 1, 1]> (Xh, W, B)
  Cf = Cast <to = 1> (C)
  P = MaxPool <kernel_shape = [2, 2], strides = [2, 2]> (Cf)
  Ph = Cast <to = 10> (P)
  R = Relu (Ph)
  Y = Cast <to = 1> (R)
}
)");
  AddHalf(model, "W", {4, 2, 3, 3}, 8);
  AddHalf(model, "B", {4}, 9);
  return model;
}

TEST(ConvertFloat16ToFloatTest, Float16LayersBehindAFloat32Interface) {
  const auto before = Float16WithFloat32Interface();
  auto after = before;
  EXPECT_GT(RunPassOk("convert_float16_to_float", after).changes, 0);
  // Every cast between float16 and float32 goes but Y's (float32 -> float32 now, the output's producer).
  const auto counts = OpCounts(after);
  EXPECT_EQ(counts.at("Cast"), 1);
  EXPECT_EQ(testing::FindNode(after, "Conv")->input(0), "X");
  EXPECT_EQ(testing::FindNode(after, "Relu")->input(0), "P");
  EXPECT_EQ(testing::FindNode(after, "Cast")->output(0), "Y");
  EXPECT_EQ(ElemType(after.graph().input(0)), onnx::TensorProto::FLOAT);
  EXPECT_EQ(ElemType(after.graph().output(0)), onnx::TensorProto::FLOAT);
  for (const auto& init : after.graph().initializer()) EXPECT_EQ(init.data_type(), onnx::TensorProto::FLOAT);
  const Tensor x = RandomTensor("X", {1, 2, 4, 4}, 10);
  ExpectClose(RunFirstOutput(before, {x}), RunFirstOutput(after, {x}), 2e-3F);
}

TEST(ConvertFloat16ToFloatTest, WeightsBehindCastsAreLeftToFoldWeightCasts) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[1,2,4,4] X) => (float[1,4,4,4] Y)
{
  Wf = Cast <to = 1> (W)
  Y = Conv <pads = [1, 1, 1, 1]> (X, Wf)
}
)");
  AddHalf(model, "W", {4, 2, 3, 3}, 6);
  ExpectPassChangesNothing("convert_float16_to_float", model);
}

TEST(ConvertFloat16ToFloatTest, SubgraphsAreConverted) {
  auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float16[3] X, bool c) => (float16[3] Y)
{
  Y = If (c) <
    then_branch = t () => (float16[3] a) { a = Add (X, X) },
    else_branch = e () => (float16[3] b) { b = Mul (X, K) }
  >
}
)");
  const std::vector<int64_t> dims = {3};
  auto* else_branch = before.mutable_graph()->mutable_node(0)->mutable_attribute(1)->mutable_g();
  *else_branch->add_initializer() = MakeFloat16Tensor("K", dims, std::vector<float>{2.0F, -1.0F, 0.5F});
  auto after = before;
  EXPECT_GT(RunPassOk("convert_float16_to_float", after).changes, 0);
  const auto& node = *testing::FindNode(after, "If");
  for (const auto& attr : node.attribute()) {
    EXPECT_EQ(ElemType(attr.g().output(0)), onnx::TensorProto::FLOAT) << attr.name();
    for (const auto& n : attr.g().node()) EXPECT_EQ(n.input(0), "X_float") << attr.name();
    for (const auto& init : attr.g().initializer()) EXPECT_EQ(init.data_type(), onnx::TensorProto::FLOAT);
  }
  EXPECT_EQ(ElemType(after.graph().input(0)), onnx::TensorProto::FLOAT16);
  EXPECT_EQ(ElemType(after.graph().output(0)), onnx::TensorProto::FLOAT16);
}

TEST(Float16InterfaceTest, ExposeAndRestore) {
  const auto half = Float16ConvGemm();
  auto converted = half;
  RunPassOk("convert_float16_to_float", converted);
  // Exposed: the edge Casts go, the interface is float32 and runs on float32 data.
  auto exposed = converted;
  const Float16Interface interface = ExposeFloatInterface(exposed);
  EXPECT_EQ(interface.inputs, std::vector<std::string>{"X"});
  EXPECT_EQ(interface.outputs, std::vector<std::string>{"Y"});
  EXPECT_EQ(OpCounts(exposed).count("Cast"), 0U);
  EXPECT_EQ(ElemType(exposed.graph().input(0)), onnx::TensorProto::FLOAT);
  EXPECT_EQ(ElemType(exposed.graph().output(0)), onnx::TensorProto::FLOAT);
  const Tensor x = RandomTensor("X", {1, 2, 4, 4}, 7);
  const auto expected = RunFloat16Model(half, x);
  ExpectClose(expected, RunFirstOutput(exposed, {x}), 2e-3F);
  // Restored: float16 again, one Cast at each edge.
  auto restored = exposed;
  ASSERT_TRUE(RestoreFloat16Interface(interface, restored).ok());
  EXPECT_EQ(ElemType(restored.graph().input(0)), onnx::TensorProto::FLOAT16);
  EXPECT_EQ(ElemType(restored.graph().output(0)), onnx::TensorProto::FLOAT16);
  EXPECT_EQ(OpCounts(restored).at("Cast"), 2);
  ExpectClose(expected, RunFloat16Model(restored, x), 2e-3F);
  // A model without float16 edges exposes nothing.
  auto plain = testing::LoadTestModel("mbv2_fmnist.onnx");
  const auto bytes = plain.SerializeAsString();
  EXPECT_TRUE(ExposeFloatInterface(plain).empty());
  EXPECT_EQ(plain.SerializeAsString(), bytes);
}

}  // namespace
}  // namespace onnxq
