// fold_batch_norm: the expected graph after folding, and the same function before and after.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "pass_test_util.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ExpectSameFunction;
using testing::FindNode;
using testing::OpCounts;
using testing::ParseModelText;
using testing::RandomSamples;
using testing::RunPassOk;
using testing::SetInitializer;
using testing::SetRandomInitializer;

// Random batch-norm parameters for `channels` channels named <prefix>_{scale,bias,mean,var}.
void SetBatchNorm(onnx::ModelProto& model, const std::string& prefix, int64_t channels, uint32_t seed) {
  SetRandomInitializer(model, prefix + "_scale", {channels}, seed, 0.2F, 2.0F);
  SetRandomInitializer(model, prefix + "_bias", {channels}, seed + 1, -1.0F, 1.0F);
  SetRandomInitializer(model, prefix + "_mean", {channels}, seed + 2, -0.5F, 0.5F);
  SetRandomInitializer(model, prefix + "_var", {channels}, seed + 3, 0.1F, 2.0F);
}

onnx::ModelProto ConvBnModel(bool with_bias) {
  auto model = ParseModelText(std::string(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,5,5] X) => (float[1,3,5,5] Y)
{
  C = Conv <pads = [1, 1, 1, 1]> (X, W)") +
                              (with_bias ? ", B" : "") + R"()
  Y = BatchNormalization <epsilon = 0.001> (C, bn_scale, bn_bias, bn_mean, bn_var)
}
)");
  SetRandomInitializer(model, "W", {3, 2, 3, 3}, 1);
  if (with_bias) SetRandomInitializer(model, "B", {3}, 2);
  SetBatchNorm(model, "bn", 3, 10);
  return model;
}

TEST(FoldBatchNormTest, ConvWithBiasBecomesOneConv) {
  const auto before = ConvBnModel(/*with_bias=*/true);
  auto after = before;
  PassContext context;
  const auto report = RunPassOk("fold_batch_norm", after, context);
  EXPECT_EQ(report.changes, 1);
  const auto counts = OpCounts(after);
  EXPECT_EQ(counts.count("BatchNormalization"), 0U);
  ASSERT_EQ(after.graph().node_size(), 1);
  const auto& conv = after.graph().node(0);
  EXPECT_EQ(conv.op_type(), "Conv");
  EXPECT_EQ(conv.output(0), "Y");
  ASSERT_EQ(conv.input_size(), 3);
  EXPECT_EQ(conv.input(1), "W");  // rewritten in place: nobody else reads it
  EXPECT_EQ(conv.input(2), "B");
  // Only the conv's weight and bias are left.
  EXPECT_EQ(after.graph().initializer_size(), 2);
  // The batch norm's gamma and beta are kept for absorb_high_bias.
  ASSERT_TRUE(context.batch_norm_stats.contains("Y"));
  EXPECT_EQ(context.batch_norm_stats["Y"].gamma, testing::InitializerValues(before, "bn_scale"));
  EXPECT_EQ(context.batch_norm_stats["Y"].beta, testing::InitializerValues(before, "bn_bias"));
  ExpectSameFunction(before, after, RandomSamples("X", {1, 2, 5, 5}, 3, 7));
}

TEST(FoldBatchNormTest, ConvWithoutBiasGetsOne) {
  const auto before = ConvBnModel(/*with_bias=*/false);
  auto after = before;
  EXPECT_EQ(RunPassOk("fold_batch_norm", after).changes, 1);
  ASSERT_EQ(after.graph().node_size(), 1);
  const auto& conv = after.graph().node(0);
  ASSERT_EQ(conv.input_size(), 3);
  EXPECT_EQ(testing::InitializerValues(after, conv.input(2)).size(), 3U);
  ExpectSameFunction(before, after, RandomSamples("X", {1, 2, 5, 5}, 3, 11));
}

onnx::ModelProto GemmBnModel(int trans_b) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,4] X) => (float[2,3] Y)
{
  G = Gemm <transB = )" + std::to_string(trans_b) +
                              R"(, alpha = 0.5, beta = 2.0> (X, W, B)
  Y = BatchNormalization (G, bn_scale, bn_bias, bn_mean, bn_var)
}
)");
  SetRandomInitializer(model, "W", trans_b != 0 ? std::vector<int64_t>{3, 4} : std::vector<int64_t>{4, 3}, 3);
  SetRandomInitializer(model, "B", {3}, 4);
  SetBatchNorm(model, "bn", 3, 20);
  return model;
}

TEST(FoldBatchNormTest, GemmBothTransB) {
  for (const int trans_b : {0, 1}) {
    SCOPED_TRACE("transB=" + std::to_string(trans_b));
    const auto before = GemmBnModel(trans_b);
    auto after = before;
    EXPECT_EQ(RunPassOk("fold_batch_norm", after).changes, 1);
    ASSERT_EQ(after.graph().node_size(), 1);
    const auto& gemm = after.graph().node(0);
    EXPECT_EQ(gemm.op_type(), "Gemm");
    for (const auto& attr : gemm.attribute()) {
      if (attr.name() == "beta") {
        EXPECT_EQ(attr.f(), 1.0F);
      }
    }
    ExpectSameFunction(before, after, RandomSamples("X", {2, 4}, 3, 13));
  }
}

