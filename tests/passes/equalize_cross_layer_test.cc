// equalize_cross_layer: which layers get equalized, that their ranges come out equal, and that the
// function stays the same (to 1e-4 relative) on random and real inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "algorithms/batch_norm_fold.h"
#include "pass_test_util.h"
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

std::vector<int64_t> DimsOf(const onnx::ModelProto& model, const std::string& name) {
  const auto* init = testing::FindInitializer(model, name);
  return init == nullptr ? std::vector<int64_t>{} : std::vector<int64_t>(init->dims().begin(), init->dims().end());
}

std::vector<float> Ranges(const onnx::ModelProto& model, const std::string& name, int axis) {
  return AbsMaxAlongAxis(InitializerValues(model, name), DimsOf(model, name), axis);
}

void ExpectNear(const std::vector<float>& a, const std::vector<float>& b, float relative) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], relative * std::max(std::fabs(a[i]), 1e-6F)) << i;
}

// Weights with very different per-channel ranges: channel c of W1 is scaled by 4^c.
void SetImbalanced(onnx::ModelProto& model, const std::string& name, const std::vector<int64_t>& dims, int axis,
                   uint32_t seed) {
  const Tensor t = testing::RandomTensor(name, dims, seed);
  std::vector<float> values(t.floats().begin(), t.floats().end());
  std::vector<float> factor(static_cast<size_t>(dims[static_cast<size_t>(axis)]));
  for (size_t c = 0; c < factor.size(); ++c) factor[c] = std::pow(4.0F, static_cast<float>(c));
  ASSERT_TRUE(ScaleAlongAxis(values, dims, axis, factor).ok());
  SetInitializer(model, name, dims, values);
}

PassOptions NoBiasInRange() {
  PassOptions options;
  options.cle.scale_append_bias = false;
  options.cle.use_small_range_threshold = false;
  return options;
}

onnx::ModelProto ConvPairModel(const std::string& between) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,6,6] X) => (float[1,3,6,6] Y)
<float[1] slope = {0.25}, int64[8] pads = {0, 0, 1, 1, 0, 0, 1, 1}>
{
  H = Conv <pads = [1, 1, 1, 1]> (X, W1, B1)
  A = )" + between + R"(
  Y = Conv (A, W2, B2)
}
)");
  SetImbalanced(model, "W1", {4, 2, 3, 3}, 0, 1);
  SetRandomInitializer(model, "B1", {4}, 2);
  SetRandomInitializer(model, "W2", {3, 4, 1, 1}, 3);
  SetRandomInitializer(model, "B2", {3}, 4);
  return model;
}

TEST(EqualizeCrossLayerTest, ConvReluConvRangesBecomeEqual) {
  const auto before = ConvPairModel("Relu (H)");
  auto after = before;
  const auto report = RunPassOk("equalize_cross_layer", after, NoBiasInRange());
  EXPECT_EQ(report.changes, 1);
  ASSERT_FALSE(report.notes.empty());
  EXPECT_NE(report.notes[0].find("1 pairs"), std::string::npos) << report.notes[0];
  // Both ranges become sqrt(r1 * r2) per channel.
  const auto r1 = Ranges(before, "W1", 0);
  const auto r2 = Ranges(before, "W2", 1);
  std::vector<float> expected(r1.size());
  for (size_t i = 0; i < r1.size(); ++i) expected[i] = std::sqrt(r1[i] * r2[i]);
  ExpectNear(Ranges(after, "W1", 0), expected, 1e-5F);
  ExpectNear(Ranges(after, "W2", 1), expected, 1e-5F);
  EXPECT_NE(InitializerValues(after, "B1"), InitializerValues(before, "B1"));  // the head bias moves with W1
  EXPECT_EQ(InitializerValues(after, "B2"), InitializerValues(before, "B2"));
  ExpectSameFunction(before, after, RandomSamples("X", {1, 2, 6, 6}, 3, 10));
}

