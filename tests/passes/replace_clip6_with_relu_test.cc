// replace_clip6_with_relu: which Clips become Relu, and what that does to the function.
#include <gtest/gtest.h>

#include <algorithm>

#include "pass_test_util.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ExpectSameFunction;
using testing::OpCounts;
using testing::ParseModelText;
using testing::RandomSamples;
using testing::RunPassOk;

TEST(ReplaceClip6WithReluTest, Clip06AndClip0BecomeRelu) {
  const auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,8] X) => (float[2,8] Y)
<float zero = {0.0}, float six = {6.0}, float one = {1.0}, float minus_one = {-1.0}>
{
  six_through = Identity (six)
  a = Clip (X, zero, six_through)
  b = Clip (a, zero)
  c = Clip (b, minus_one, one)
  Y = Clip (c, zero, one)
}
)");
  auto after = before;
  const auto report = RunPassOk("replace_clip6_with_relu", after);
  EXPECT_EQ(report.changes, 2);
  ASSERT_EQ(after.graph().node_size(), 4);  // the Identity of `six` went with it
  EXPECT_EQ(after.graph().node(0).op_type(), "Relu");
  EXPECT_EQ(after.graph().node(0).input_size(), 1);
  EXPECT_EQ(after.graph().node(0).output(0), "a");
  EXPECT_EQ(after.graph().node(1).op_type(), "Relu");
  EXPECT_EQ(after.graph().node(2).op_type(), "Clip");  // Clip(-1, 1)
  EXPECT_EQ(after.graph().node(3).op_type(), "Clip");  // Clip(0, 1)
  EXPECT_EQ(testing::FindInitializer(after, "six"), nullptr);
  EXPECT_NE(testing::FindInitializer(after, "zero"), nullptr);  // still read by Clip(0, 1)
  // Inside [-5, 5] nothing exceeds 6, so the function is the same.
  std::vector<Feeds> feeds;
  for (uint32_t seed = 0; seed < 3; ++seed) feeds.push_back({testing::RandomTensor("X", {2, 8}, seed, -5.0F, 5.0F)});
  ExpectSameFunction(before, after, feeds);
}

TEST(ReplaceClip6WithReluTest, ClipWithoutMaxIsExactEverywhere) {
  const auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,8] X) => (float[2,8] Y)
<float zero = {0.0}>
{
  Y = Clip (X, zero)
}
)");
  auto after = before;
  EXPECT_EQ(RunPassOk("replace_clip6_with_relu", after).changes, 1);
  EXPECT_EQ(OpCounts(after).at("Relu"), 1);
  std::vector<Feeds> feeds;
  for (uint32_t seed = 0; seed < 3; ++seed) feeds.push_back({testing::RandomTensor("X", {2, 8}, seed, -50.0F, 50.0F)});
  ExpectSameFunction(before, after, feeds);
}

TEST(ReplaceClip6WithReluTest, Opset6Attributes) {
  const auto before = ParseModelText(R"(
<ir_version: 7, opset_import: ["" : 10]>
g (float[2,8] X) => (float[2,8] Y)
{
  Y = Clip <min = 0.0, max = 6.0> (X)
}
)");
  auto after = before;
  EXPECT_EQ(RunPassOk("replace_clip6_with_relu", after).changes, 1);
  EXPECT_EQ(after.graph().node(0).op_type(), "Relu");
  EXPECT_EQ(after.graph().node(0).attribute_size(), 0);
  ExpectSameFunction(before, after, RandomSamples("X", {2, 8}, 2, 3));
}

TEST(ReplaceClip6WithReluTest, MobileNetV2ClipsFromConstantNodes) {
  // ReLU6 exported as Clip with Constant-node bounds (run before constants_to_initializers too).
  const auto before = testing::LoadTestModel("mbv2_fmnist_bn.onnx");
  auto after = before;
  EXPECT_EQ(RunPassOk("replace_clip6_with_relu", after).changes, 21);
  const auto counts = OpCounts(after);
  EXPECT_EQ(counts.count("Clip"), 0U);
  EXPECT_EQ(counts.count("Constant"), 0U);  // the bounds had no other reader
  // Not the same function (activations above 6 survive), but the same predictions on real images.
  const auto feeds = testing::FmnistSamples(before.graph().input(0).name(), 8);
  for (const auto& feed : feeds) {
    const auto a = testing::RunFirstOutput(before, feed);
    const auto b = testing::RunFirstOutput(after, feed);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::max_element(a.begin(), a.end()) - a.begin(), std::max_element(b.begin(), b.end()) - b.begin());
  }
}

}  // namespace
}  // namespace onnxq
