// absorb_high_bias: how much bias moves, where it goes, and that the function stays the same where the
// activation never cuts (pre-activations above c).
#include <gtest/gtest.h>

#include <cmath>

#include "pass_test_util.h"
#include "passes/absorb_high_bias.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ExpectSameFunction;
using testing::FindNode;
using testing::InitializerValues;
using testing::ParseModelText;
using testing::RandomSamples;
using testing::RunPassOk;
using testing::SetInitializer;
using testing::SetRandomInitializer;

// Conv -> BN -> [Relu] -> Conv(1x1 or 3x3 padded). The batch norm has large beta against gamma in
// channels 0 and 2: c = max(0, beta - 3 |gamma|) = {3.5, 0, 1.7, 0}.
onnx::ModelProto Model(bool relu, bool padded_tail) {
  auto model = ParseModelText(
      std::string(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,5,5] X) => (float[1,3,5,5] Y)
{
  H = Conv (X, W1, B1)
  N = BatchNormalization (H, s, b, m, v)
)") + (relu ? "  A = Relu (N)\n" : "  A = Identity (N)\n") +
      (padded_tail ? "  Y = Conv <pads = [1, 1, 1, 1]> (A, W2, B2)\n" : "  Y = Conv (A, W2, B2)\n") + "}\n");
  SetRandomInitializer(model, "W1", {4, 2, 1, 1}, 1, -0.1F, 0.1F);
  SetRandomInitializer(model, "B1", {4}, 2, -0.1F, 0.1F);
  SetInitializer(model, "s", {4}, {0.5F, 1.0F, 0.1F, -0.2F});
  SetInitializer(model, "b", {4}, {5.0F, 1.0F, 2.0F, -1.0F});
  SetInitializer(model, "m", {4}, {0.0F, 0.0F, 0.0F, 0.0F});
  SetInitializer(model, "v", {4}, {1.0F, 1.0F, 1.0F, 1.0F});
  SetRandomInitializer(model, "W2", {3, 4, padded_tail ? 3 : 1, padded_tail ? 3 : 1}, 3);
  SetRandomInitializer(model, "B2", {3}, 4);
  return model;
}

// fold_batch_norm, then absorb_high_bias in the same context (the Identity is removed first).
PassReport FoldAndAbsorb(onnx::ModelProto& model, const AbsorbHighBiasOptions& options = {}) {
  PassContext context;
  RunPassOk("eliminate_identity", model, context);
  RunPassOk("fold_batch_norm", model, context);
  auto report = AbsorbHighBiasPass(options).Run(model, context);
  EXPECT_TRUE(report.ok()) << report.status().message();
  return report.ok() ? *report : PassReport{};
}

// Inputs small enough that every pre-activation stays near beta, above c.
std::vector<Feeds> SmallInputs() {
  std::vector<Feeds> feeds;
  for (uint32_t seed = 0; seed < 3; ++seed)
    feeds.push_back({testing::RandomTensor("X", {1, 2, 5, 5}, seed, -0.5F, 0.5F)});
  return feeds;
}

TEST(AbsorbHighBiasTest, ReluBetweenMovesBetaMinusThreeGamma) {
  const auto before = Model(/*relu=*/true, /*padded_tail=*/false);
  auto folded = before;
  PassContext context;
  RunPassOk("fold_batch_norm", folded, context);
  auto after = folded;
  const auto report = AbsorbHighBiasPass().Run(after, context);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->changes, 1);
  const auto* head = FindNode(after, "Conv", 0);
  const auto* tail = FindNode(after, "Conv", 1);
  const std::vector<float> c = {3.5F, 0.0F, 1.7F, 0.0F};
  const auto head_before = InitializerValues(folded, head->input(2));
  const auto head_after = InitializerValues(after, head->input(2));
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(head_after[i], head_before[i] - c[i], 1e-5F) << i;
  // Tail bias gains W2 c (1x1 kernel: the spatial sum is the weight itself).
  const auto w2 = InitializerValues(after, "W2");
  const auto b2 = InitializerValues(after, tail->input(2));
  const auto b2_before = InitializerValues(before, "B2");
  for (size_t o = 0; o < 3; ++o) {
    float shift = 0;
    for (size_t i = 0; i < 4; ++i) shift += w2[o * 4 + i] * c[i];
    EXPECT_NEAR(b2[o], b2_before[o] + shift, 1e-4F) << o;
  }
  EXPECT_NEAR(context.batch_norm_stats["N"].beta[0], 1.5F, 1e-5F);  // beta - c
  ExpectSameFunction(before, after, SmallInputs());
}