TEST(EqualizeCrossLayerTest, SmallRangeThresholdLeavesNearDeadChannels) {
  // Channel 0 of the head and of the tail is tiny (r_head + r_tail < 0.5): only scaled without the
  // threshold (CLEScaleUseThreshold / CLEWeightThreshold).
  auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,2,4,4] Y)
{
  H = Conv (X, W1)
  A = Relu (H)
  Y = Conv (A, W2)
}
)");
  SetInitializer(before, "W1", {2, 2, 1, 1}, {0.01F, -0.02F, 4.0F, 1.0F});
  SetInitializer(before, "W2", {2, 2, 1, 1}, {0.1F, 0.25F, -0.2F, 0.5F});
  for (const bool threshold : {true, false}) {
    SCOPED_TRACE(threshold ? "threshold" : "no threshold");
    PassOptions options;
    options.cle.use_small_range_threshold = threshold;
    auto after = before;
    RunPassOk("equalize_cross_layer", after, options);
    const auto w1 = InitializerValues(after, "W1");
    if (threshold) {
      EXPECT_FLOAT_EQ(w1[0], 0.01F);
    } else {
      EXPECT_NE(w1[0], 0.01F);
    }
    EXPECT_NE(w1[2], 4.0F);  // channel 1 (4 + 0.5 >= 0.5) is equalized either way
    ExpectSameFunction(before, after, RandomSamples("X", {1, 2, 4, 4}, 2, 15));
  }
}

TEST(EqualizeCrossLayerTest, PositivelyHomogeneousLinks) {
  for (const std::string between : {"LeakyRelu <alpha = 0.1> (H)", "PRelu (H, slope)", "Pad (H, pads)"}) {
    SCOPED_TRACE(between);
    const auto before = ConvPairModel(between);
    auto after = before;
    EXPECT_EQ(RunPassOk("equalize_cross_layer", after).changes, 1);
    EXPECT_NE(InitializerValues(after, "W1"), InitializerValues(before, "W1"));
    const std::vector<int64_t> shape = {1, 2, 6, 6};
    ExpectSameFunction(before, after, RandomSamples("X", shape, 3, 20));
  }
}

TEST(EqualizeCrossLayerTest, NonHomogeneousLinksAreNotCrossed) {
  for (const std::string between : {"Sigmoid (H)", "Pad <mode = \"reflect\"> (H, pads)"}) {
    SCOPED_TRACE(between);
    auto model = ConvPairModel(between);
    const auto w1 = InitializerValues(model, "W1");
    EXPECT_EQ(RunPassOk("equalize_cross_layer", model).changes, 0);
    EXPECT_EQ(InitializerValues(model, "W1"), w1);
  }
}

TEST(EqualizeCrossLayerTest, HeadWithTwoReadersIsNotEqualized) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,6,6] X) => (float[1,4,6,6] Y)
{
  H = Conv (X, W1, B1)
  A = Relu (H)
  T = Conv (A, W2, B2)
  Y = Add (T, A)
}
)");
  SetImbalanced(model, "W1", {4, 2, 1, 1}, 0, 1);
  SetRandomInitializer(model, "B1", {4}, 2);
  SetRandomInitializer(model, "W2", {4, 4, 1, 1}, 3);
  SetRandomInitializer(model, "B2", {4}, 4);
  const auto w1 = InitializerValues(model, "W1");
  EXPECT_EQ(RunPassOk("equalize_cross_layer", model).changes, 0);
  EXPECT_EQ(InitializerValues(model, "W1"), w1);
}

