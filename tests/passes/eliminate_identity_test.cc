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

TEST(EliminateIdentityTest, ResNetIdentityBiases) {
  const auto before = testing::LoadTestModel("resnet_fmnist_bn.onnx");
  auto after = before;
  EXPECT_EQ(RunPassOk("eliminate_identity", after).changes, 2);
  EXPECT_EQ(OpCounts(after).count("Identity"), 0U);
  ExpectSameFunction(before, after, testing::FmnistSamples(before.graph().input(0).name(), 2));
}

}  // namespace
}  // namespace onnxq
