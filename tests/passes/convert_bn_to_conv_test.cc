// convert_bn_to_conv: stand-alone batch norms become depthwise 1x1 convs computing the same.
#include <gtest/gtest.h>

#include "ir/infer_shapes.h"
#include "pass_test_util.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ExpectSameFunction;
using testing::OpCounts;
using testing::ParseModelText;
using testing::RandomSamples;
using testing::RunPassOk;
using testing::SetRandomInitializer;

void SetBatchNorm(onnx::ModelProto& model, int64_t channels) {
  SetRandomInitializer(model, "bn_scale", {channels}, 1, 0.2F, 2.0F);
  SetRandomInitializer(model, "bn_bias", {channels}, 2);
  SetRandomInitializer(model, "bn_mean", {channels}, 3);
  SetRandomInitializer(model, "bn_var", {channels}, 4, 0.1F, 2.0F);
}

TEST(ConvertBnToConvTest, BatchNormAfterAddBecomesDepthwiseConv) {
  auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,4,4] X, float[1,3,4,4] Z) => (float[1,3,4,4] Y)
{
  S = Add (X, Z)
  Y = BatchNormalization <epsilon = 0.01> (S, bn_scale, bn_bias, bn_mean, bn_var)
}
)");
  SetBatchNorm(before, 3);
  auto after = before;
  ASSERT_TRUE(InferShapes(after).ok());
  EXPECT_EQ(RunPassOk("convert_bn_to_conv", after).changes, 1);
  EXPECT_EQ(OpCounts(after).count("BatchNormalization"), 0U);
  const auto* conv = testing::FindNode(after, "Conv");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->input(0), "S");
  EXPECT_EQ(conv->output(0), "Y");
  int64_t group = 0;
  std::vector<int64_t> kernel;
  for (const auto& attr : conv->attribute()) {
    if (attr.name() == "group") group = attr.i();
    if (attr.name() == "kernel_shape") kernel.assign(attr.ints().begin(), attr.ints().end());
  }
  EXPECT_EQ(group, 3);
  EXPECT_EQ(kernel, (std::vector<int64_t>{1, 1}));
  const auto* weight = testing::FindInitializer(after, conv->input(1));
  ASSERT_NE(weight, nullptr);
  EXPECT_EQ(std::vector<int64_t>(weight->dims().begin(), weight->dims().end()), (std::vector<int64_t>{3, 1, 1, 1}));
  EXPECT_EQ(testing::FindInitializer(after, "bn_mean"), nullptr);  // parameters no one reads are gone
  std::vector<Feeds> feeds;
  for (uint32_t seed = 0; seed < 3; ++seed) {
    feeds.push_back(
        {testing::RandomTensor("X", {1, 3, 4, 4}, seed), testing::RandomTensor("Z", {1, 3, 4, 4}, seed + 9)});
  }
  ExpectSameFunction(before, after, feeds);
}

TEST(ConvertBnToConvTest, RankThreeInput) {
  auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3,5] X) => (float[2,3,5] Y)
{
  Y = BatchNormalization (X, bn_scale, bn_bias, bn_mean, bn_var)
}
)");
  SetBatchNorm(before, 3);
  auto after = before;
  EXPECT_EQ(RunPassOk("convert_bn_to_conv", after).changes, 1);
  ExpectSameFunction(before, after, RandomSamples("X", {2, 3, 5}, 2, 5));
}

TEST(ConvertBnToConvTest, RankTwoInputStays) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,3] Y)
{
  Y = BatchNormalization (X, bn_scale, bn_bias, bn_mean, bn_var)
}
)");
  SetBatchNorm(model, 3);
  const auto report = RunPassOk("convert_bn_to_conv", model);
  EXPECT_EQ(report.changes, 0);
  ASSERT_EQ(report.notes.size(), 1U);
  EXPECT_NE(report.notes[0].find("rank 2"), std::string::npos) << report.notes[0];
}

// A batch norm without an output (the checker refuses it, but passes run before the checker).
TEST(ConvertBnToConvTest, BatchNormWithoutOutputStays) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,4,4] X) => (float[1,3,4,4] Y)
{
  Y = BatchNormalization (X, bn_scale, bn_bias, bn_mean, bn_var)
}
)");
  SetBatchNorm(model, 3);
  model.mutable_graph()->mutable_node(0)->clear_output();
  EXPECT_EQ(RunPassOk("convert_bn_to_conv", model).changes, 0);
  EXPECT_EQ(OpCounts(model).at("BatchNormalization"), 1);
}

TEST(ConvertBnToConvTest, UnknownRankStays) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,4,4] X, float[1,3,4,4] Z) => (float[1,3,4,4] Y)
{
  S = Add (X, Z)
  Y = BatchNormalization (S, bn_scale, bn_bias, bn_mean, bn_var)
}
)");
  SetBatchNorm(model, 3);
  EXPECT_EQ(RunPassOk("convert_bn_to_conv", model).changes, 0);  // no shape inference: S is untyped
  EXPECT_EQ(OpCounts(model).at("BatchNormalization"), 1);
}

}  // namespace
}  // namespace onnxq