TEST(EqualizeCrossLayerTest, GroupedConvIsSkipped) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,6,6] X) => (float[1,4,6,6] Y)
{
  H = Conv <group = 2> (X, W1, B1)
  A = Relu (H)
  Y = Conv (A, W2, B2)
}
)");
  SetImbalanced(model, "W1", {4, 2, 1, 1}, 0, 1);
  SetRandomInitializer(model, "B1", {4}, 2);
  SetRandomInitializer(model, "W2", {4, 4, 1, 1}, 3);
  SetRandomInitializer(model, "B2", {4}, 4);
  const auto w1 = InitializerValues(model, "W1");
  const auto report = RunPassOk("equalize_cross_layer", model);
  EXPECT_EQ(report.changes, 0);
  EXPECT_EQ(InitializerValues(model, "W1"), w1);
  ASSERT_EQ(report.notes.size(), 2U);
  EXPECT_NE(report.notes[0].find("no Conv / Gemm pair"), std::string::npos) << report.notes[0];
  EXPECT_NE(report.notes[1].find("grouped convolution"), std::string::npos) << report.notes[1];
}

TEST(EqualizeCrossLayerTest, SharedWeightIsNotRescaled) {
  // W1 heads two pairs; rescaling it for one would change the other.
  const auto before = [] {
    auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,6,6] X) => (float[1,3,6,6] Y)
{
  H1 = Conv (X, W1)
  A1 = Relu (H1)
  T1 = Conv (A1, W2)
  H2 = Conv (X, W1)
  A2 = Relu (H2)
  T2 = Conv (A2, W3)
  Y = Add (T1, T2)
}
)");
    SetImbalanced(model, "W1", {4, 2, 1, 1}, 0, 1);
    SetRandomInitializer(model, "W2", {3, 4, 1, 1}, 2);
    SetRandomInitializer(model, "W3", {3, 4, 1, 1}, 3);
    return model;
  }();
  auto after = before;
  const auto report = RunPassOk("equalize_cross_layer", after);
  EXPECT_EQ(report.changes, 0);
  EXPECT_EQ(InitializerValues(after, "W1"), InitializerValues(before, "W1"));
  EXPECT_EQ(InitializerValues(after, "W2"), InitializerValues(before, "W2"));
  ExpectSameFunction(before, after, RandomSamples("X", {1, 2, 6, 6}, 2, 30));
}

TEST(EqualizeCrossLayerTest, DepthwiseTripletAllRangesEqual) {
  const auto before = [] {
    auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3,6,6] X) => (float[1,5,6,6] Y)
{
  E = Conv (X, We, Be)
  Ea = Relu (E)
  D = Conv <group = 4, pads = [1, 1, 1, 1]> (Ea, Wd, Bd)
  Da = Relu (D)
  Y = Conv (Da, Wp, Bp)
}
)");
    SetImbalanced(model, "We", {4, 3, 1, 1}, 0, 1);
    SetRandomInitializer(model, "Be", {4}, 2);
    SetImbalanced(model, "Wd", {4, 1, 3, 3}, 0, 3);
    SetRandomInitializer(model, "Bd", {4}, 4);
    SetRandomInitializer(model, "Wp", {5, 4, 1, 1}, 5);
    SetRandomInitializer(model, "Bp", {5}, 6);
    return model;
  }();
  auto after = before;
  const auto report = RunPassOk("equalize_cross_layer", after);
  EXPECT_EQ(report.changes, 1);
  EXPECT_NE(report.notes[0].find("1 depthwise triplets"), std::string::npos) << report.notes[0];
  const auto m0 = Ranges(before, "We", 0);
  const auto m1 = Ranges(before, "Wd", 0);
  const auto m2 = Ranges(before, "Wp", 1);
  std::vector<float> c(m0.size());
  for (size_t i = 0; i < c.size(); ++i) c[i] = std::cbrt(m0[i] * m1[i] * m2[i]);
  ExpectNear(Ranges(after, "We", 0), c, 1e-5F);
  ExpectNear(Ranges(after, "Wd", 0), c, 1e-5F);
  ExpectNear(Ranges(after, "Wp", 1), c, 1e-5F);
  ExpectSameFunction(before, after, RandomSamples("X", {1, 3, 6, 6}, 3, 40));
}

