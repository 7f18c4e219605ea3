// The runnability report: the classification of optimized graphs written by hand, and ONNX Runtime's own
// optimized graphs of small QDQ models whose fusions are known.
#include "evaluation/runnability.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "onnxq/runnability.h"
#include "testing/fake_backend.h"
#include "testing/model_text.h"
#include "testing/qdq_models.h"

namespace onnxq {
namespace {

using Counts = std::map<std::string, int64_t>;

// As an optimized graph holds them: contrib ops of com.microsoft, a quantized MaxPool, an Erf between
// a DequantizeLinear and a QuantizeLinear, and a MatMul on a dequantized weight (weight-only).
TEST(ClassifyRunnabilityTest, SortsEveryNodeIntoOneClass) {
  const onnx::ModelProto optimized = testing::ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13, "com.microsoft" : 1]>
g (float[1,4] X) => (float[1,4] Y)
<float s = {0.1}, uint8 z = {128}, int8[4,4] w = {1,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,0,1}, int8 wz = {0}>
{
  xq = QuantizeLinear(X, s, z)
  a = com.microsoft.QLinearAdd(xq, s, z, xq, s, z, s, z)
  m = MaxPool <kernel_shape = [1]> (a)
  md = DequantizeLinear(m, s, z)
  e = Erf(md)
  eq = QuantizeLinear(e, s, z)
  ed = DequantizeLinear(eq, s, z)
  r = Relu(ed)
  wd = DequantizeLinear(w, s, wz)
  Y = MatMul(X, wd)
}
)");
  const RunnabilityReport report = ClassifyRunnability(optimized);
  EXPECT_EQ(report.nodes, 10);
  EXPECT_EQ(report.integer_kernels, (Counts{{"QLinearAdd", 1}}));
  EXPECT_EQ(report.integer_data_movement, (Counts{{"MaxPool", 1}}));
  // Erf reads a dequantized activation and feeds a QuantizeLinear; Relu reads one.
  EXPECT_EQ(report.float_between_qdq, (Counts{{"Erf", 1}, {"Relu", 1}}));
  ASSERT_EQ(report.float_nodes.size(), 2U);
  EXPECT_EQ(report.float_nodes[0].node, "Erf #4");
  EXPECT_EQ(report.float_nodes[0].op_type, "Erf");
  EXPECT_EQ(report.float_nodes[1].node, "Relu #7");
  EXPECT_EQ(report.quantize_dequantize, (Counts{{"DequantizeLinear", 3}, {"QuantizeLinear", 2}}));
  EXPECT_EQ(report.float_ops, (Counts{{"MatMul", 1}}));
  EXPECT_EQ(RunnabilitySummary(report), "integer kernels 1 node groups, float between Q/DQ 2 (Erf 1, Relu 1)");
}

// A data-movement op on a float tensor is float, not integer.
TEST(ClassifyRunnabilityTest, DataMovementOnFloatTensorsIsFloat) {
  const onnx::ModelProto optimized = testing::ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] X) => (float[4,1] Y)
<int64[2] shape = {4, 1}>
{
  Y = Reshape(X, shape)
}
)");
  const RunnabilityReport report = ClassifyRunnability(optimized);
  EXPECT_TRUE(report.integer_data_movement.empty());
  EXPECT_EQ(report.float_ops, (Counts{{"Reshape", 1}}));
  EXPECT_EQ(RunnabilitySummary(report), "integer kernels 0 node groups, float between Q/DQ 0");
}

TEST(InspectRunnabilityTest, EngineWithoutOptimizedModelIsAnError) {
  const testing::FakeBackend backend;
  const onnx::ModelProto model = testing::ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] X) => (float[1,4] Y)
{
  Y = Relu(X)
}
)");
  EXPECT_EQ(InspectRunnability(backend, model).status().code(), StatusCode::kUnsupported);
}

// Q/DQ around a Conv: ONNX Runtime's QDQ selectors fuse the group into one QLinearConv, which keeps the
// input's QuantizeLinear and the output's DequantizeLinear.
TEST(InspectRunnabilityTest, QdqConvRunsAsOneIntegerKernel) {
  const onnx::ModelProto model = testing::QdqConvModel(testing::AfterConv::kNothing);
  auto report = InspectRunnability(model);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->integer_kernels, (Counts{{"QLinearConv", 1}}));
  EXPECT_TRUE(report->float_between_qdq.empty());
  EXPECT_EQ(report->quantize_dequantize, (Counts{{"DequantizeLinear", 1}, {"QuantizeLinear", 1}}));
}

// ONNX Runtime has no integer kernel for HardSigmoid: it stays float between its Q/DQ pairs, next to a
// fused Conv.
TEST(InspectRunnabilityTest, HardSigmoidStaysFloatBetweenQdq) {
  const onnx::ModelProto model = testing::QdqConvModel(testing::AfterConv::kHardSigmoid);
  auto report = InspectRunnability(model);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->integer_kernels, (Counts{{"QLinearConv", 1}}));
  EXPECT_EQ(report->float_between_qdq, (Counts{{"HardSigmoid", 1}}));
  ASSERT_EQ(report->float_nodes.size(), 1U);
  EXPECT_EQ(report->float_nodes[0].op_type, "HardSigmoid");
  EXPECT_EQ(RunnabilitySummary(*report), "integer kernels 1 node groups, float between Q/DQ 1 (HardSigmoid 1)");
}

TEST(InspectRunnabilityTest, ModelTheRuntimeRefusesIsAnError) {
  const onnx::ModelProto model = testing::ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] X) => (float[1,4] Y)
{
  Y = NoSuchOp(X)
}
)");
  const auto report = InspectRunnability(model);
  EXPECT_EQ(report.status().code(), StatusCode::kRuntimeError);
  EXPECT_NE(report.status().message().find("NoSuchOp"), std::string::npos) << report.status().message();
}

}  // namespace
}  // namespace onnxq
