// eliminate_identity: Identity nodes disappear and the graph computes the same.
#include <gtest/gtest.h>

#include "pass_test_util.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ExpectSameFunction;
using testing::OpCounts;
using testing::ParseModelText;
using testing::RandomSamples;
using testing::RunPassOk;

TEST(EliminateIdentityTest, ReadersUseTheInput) {
  const auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,3] Y)
<float[3] b = {1.0, 2.0, 3.0}>
{
  b2 = Identity (b)
  r = Relu (X)
  r2 = Identity (r)
  Y = Add (r2, b2)
}
)");
  auto after = before;
  EXPECT_EQ(RunPassOk("eliminate_identity", after).changes, 2);
  ASSERT_EQ(after.graph().node_size(), 2);
  const auto& add = after.graph().node(1);
  EXPECT_EQ(add.op_type(), "Add");
  EXPECT_EQ(add.input(0), "r");
  EXPECT_EQ(add.input(1), "b");
  ExpectSameFunction(before, after, RandomSamples("X", {2, 3}, 2, 1));
}

TEST(EliminateIdentityTest, GraphOutputKeepsItsName) {
  const auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,3] Y, float[2,3] Z)
{
  r = Relu (X)
  Y = Identity (r)
  Z = Identity (X)
}
)");
  auto after = before;
  EXPECT_EQ(RunPassOk("eliminate_identity", after).changes, 1);
  // Relu writes Y itself; Z = Identity(X) stays because X is a graph input.
  const auto counts = OpCounts(after);
  EXPECT_EQ(counts.at("Identity"), 1);
  EXPECT_EQ(after.graph().node(0).op_type(), "Relu");
  EXPECT_EQ(after.graph().node(0).output(0), "Y");
  ExpectSameFunction(before, after, RandomSamples("X", {2, 3}, 2, 3));
}

// Removals are decided in one walk and applied together: a chain of Identity nodes, read along the
// way and ending in graph outputs, collapses in one run (each removal used to rebuild the graph, which
// took minutes for 100,000 of them).
TEST(EliminateIdentityTest, LongChainsCollapseAndReadersAlongThemFollow) {
  constexpr int kChain = 100000;
  onnx::ModelProto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,3] Y, float[2,3] Z, float[2,3] W)
{
  t0 = Relu (X)
}
)");
  auto* graph = before.mutable_graph();
  for (int i = 0; i < kChain; ++i) {
    auto* node = graph->add_node();
    node->set_op_type("Identity");
    node->add_input("t" + std::to_string(i));
    node->add_output("t" + std::to_string(i + 1));
  }
  // A reader halfway, and two graph outputs at the end: the first an Identity of the chain (Relu then
  // writes Y itself), the second an Identity of that output (stays: it copies a graph output).
  auto* half = graph->add_node();
  half->set_op_type("Neg");
  half->add_input("t" + std::to_string(kChain / 2));
  half->add_output("W");
  auto* y = graph->add_node();
  y->set_op_type("Identity");
  y->add_input("t" + std::to_string(kChain));
  y->add_output("Y");
  auto* z = graph->add_node();
  z->set_op_type("Identity");
  z->add_input("Y");
  z->add_output("Z");
  auto after = before;
  EXPECT_EQ(RunPassOk("eliminate_identity", after).changes, kChain + 1);
  ASSERT_EQ(after.graph().node_size(), 3);
  EXPECT_EQ(after.graph().node(0).op_type(), "Relu");
  EXPECT_EQ(after.graph().node(0).output(0), "Y");
  EXPECT_EQ(after.graph().node(1).op_type(), "Neg");
  EXPECT_EQ(after.graph().node(1).input(0), "Y");
  EXPECT_EQ(after.graph().node(2).op_type(), "Identity");
  EXPECT_EQ(after.graph().node(2).input(0), "Y");
  ExpectSameFunction(before, after, RandomSamples("X", {2, 3}, 2, 5));
}

TEST(EliminateIdentityTest, ResNetIdentityBiases) {
  const auto before = testing::LoadTestModel("resnet_fmnist_bn.onnx");
  auto after = before;
  EXPECT_EQ(RunPassOk("eliminate_identity", after).changes, 2);
  EXPECT_EQ(OpCounts(after).count("Identity"), 0U);
  ExpectSameFunction(before, after, testing::FmnistSamples(before.graph().input(0).name(), 2));
}

// An Identity output read from inside If branches: in one branch, and in both branches of an If
// nested in the other.
TEST(EliminateIdentityTest, SubgraphReadersAreRenamedBranchOutputsIncluded) {
  const auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,3] Y)
<float[1] zero = {0.0}>
{
  r = Relu (X)
  t = Identity (r)
  s = ReduceSum <keepdims = 0> (X)
  cond = Greater (s, zero)
  Y = If (cond) <
    then_branch = then_g () => (float[2,3] y1) { y1 = Mul (t, t) },
    else_branch = else_g () => (float[2,3] y2) {
      y2 = If (cond) <
        then_branch = inner_then () => (float[2,3] z1) { z1 = Neg (t) },
        else_branch = inner_else () => (float[2,3] z2) { z2 = Add (t, r) }
      >
    }
  >
}
)");
  auto after = before;
  EXPECT_EQ(RunPassOk("eliminate_identity", after).changes, 1);
  EXPECT_EQ(OpCounts(after).count("Identity"), 0U);
  const auto& if_node = *testing::FindNode(after, "If");
  EXPECT_EQ(if_node.attribute(0).g().node(0).input(1), "r");
  const auto& inner = if_node.attribute(1).g().node(0);
  EXPECT_EQ(inner.attribute(0).g().node(0).input(0), "r");
  EXPECT_EQ(inner.attribute(1).g().node(0).input(0), "r");
  ExpectSameFunction(before, after, RandomSamples("X", {2, 3}, 4, 11), 0.0);
}

// A subgraph that defines a tensor of the removed name itself keeps reading its own. A subgraph
// output naming the removed tensor is renamed too (the checker accepts such outputs; ONNX Runtime
// asks for an Identity in between, so exporters write none).
TEST(EliminateIdentityTest, ASubgraphsOwnTensorOfTheSameNameStays) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X, bool cond) => (float[2,3] Y, float[2,3] Z)
{
  t = Identity (X)
  Z = Neg (t)
  Y = If (cond) <
    then_branch = then_g () => (float[2,3] y1) { t = Abs (X)  y1 = Neg (t) },
    else_branch = else_g () => (float[2,3] t) {}
  >
}
)");
  EXPECT_EQ(RunPassOk("eliminate_identity", model).changes, 1);
  const auto& if_node = *testing::FindNode(model, "If");
  const auto& then_branch = if_node.attribute(0).g();
  const auto& else_branch = if_node.attribute(1).g();
  EXPECT_EQ(then_branch.node(1).input(0), "t");
  EXPECT_EQ(else_branch.output(0).name(), "X");
}

}  // namespace
}  // namespace onnxq
