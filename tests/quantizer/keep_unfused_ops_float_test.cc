// KeepUnfusedOpsFloat: with the default placement, ops without an integer kernel in ONNX Runtime's CPU
// provider stay float (Erf, Div), and so do cheap fusable ops that read a float op's output (GELU's Add
// and Muls); Conv / MatMul keep their marks, SiLU (Sigmoid x Mul after a Conv) stays quantized as
// QLinearSigmoid + QLinearMul, HardSigmoid as the QLinearAdd it becomes (with symmetric activations
// only half of a HardSwish keeps its Q/DQ), and AllQuantizable or an explicit --op-types-to-quantize
// keeps every mark; data movement that only float nodes or the graph's outputs read stays float.
#include "quantizer/keep_unfused_ops_float.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "quantizer/mark_nodes.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;

// Op types of the nodes that keep their marks, and of those left float, after KeepUnfusedOpsFloat.
struct Placement {
  std::multiset<std::string> quantized;
  std::multiset<std::string> left_float;
  std::set<std::string> tensors;  // every tensor some kept mark quantizes
  int dropped = 0;
};

Placement Place(const std::string& text, const QuantizeOptions& options) {
  auto model = ParseModelText(text);
  GraphView graph(model.mutable_graph());
  auto plan = MarkNodes(graph, options);
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  Placement placement;
  if (!plan.ok()) return placement;
  placement.dropped = KeepUnfusedOpsFloat(graph, options, &*plan);
  for (const auto& mark : plan->marks) {
    placement.quantized.insert(model.graph().node(mark.node).op_type());
    for (const auto& intent : mark.intents) placement.tensors.insert(intent.tensor);
  }
  for (const auto& [index, reason] : plan->left_float) {
    placement.left_float.insert(model.graph().node(index).op_type());
  }
  return placement;
}

// HardSwish as exported at opset 13, between two 1x1 Convs.
constexpr const char* kHardSwish = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,1,2,2] X) => (float[1,1,2,2] Y)
<float[1,1,1,1] W = {0.5}, float[1,1,1,1] V = {2.0}>
{
  c = Conv (X, W)
  h = HardSigmoid <alpha: float = 0.1666667> (c)
  m = Mul (c, h)
  Y = Conv (m, V)
}
)";

// SiLU (Sigmoid x Mul) between two 1x1 Convs.
constexpr const char* kSilu = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,1,2,2] X) => (float[1,1,2,2] Y)
<float[1,1,1,1] W = {0.5}, float[1,1,1,1] V = {2.0}>
{
  c = Conv (X, W)
  s = Sigmoid (c)
  m = Mul (c, s)
  Y = Conv (m, V)
}
)";

// GELU written out with Erf between two MatMuls.
constexpr const char* kGelu = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2] X) => (float[1,2] Y)
<float[2,2] W = {1.0, 0.0, 0.0, 1.0}, float[2,2] V = {0.5, 0.5, 0.5, 0.5}, float root2 = {1.4142135},
 float one = {1.0}, float half = {0.5}>
{
  a = MatMul (X, W)
  d = Div (a, root2)
  e = Erf (d)
  p = Add (e, one)
  m = Mul (a, p)
  h = Mul (m, half)
  Y = MatMul (h, V)
}
)";

TEST(KeepUnfusedOpsFloatTest, HardSwishWrittenOutKeepsItsMarks) {
  const Placement placement = Place(kHardSwish, {});
  EXPECT_EQ(placement.quantized, (std::multiset<std::string>{"Conv", "HardSigmoid", "Mul", "Conv"}));
  EXPECT_TRUE(placement.left_float.empty());
  EXPECT_EQ(placement.dropped, 0);
}

// A HardSigmoid gate (its Mul reads another tensor) is quantized as the QLinearAdd it becomes
// (ExpressHardSigmoidAsAdd), and so is the Mul reading it.
TEST(KeepUnfusedOpsFloatTest, AHardSigmoidGateIsQuantizedAsTheAddItBecomes) {
  std::string gate = kHardSwish;
  gate.replace(gate.find("Mul (c, h)"), 10, "Mul (X, h)");
  const Placement placement = Place(gate, {});
  EXPECT_EQ(placement.quantized, (std::multiset<std::string>{"Conv", "HardSigmoid", "Mul", "Conv"}));
  EXPECT_TRUE(placement.left_float.empty());
  EXPECT_EQ(placement.dropped, 0);
}