TEST(FoldBatchNormTest, ConvTransposeGroupOneAndDepthwise) {
  for (const int group : {1, 3}) {
    SCOPED_TRACE("group=" + std::to_string(group));
    auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,4,4] X) => (float[1,3,9,9] Y)
{
  C = ConvTranspose <strides = [2, 2], group = )" +
                                 std::to_string(group) +
                                 R"(> (X, W, B)
  Y = BatchNormalization (C, bn_scale, bn_bias, bn_mean, bn_var)
}
)");
    SetRandomInitializer(before, "W", {3, group == 1 ? 3 : 1, 3, 3}, 5);
    SetRandomInitializer(before, "B", {3}, 6);
    SetBatchNorm(before, "bn", 3, 30);
    auto after = before;
    EXPECT_EQ(RunPassOk("fold_batch_norm", after).changes, 1);
    EXPECT_EQ(OpCounts(after).count("BatchNormalization"), 0U);
    ExpectSameFunction(before, after, RandomSamples("X", {1, 3, 4, 4}, 2, 17));
  }
}

TEST(FoldBatchNormTest, SharedWeightIsCopiedNotFoldedTwice) {
  // Two convs read W; each is followed by its own batch norm.
  auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,3,4,4] Y)
{
  A = Conv (X, W)
  An = BatchNormalization (A, a_scale, a_bias, a_mean, a_var)
  B = Conv (X, W)
  Bn = BatchNormalization (B, b_scale, b_bias, b_mean, b_var)
  Y = Add (An, Bn)
}
)");
  SetRandomInitializer(before, "W", {3, 2, 1, 1}, 8);
  SetBatchNorm(before, "a", 3, 40);
  SetBatchNorm(before, "b", 3, 50);
  auto after = before;
  EXPECT_EQ(RunPassOk("fold_batch_norm", after).changes, 2);
  const auto* a = FindNode(after, "Conv", 0);
  const auto* b = FindNode(after, "Conv", 1);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->input(1), b->input(1));
  ExpectSameFunction(before, after, RandomSamples("X", {1, 2, 4, 4}, 2, 19));
}

TEST(FoldBatchNormTest, SharedWeightWithUnfoldedReaderKeepsOriginal) {
  auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,3,4,4] Y)
{
  A = Conv (X, W)
  An = BatchNormalization (A, a_scale, a_bias, a_mean, a_var)
  B = Conv (X, W)
  Y = Add (An, B)
}
)");
  SetRandomInitializer(before, "W", {3, 2, 1, 1}, 9);
  SetBatchNorm(before, "a", 3, 60);
  auto after = before;
  EXPECT_EQ(RunPassOk("fold_batch_norm", after).changes, 1);
  EXPECT_EQ(FindNode(after, "Conv", 1)->input(1), "W");
  EXPECT_EQ(testing::InitializerValues(after, "W"), testing::InitializerValues(before, "W"));
  ExpectSameFunction(before, after, RandomSamples("X", {1, 2, 4, 4}, 2, 23));
}

TEST(FoldBatchNormTest, LayerOutputWithTwoReadersIsNotFolded) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,3,4,4] Y)
{
  C = Conv (X, W)
  N = BatchNormalization (C, bn_scale, bn_bias, bn_mean, bn_var)
  Y = Add (N, C)
}
)");
  SetRandomInitializer(model, "W", {3, 2, 1, 1}, 10);
  SetBatchNorm(model, "bn", 3, 70);
  const auto report = RunPassOk("fold_batch_norm", model);
  EXPECT_EQ(report.changes, 0);
  EXPECT_EQ(OpCounts(model).at("BatchNormalization"), 1);
  ASSERT_EQ(report.notes.size(), 1U);
  EXPECT_NE(report.notes[0].find("other readers"), std::string::npos) << report.notes[0];
}

TEST(FoldBatchNormTest, ParametersThroughIdentityAndChainedBatchNorms) {
  // Conv -> BN -> BN, the second one's bias an Identity of the first's: two sweeps fold both.
  auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,3,4,4] Y)
{
  tied = Identity (a_bias)
  C = Conv (X, W)
  N = BatchNormalization (C, a_scale, a_bias, a_mean, a_var)
  Y = BatchNormalization (N, b_scale, tied, b_mean, b_var)
}
)");
  SetRandomInitializer(before, "W", {3, 2, 1, 1}, 11);
  SetBatchNorm(before, "a", 3, 80);
  SetBatchNorm(before, "b", 3, 90);
  auto after = before;
  EXPECT_EQ(RunPassOk("fold_batch_norm", after).changes, 2);
  EXPECT_EQ(after.graph().node_size(), 1);  // the Identity went with the batch norms
  // Parameters read only by the folded batch norms are gone (b_bias was never read: it stays).
  for (const char* name : {"a_scale", "a_bias", "a_mean", "a_var", "b_scale", "b_mean", "b_var"}) {
    EXPECT_EQ(testing::FindInitializer(after, name), nullptr) << name;
  }
  ExpectSameFunction(before, after, RandomSamples("X", {1, 2, 4, 4}, 2, 29));
}