onnx::ModelProto GemmPairModel(int head_trans_b, int tail_trans_b) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,2] Y)
{
  H = Gemm <transB = )" + std::to_string(head_trans_b) +
                              R"(> (X, W1, B1)
  A = Relu (H)
  Y = Gemm <transB = )" + std::to_string(tail_trans_b) +
                              R"(> (A, W2, B2)
}
)");
  // Head output channels: axis 1 of [3, 4] (transB 0) or axis 0 of [4, 3] (transB 1).
  if (head_trans_b != 0) {
    SetImbalanced(model, "W1", {4, 3}, 0, 1);
  } else {
    SetImbalanced(model, "W1", {3, 4}, 1, 1);
  }
  SetRandomInitializer(model, "B1", {4}, 2);
  SetRandomInitializer(model, "W2", tail_trans_b != 0 ? std::vector<int64_t>{2, 4} : std::vector<int64_t>{4, 2}, 3);
  SetRandomInitializer(model, "B2", {2}, 4);
  return model;
}

TEST(EqualizeCrossLayerTest, GemmPairsTransBBothWays) {
  for (const int head : {0, 1}) {
    for (const int tail : {0, 1}) {
      SCOPED_TRACE("head transB " + std::to_string(head) + ", tail transB " + std::to_string(tail));
      const auto before = GemmPairModel(head, tail);
      auto after = before;
      EXPECT_EQ(RunPassOk("equalize_cross_layer", after, NoBiasInRange()).changes, 1);
      ExpectNear(Ranges(after, "W1", head != 0 ? 0 : 1), Ranges(after, "W2", tail != 0 ? 1 : 0), 1e-5F);
      ExpectSameFunction(before, after, RandomSamples("X", {2, 3}, 3, 50));
    }
  }
}

TEST(EqualizeCrossLayerTest, StepsAndAdaptiveConvergence) {
  // Chain Conv -> Relu -> Conv -> Relu -> Conv: two pairs that share the middle layer, so one step does
  // not balance both and further steps change the weights less and less.
  const auto before = [] {
    auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,5,5] X) => (float[1,2,5,5] Y)
{
  A = Conv (X, W1, B1)
  Ar = Relu (A)
  B = Conv (Ar, W2, B2)
  Br = Relu (B)
  Y = Conv (Br, W3, B3)
}
)");
    SetImbalanced(model, "W1", {4, 2, 1, 1}, 0, 1);
    SetRandomInitializer(model, "B1", {4}, 2);
    SetImbalanced(model, "W2", {4, 4, 1, 1}, 0, 3);
    SetRandomInitializer(model, "B2", {4}, 4);
    SetRandomInitializer(model, "W3", {2, 4, 1, 1}, 5);
    SetRandomInitializer(model, "B3", {2}, 6);
    return model;
  }();
  PassOptions three;
  three.cle.steps = 3;
  auto stepped = before;
  const auto report3 = RunPassOk("equalize_cross_layer", stepped, three);
  EXPECT_NE(report3.notes[0].find("in 3 steps (step limit"), std::string::npos) << report3.notes[0];
  ExpectSameFunction(before, stepped, RandomSamples("X", {1, 2, 5, 5}, 2, 60));

  PassOptions adaptive;
  adaptive.cle.steps = -1;
  auto converged = before;
  const auto report = RunPassOk("equalize_cross_layer", converged, adaptive);
  EXPECT_NE(report.notes[0].find("converged"), std::string::npos) << report.notes[0];
  ExpectSameFunction(before, converged, RandomSamples("X", {1, 2, 5, 5}, 2, 70));
  // Converged: one more step changes nothing measurable.
  auto again = converged;
  PassOptions one;
  RunPassOk("equalize_cross_layer", again, one);
  ExpectNear(InitializerValues(again, "W2"), InitializerValues(converged, "W2"), 1e-3F);

  PassOptions none;
  none.cle.steps = 0;
  auto untouched = before;
  EXPECT_EQ(RunPassOk("equalize_cross_layer", untouched, none).changes, 0);
  EXPECT_EQ(InitializerValues(untouched, "W1"), InitializerValues(before, "W1"));
}