TEST(AbsorbHighBiasTest, NoActivationMovesAllOfBetaExactly) {
  const auto before = Model(/*relu=*/false, /*padded_tail=*/false);
  auto after = before;
  EXPECT_EQ(FoldAndAbsorb(after).changes, 1);
  // Exact for any input, not only small ones.
  ExpectSameFunction(before, after, RandomSamples("X", {1, 2, 5, 5}, 3, 9));
  const auto* head = FindNode(after, "Conv", 0);
  // Folded head bias = beta + (b1 - mean) gamma / sigma; minus beta leaves (b1 - mean) gamma / sigma.
  const auto head_bias = InitializerValues(after, head->input(2));
  const auto b1 = InitializerValues(before, "B1");
  const std::vector<float> gamma = {0.5F, 1.0F, 0.1F, -0.2F};
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(head_bias[i], b1[i] * gamma[i] / std::sqrt(1.0F + 1e-5F), 1e-5F) << i;
}

TEST(AbsorbHighBiasTest, PaddedTailOnlyOnRequest) {
  const auto before = Model(/*relu=*/true, /*padded_tail=*/true);
  auto kept = before;
  const auto report = FoldAndAbsorb(kept);
  EXPECT_EQ(report.changes, 0);
  ASSERT_EQ(report.notes.size(), 1U);
  EXPECT_NE(report.notes[0].find("pads its input"), std::string::npos) << report.notes[0];

  auto absorbed = before;
  EXPECT_EQ(FoldAndAbsorb(absorbed, {.through_padding = true}).changes, 1);
  // The border sees 0 instead of -c, so only the interior keeps its values.
  const auto feeds = SmallInputs();
  const auto expected = testing::RunFirstOutput(before, feeds[0]);
  const auto actual = testing::RunFirstOutput(absorbed, feeds[0]);
  ASSERT_EQ(expected.size(), 75U);
  for (int o = 0; o < 3; ++o) {
    const size_t centre = static_cast<size_t>(o * 25 + 2 * 5 + 2);
    EXPECT_NEAR(actual[centre], expected[centre], 1e-4F * std::fabs(expected[centre]) + 1e-5F);
  }
  EXPECT_GT(testing::MaxRelativeDifference(expected, actual), 1e-3);
}

TEST(AbsorbHighBiasTest, NothingWithoutFoldedBatchNorms) {
  auto model = testing::LoadTestModel("mbv2_fmnist_imbalanced.onnx");
  const auto report = RunPassOk("absorb_high_bias", model);
  EXPECT_EQ(report.changes, 0);
  ASSERT_FALSE(report.notes.empty());
  EXPECT_NE(report.notes[0].find("no folded batch-norm statistics"), std::string::npos) << report.notes[0];
}

TEST(AbsorbHighBiasTest, AfterEqualizationUsesRescaledStatistics) {
  const auto before = Model(/*relu=*/true, /*padded_tail=*/false);
  auto after = before;
  PassContext context;
  for (const char* id : {"eliminate_identity", "fold_batch_norm", "equalize_cross_layer", "absorb_high_bias"}) {
    RunPassOk(id, after, context);
  }
  ExpectSameFunction(before, after, SmallInputs());
}

TEST(AbsorbHighBiasTest, MobileNetV2KeepsItsFunction) {
  // The trained batch norms have no beta above 3 |gamma|: nothing moves, nothing breaks.
  auto before = testing::LoadTestModel("mbv2_fmnist_bn.onnx");
  PassContext context;
  for (const char* id :
       {"constants_to_initializers", "fold_batch_norm", "replace_clip6_with_relu", "equalize_cross_layer"}) {
    RunPassOk(id, before, context);
  }
  auto after = before;
  EXPECT_GT(RunPassOk("absorb_high_bias", after, context).changes, 0);
  ExpectSameFunction(before, after, testing::FmnistSamples(before.graph().input(0).name(), 4));
}

}  // namespace
}  // namespace onnxq