// With symmetric activations the HardSigmoid's grid does not start at 0 and no Add can stand for it:
// a gate has no integer kernel and stays float, and so does the Mul reading it; half of a HardSwish
// keeps its Q/DQ (measured faster).
TEST(KeepUnfusedOpsFloatTest, WithSymmetricActivationsAHardSigmoidGateRunsInFloat) {
  QuantizeOptions options;
  options.activation_symmetric = true;
  std::string gate = kHardSwish;
  gate.replace(gate.find("Mul (c, h)"), 10, "Mul (X, h)");
  const Placement placement = Place(gate, options);
  EXPECT_EQ(placement.quantized, (std::multiset<std::string>{"Conv", "Conv"}));
  EXPECT_EQ(placement.left_float, (std::multiset<std::string>{"HardSigmoid", "Mul"}));
  EXPECT_EQ(placement.dropped, 2);
  const Placement hard_swish = Place(kHardSwish, options);
  EXPECT_EQ(hard_swish.quantized, (std::multiset<std::string>{"Conv", "HardSigmoid", "Mul", "Conv"}));
}

TEST(KeepUnfusedOpsFloatTest, SiluAfterConvKeepsItsIntegerKernels) {
  const Placement placement = Place(kSilu, {});
  EXPECT_EQ(placement.quantized, (std::multiset<std::string>{"Conv", "Sigmoid", "Mul", "Conv"}));
  EXPECT_TRUE(placement.left_float.empty());
  EXPECT_EQ(placement.dropped, 0);
}

TEST(KeepUnfusedOpsFloatTest, GeluChainStaysFloatAsAWhole) {
  const Placement placement = Place(kGelu, {});
  EXPECT_EQ(placement.quantized, (std::multiset<std::string>{"MatMul", "MatMul"}));
  EXPECT_EQ(placement.left_float, (std::multiset<std::string>{"Div", "Erf", "Add", "Mul", "Mul"}));
  EXPECT_EQ(placement.dropped, 5);
}

// A segmentation head: Conv, then data movement up to the graph's output (a bilinear upsampling, a
// Reshape and a Transpose), or on to another Conv.
constexpr const char* kHead = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,1,2,2] X) => (float[1,4,4,1] Y)
<float[1,1,1,1] W = {0.5}, float[4] scales = {1.0, 1.0, 2.0, 2.0}, int64[4] shape = {1, 1, 4, 4}>
{
  c = Conv (X, W)
  u = Resize <mode: string = "linear"> (c, , scales)
  r = Reshape (u, shape)
  Y = Transpose <perm: ints = [0, 2, 3, 1]> (r)
}
)";

// Data movement that only the graph's outputs read stays float, back to the last quantized node: its
// output would be quantized only to be dequantized again.
TEST(KeepUnfusedOpsFloatTest, DataMovementReadOnlyInFloatStaysFloat) {
  const Placement placement = Place(kHead, {});
  EXPECT_EQ(placement.quantized, (std::multiset<std::string>{"Conv"}));
  EXPECT_EQ(placement.left_float, (std::multiset<std::string>{"Resize", "Reshape", "Transpose"}));
  EXPECT_EQ(placement.dropped, 3);
  // A Conv reading the Transpose keeps the whole chain quantized.
  std::string into_conv = kHead;
  into_conv.replace(into_conv.find("Y = Transpose"), 13, "t = Transpose");
  into_conv.replace(into_conv.find("(r)\n"), 4, "(r)\n  Y = Conv (t, W)\n");
  into_conv.replace(into_conv.find("float[1,4,4,1] Y"), 16, "float[1,1,4,1] Y");
  const Placement kept = Place(into_conv, {});
  EXPECT_EQ(kept.quantized, (std::multiset<std::string>{"Conv", "Resize", "Reshape", "Transpose", "Conv"}));
  EXPECT_EQ(kept.dropped, 0);
}

// Relu and Clip cost nothing (the producer's QuantizeLinear clips), so they keep their marks before
// an output; a MaxPool there does not.
TEST(KeepUnfusedOpsFloatTest, AReluBeforeTheOutputKeepsItsMark) {
  constexpr const char* kConvRelu = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,1,2,2] X) => (float[1,1,2,2] Y)