TEST(EqualizeCrossLayerTest, FoldedBatchNormStatsFollowTheHead) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,6,6] X) => (float[1,3,6,6] Y)
{
  H = Conv (X, W1, B1)
  N = BatchNormalization (H, s, b, m, v)
  A = Relu (N)
  Y = Conv (A, W2, B2)
}
)");
  SetImbalanced(model, "W1", {4, 2, 1, 1}, 0, 1);
  SetRandomInitializer(model, "B1", {4}, 2);
  SetRandomInitializer(model, "s", {4}, 3, 0.5F, 1.5F);
  SetRandomInitializer(model, "b", {4}, 4);
  SetRandomInitializer(model, "m", {4}, 5);
  SetRandomInitializer(model, "v", {4}, 6, 0.5F, 1.5F);
  SetRandomInitializer(model, "W2", {3, 4, 1, 1}, 7);
  SetRandomInitializer(model, "B2", {3}, 8);
  PassContext context;
  RunPassOk("fold_batch_norm", model, context);
  ASSERT_TRUE(context.batch_norm_stats.contains("N"));
  const BatchNormStats folded = context.batch_norm_stats["N"];
  const auto* head = FindNode(model, "Conv", 0);
  const auto w1 = InitializerValues(model, head->input(1));
  RunPassOk("equalize_cross_layer", model, context);
  // The head's output channel i was multiplied by s_i = W1'[i] / W1[i]: gamma and beta follow.
  const auto w1_after = InitializerValues(model, head->input(1));
  const size_t per_channel = w1.size() / 4;
  for (size_t i = 0; i < 4; ++i) {
    const float s = w1_after[i * per_channel] / w1[i * per_channel];
    EXPECT_NEAR(context.batch_norm_stats["N"].gamma[i], folded.gamma[i] * s, 1e-5F * std::fabs(folded.gamma[i] * s));
    EXPECT_NEAR(context.batch_norm_stats["N"].beta[i], folded.beta[i] * s,
                1e-5F * std::fabs(folded.beta[i] * s) + 1e-7F);
  }
}

TEST(EqualizeCrossLayerTest, ImbalancedMobileNetV2KeepsItsFunction) {
  const auto before = testing::LoadTestModel("mbv2_fmnist_imbalanced.onnx");
  const std::string input = before.graph().input(0).name();
  for (const int steps : {1, -1}) {
    SCOPED_TRACE("CLESteps " + std::to_string(steps));
    auto after = before;
    PassOptions options;
    options.cle.steps = steps;
    const auto report = RunPassOk("equalize_cross_layer", after, options);
    EXPECT_EQ(report.changes, 10);  // 9 inverted-residual triplets + the first block's depthwise pair
    ExpectSameFunction(before, after, testing::FmnistSamples(input, 4));
    ExpectSameFunction(before, after, RandomSamples(input, {1, 1, 28, 28}, 2, 80));
  }
}

TEST(EqualizeCrossLayerTest, MobileNetV2WithBatchNormsAfterFoldingAndRelu) {
  auto before = testing::LoadTestModel("mbv2_fmnist_bn.onnx");
  PassContext context;
  for (const char* id : {"constants_to_initializers", "fold_batch_norm", "replace_clip6_with_relu"}) {
    RunPassOk(id, before, context);
  }
  auto after = before;
  EXPECT_EQ(RunPassOk("equalize_cross_layer", after, context).changes, 10);
  const std::string input = before.graph().input(0).name();
  ExpectSameFunction(before, after, testing::FmnistSamples(input, 4));
  ExpectSameFunction(before, after, RandomSamples(input, {1, 1, 28, 28}, 2, 90));
}

}  // namespace
}  // namespace onnxq
