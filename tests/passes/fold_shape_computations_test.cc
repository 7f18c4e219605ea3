// fold_shape_computations: shape arithmetic on Shape outputs becomes constants where the declared shapes
// fix it, Reshape targets keep the batch axis free, and the function stays the same at every batch size.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "ir/tensor_util.h"
#include "pass_test_util.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ExpectSameFunction;
using testing::OpCounts;
using testing::ParseModelText;
using testing::RandomTensor;
using testing::RunPassOk;

std::vector<int64_t> ReshapeTarget(const onnx::ModelProto& model, int reshape_index) {
  int seen = 0;
  for (const auto& node : model.graph().node()) {
    if (node.op_type() != "Reshape" || seen++ != reshape_index) continue;
    const auto* target = testing::FindInitializer(model.graph(), node.input(1));
    if (target == nullptr) return {};
    return *ToInt64s(*target);
  }
  return {};
}

// Feeds of X at batch sizes 1 and 3.
std::vector<Feeds> TwoBatchSizes(const std::vector<int64_t>& sample_shape) {
  std::vector<Feeds> feeds;
  for (const int64_t batch : {1, 3}) {
    std::vector<int64_t> shape = {batch};
    shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
    feeds.push_back({RandomTensor("X", shape, static_cast<uint32_t>(batch), -1.0F, 1.0F)});
  }
  return feeds;
}

// torch.onnx.export's channel shuffle (shufflenet_v2): the shape is read at run time, the channel count
// divided by the groups, then the reshape back reads the shape again, after the first reshape.
TEST(FoldShapeComputationsTest, AChannelShuffleGetsConstantTargetsWithTheBatchAxisFree) {
  const auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[batch,4,2,3] X) => (float[batch,4,2,3] Y)
<int64 zero = {0}, int64 one = {1}, int64 two = {2}, int64 three = {3}, int64[1] groups = {2},
 int64[1] axes = {0}, int64[1] minus_one = {-1}>
{
  r = Relu (X)
  s = Shape (r)
  n = Gather (s, zero)
  c = Gather (s, one)
  h = Gather (s, two)
  w = Gather (s, three)
  two_scalar = Squeeze (groups, axes)
  per_group = Div (c, two_scalar)
  nu = Unsqueeze (n, axes)
  cu = Unsqueeze (per_group, axes)
  hu = Unsqueeze (h, axes)
  wu = Unsqueeze (w, axes)
  grouped = Concat <axis = 0> (nu, groups, cu, hu, wu)
  g5 = Reshape (r, grouped)
  t = Transpose <perm = [0, 2, 1, 3, 4]> (g5)
  s2 = Shape (t)
  n2 = Gather (s2, zero)
  n2u = Unsqueeze (n2, axes)
  back = Concat <axis = 0> (n2u, minus_one, hu, wu)
  Y = Reshape (t, back)
}
)");
  auto after = before;
  const auto report = RunPassOk("fold_shape_computations", after);
  EXPECT_GT(report.changes, 0);
  // 4 channels / 2 groups = 2; the batch axis copied (0); the written -1 kept.
  EXPECT_EQ(ReshapeTarget(after, 0), (std::vector<int64_t>{0, 2, 2, 2, 3}));
  EXPECT_EQ(ReshapeTarget(after, 1), (std::vector<int64_t>{0, -1, 2, 3}));
  const auto ops = OpCounts(after);
  for (const std::string op : {"Shape", "Gather", "Div", "Unsqueeze", "Squeeze", "Concat"}) {
    EXPECT_FALSE(ops.contains(op)) << op << " left";
  }
  EXPECT_EQ(after.graph().node_size(), 4);  // Relu, Reshape, Transpose, Reshape
  EXPECT_EQ(after.graph().value_info_size(), 0);
  ExpectSameFunction(before, after, TwoBatchSizes({4, 2, 3}));
}

// Flatten written out: Reshape(x, Concat(Gather(Shape(x), 0), [-1])); a fully static Shape becomes a
// constant, and integer arithmetic on it is worked out (Sub, Mul, Slice, Cast).
TEST(FoldShapeComputationsTest, StaticShapesBecomeConstantsAndFlattenKeepsItsBatch) {
  const auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[batch,2,3] X, float[4,5] Z) => (float[batch,6] Y, int32[1] K)
<int64 zero = {0}, int64[1] axes = {0}, int64[1] minus_one = {-1}, int64[1] start = {1}, int64[1] end = {2},
 int64[1] one_1d = {1}, int64[1] three_1d = {3}>
{
  s = Shape (X)
  n = Gather (s, zero)
  nu = Unsqueeze (n, axes)
  flat = Concat <axis = 0> (nu, minus_one)
  Y = Reshape (X, flat)
  z = Shape (Z)
  cols = Slice (z, start, end)
  less = Sub (cols, one_1d)
  k = Mul (less, three_1d)
  K = Cast <to = 6> (k)
}
)");
  auto after = before;
  RunPassOk("fold_shape_computations", after);
  EXPECT_EQ(ReshapeTarget(after, 0), (std::vector<int64_t>{0, -1}));
  // K is a graph output: computed by its Cast from a constant (5 - 1) * 3 = 12.
  const auto ops = OpCounts(after);
  EXPECT_FALSE(ops.contains("Shape"));
  EXPECT_EQ(ops.at("Cast"), 1);
  const auto* k = testing::FindInitializer(after.graph(), "k");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(*ToInt64s(*k), (std::vector<int64_t>{12}));
  std::vector<Feeds> feeds = TwoBatchSizes({2, 3});
  for (auto& feed : feeds) feed.push_back(RandomTensor("Z", {4, 5}, 9, -1.0F, 1.0F));
  ExpectSameFunction(before, after, feeds);
}

// Two axes of unknown size in the target: nothing pins it, so the run-time computation stays.
TEST(FoldShapeComputationsTest, TwoUnknownAxesLeaveTheComputation) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[batch,?,?] X) => (float[?,?,batch] Y)
<int64 one = {1}, int64 two = {2}, int64 zero = {0}, int64[1] axes = {0}>
{
  s = Shape (X)
  n = Gather (s, zero)
  a = Gather (s, one)
  b = Gather (s, two)
  nu = Unsqueeze (n, axes)
  au = Unsqueeze (a, axes)
  bu = Unsqueeze (b, axes)
  target = Concat <axis = 0> (au, bu, nu)
  Y = Reshape (X, target)
}
)");
  const auto report = RunPassOk("fold_shape_computations", model);
  EXPECT_EQ(report.changes, 0);
  EXPECT_EQ(OpCounts(model).at("Shape"), 1);
  EXPECT_EQ(model.graph().node_size(), 9);
}

}  // namespace
}  // namespace onnxq