TEST(FoldBatchNormTest, StandaloneBatchNormStays) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,4,4] X) => (float[1,3,4,4] Y)
{
  Y = BatchNormalization (X, bn_scale, bn_bias, bn_mean, bn_var)
}
)");
  SetBatchNorm(model, "bn", 3, 100);
  EXPECT_EQ(RunPassOk("fold_batch_norm", model).changes, 0);
  EXPECT_EQ(OpCounts(model).at("BatchNormalization"), 1);
}

// A batch norm without an output (the checker refuses it, but passes run before the checker): the pass
// read its output 0 (found by the load_model_fuzzer).
TEST(FoldBatchNormTest, BatchNormWithoutOutputStays) {
  auto model = ConvBnModel(/*with_bias=*/true);
  model.mutable_graph()->mutable_node(1)->clear_output();
  EXPECT_EQ(RunPassOk("fold_batch_norm", model).changes, 0);
  EXPECT_EQ(OpCounts(model).at("BatchNormalization"), 1);
}

TEST(FoldBatchNormTest, MobileNetV2FoldsEveryBatchNorm) {
  const auto before = testing::LoadTestModel("mbv2_fmnist_bn.onnx");
  auto after = before;
  PassContext context;
  RunPassOk("constants_to_initializers", after, context);
  const auto report = RunPassOk("fold_batch_norm", after, context);
  EXPECT_EQ(report.changes, 31);
  EXPECT_EQ(OpCounts(after).count("BatchNormalization"), 0U);
  EXPECT_EQ(context.batch_norm_stats.size(), 31U);
  const std::string input = before.graph().input(0).name();
  ExpectSameFunction(before, after, testing::FmnistSamples(input, 4));
  ExpectSameFunction(before, after, RandomSamples(input, {1, 1, 28, 28}, 2, 31));
}

TEST(FoldBatchNormTest, ResNetWithIdentityBiasesFoldsEveryBatchNorm) {
  const auto before = testing::LoadTestModel("resnet_fmnist_bn.onnx");
  auto after = before;
  PassContext context;
  RunPassOk("eliminate_identity", after, context);
  EXPECT_EQ(RunPassOk("fold_batch_norm", after, context).changes, 9);
  const auto counts = OpCounts(after);
  EXPECT_EQ(counts.count("BatchNormalization"), 0U);
  EXPECT_EQ(counts.count("Identity"), 0U);
  const std::string input = before.graph().input(0).name();
  ExpectSameFunction(before, after, testing::FmnistSamples(input, 4));
}

// Every fold of a sweep is applied at its end, in one removal: many layers sharing one weight and
// one set of batch-norm parameters each get a folded weight of their own, and the graph computes the
// same (a rebuild per fold made this quadratic: ten thousand folds took minutes).
TEST(FoldBatchNormTest, ManyFoldsSharingTheirParametersInOneSweep) {
  constexpr int kLayers = 300;
  onnx::ModelProto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 2, 3, 3] X) => (float[1, 2, 3, 3] Y)
<float[2, 2, 1, 1] w = {0.9, 0.1, -0.2, 1.1}, float[2] s = {1.05, 0.95}, float[2] b = {0.01, -0.02},
 float[2] m = {0.02, -0.01}, float[2] v = {1.1, 0.9}>
{
  Y = Identity (X)
}
)");
  auto* graph = before.mutable_graph();
  graph->clear_node();
  std::string previous = "X";
  for (int i = 0; i < kLayers; ++i) {
    auto* conv = graph->add_node();
    conv->set_op_type("Conv");
    conv->add_input(previous);
    conv->add_input("w");
    conv->add_output("c" + std::to_string(i));
    auto* bn = graph->add_node();
    bn->set_op_type("BatchNormalization");
    for (const char* in : {"", "s", "b", "m", "v"}) bn->add_input(in);
    bn->set_input(0, "c" + std::to_string(i));
    previous = i + 1 == kLayers ? "Y" : "n" + std::to_string(i);
    bn->add_output(previous);
  }
  auto after = before;
  EXPECT_EQ(RunPassOk("fold_batch_norm", after).changes, kLayers);
  const auto counts = OpCounts(after);
  EXPECT_EQ(counts.at("Conv"), kLayers);
  EXPECT_FALSE(counts.contains("BatchNormalization"));
  // Each Conv reads a weight and a bias of its own; the shared originals are gone.
  std::set<std::string> weights;
  for (const auto& node : after.graph().node()) weights.insert(node.input(1));
  EXPECT_EQ(weights.size(), static_cast<size_t>(kLayers));
  EXPECT_EQ(after.graph().initializer_size(), 2 * kLayers);
  ExpectSameFunction(before, after, RandomSamples("X", {1, 2, 3, 3}, 2, 7));
}

}  // namespace
}  // namespace onnxq