<float[1,1,1,1] W = {0.5}>
{
  c = Conv (X, W)
  Y = Relu (c)
}
)";
  const Placement relu = Place(kConvRelu, {});
  EXPECT_EQ(relu.quantized, (std::multiset<std::string>{"Conv", "Relu"}));
  EXPECT_EQ(relu.dropped, 0);
  std::string pool = kConvRelu;
  pool.replace(pool.find("Relu (c)"), 8, "MaxPool <kernel_shape: ints = [1, 1]> (c)");
  const Placement max_pool = Place(pool, {});
  EXPECT_EQ(max_pool.quantized, (std::multiset<std::string>{"Conv"}));
  EXPECT_EQ(max_pool.left_float, (std::multiset<std::string>{"MaxPool"}));
}

// A transformer's Linear as exported: MatMul, then the bias Add, then a float GELU's first op.
constexpr const char* kLinear = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,2] X) => (float[1,4,2] Y)
<float[2,2] W = {1.0, 0.5, -0.5, 1.0}, float[2] b = {0.25, -0.25}, float root2 = {1.4142135}>
{
  m = MatMul (X, W)
  a = Add (b, m)
  Y = Div (a, root2)
}
)";

// The bias Add would be quantized as int8 beside uint8 activations, which ONNX Runtime's QLinearAdd
// cannot take: it stays float. Nothing quantized reads the MatMul's output then, so the MatMul keeps
// its quantized inputs and writes float (MatMulIntegerToFloat).
TEST(KeepUnfusedOpsFloatTest, ABiasAddOfAnotherTypeStaysFloatAndItsMatMulWritesFloat) {
  const Placement placement = Place(kLinear, {});
  EXPECT_EQ(placement.quantized, (std::multiset<std::string>{"MatMul"}));
  EXPECT_EQ(placement.left_float, (std::multiset<std::string>{"Add", "Div"}));
  EXPECT_EQ(placement.tensors, (std::set<std::string>{"X", "W"}));
  // int8 activations and weights: one type, so QLinearAdd takes the Add and the MatMul's output is
  // quantized for it.
  QuantizeOptions int8;
  int8.activation_type = QuantType::kInt8;
  const Placement same_type = Place(kLinear, int8);
  EXPECT_EQ(same_type.quantized, (std::multiset<std::string>{"MatMul", "Add"}));
  EXPECT_TRUE(same_type.tensors.contains("m"));
  EXPECT_TRUE(same_type.tensors.contains("b"));
}

// A Conv has no float-output integer kernel: its output stays quantized whoever reads it; a Gemm
// there writes float (a QGemm with a float output).
TEST(KeepUnfusedOpsFloatTest, AConvBeforeAFloatReaderKeepsItsOutputQuantizedAGemmDoesNot) {
  const Placement conv = Place(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,1,2,2] X) => (float[1,1,2,2] Y)
<float[1,1,1,1] W = {0.5}>
{
  c = Conv (X, W)
  Y = Erf (c)
}
)",
                               {});
  EXPECT_EQ(conv.quantized, (std::multiset<std::string>{"Conv"}));
  EXPECT_TRUE(conv.tensors.contains("c"));
  const Placement gemm = Place(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2] X) => (float[1,2] Y)
<float[2,2] G = {1.0, 2.0, 3.0, 4.0}, float[2] b = {0.5, -0.5}>
{
  c = Gemm (X, G, b)
  Y = Erf (c)
}
)",
                               {});
  EXPECT_EQ(gemm.quantized, (std::multiset<std::string>{"Gemm"}));
  EXPECT_EQ(gemm.tensors, (std::set<std::string>{"X", "G", "b"}));
}

TEST(KeepUnfusedOpsFloatTest, AllQuantizableKeepsEveryMark) {
  QuantizeOptions options;
  options.placement = QdqPlacement::kAllQuantizable;
  const Placement placement = Place(kGelu, options);
  EXPECT_EQ(placement.quantized.size(), 7U);
  EXPECT_EQ(placement.dropped, 0);
}

TEST(KeepUnfusedOpsFloatTest, OpTypesTheUserNamesKeepTheirMarks) {
  QuantizeOptions options;
  options.op_types_to_quantize = {"Conv", "HardSigmoid", "Mul"};
  const Placement placement = Place(kHardSwish, options);
  EXPECT_EQ(placement.quantized, (std::multiset<std::string>{"Conv", "HardSigmoid", "Mul", "Conv"}));
  EXPECT_EQ(placement.dropped, 0);
}

}  // namespace
}  // namespace onnxq
