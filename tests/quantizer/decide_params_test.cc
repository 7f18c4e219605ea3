// DecideParams on plans built by hand, not by MarkNodes: scales and zero points worked out from the
// ranges, per-tensor and per-channel weights, int32 bias scales, a Relu folded into its producer or
// lending its grid to its input, shared parameters along a chain, and the marks that stay float with
// their reasons.
#include "quantizer/decide_params.h"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <string>
#include <vector>

#include "quantizer/conv_relu.h"
#include "testing/model_text.h"

namespace onnxq {
namespace {

using testing::ConvReluModel;
using testing::ParseModelText;

constexpr float kInf = std::numeric_limits<float>::infinity();

// What the Conv and Relu quantizers mark: the Conv's input, weight (per channel along axis 0), int32
// bias and output; the Relu's input and output, foldable into the Conv's output range.
QuantPlan ConvReluPlan() {
  QuantPlan plan;
  plan.marks.push_back({.node = 0,
                        .intents = {{.tensor = "X"},
                                    {.tensor = "W", .role = TensorRole::kWeight, .channel_axis = 0},
                                    {.tensor = "B", .role = TensorRole::kBias, .bias_input = "X", .bias_weight = "W"},
                                    {.tensor = "C"}}});
  plan.marks.push_back({.node = 1,
                        .intents = {{.tensor = "C"}, {.tensor = "Y"}},
                        .foldable_activation = true,
                        .fold_producer = 0,
                        .clip_min = 0.0F,
                        .clip_max = kInf});
  return plan;
}

// X in [-1, 3]; the Relu's output in [0, 2]. C, the Relu's input, is not calibrated (TensorsToCalibrate
// leaves out the inputs of foldable activations).
const std::map<std::string, TensorRange> kRanges = {{"X", {.rmin = -1.0F, .rmax = 3.0F}},
                                                    {"Y", {.rmin = 0.0F, .rmax = 2.0F}}};

void ExpectParams(const TensorQuant& q, TensorRole role, QuantType type, int axis,
                  const std::vector<QuantParams>& params) {
  EXPECT_EQ(q.role, role);
  EXPECT_EQ(q.type, type);
  EXPECT_EQ(q.axis, axis);
  ASSERT_EQ(q.params.size(), params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_FLOAT_EQ(q.params[i].scale, params[i].scale) << i;
    EXPECT_EQ(q.params[i].zero_point, params[i].zero_point) << i;
  }
}

TEST(DecideParamsTest, PerTensorParamsWorkedOutFromTheRangesAndTheReluFolds) {
  auto model = ConvReluModel();
  GraphView graph(model.mutable_graph());
  QuantPlan plan = ConvReluPlan();
  ASSERT_TRUE(DecideParams(graph, kRanges, {}, &plan).ok());

  // X as uint8: scale 4/255, zero point round(0 - (-1) / (4/255)) = round(63.75) = 64.
  ExpectParams(plan.tensors.at("X"), TensorRole::kActivation, QuantType::kUInt8, -1, {{4.0F / 255.0F, 64}});
  EXPECT_EQ(plan.tensors.at("X").range.qmin, 0);
  EXPECT_EQ(plan.tensors.at("X").range.qmax, 255);
  // The grid of Y, [0, 2] as uint8 (scale 2/255, zero point 0), clips at 0 as the Relu does: the Relu
  // goes, and the Conv writes Y.
  ExpectParams(plan.tensors.at("Y"), TensorRole::kActivation, QuantType::kUInt8, -1, {{2.0F / 255.0F, 0}});
  EXPECT_EQ(plan.removed_nodes, (std::set<int>{1}));
  EXPECT_EQ(plan.renamed_outputs, (std::map<std::string, std::string>{{"C", "Y"}}));
  ASSERT_EQ(plan.marks.size(), 1U);
  EXPECT_EQ(plan.marks[0].intents.back().tensor, "Y");
  EXPECT_FALSE(plan.tensors.contains("C"));
  // W as int8, symmetric, per tensor: max |w| = 0.5, scale 0.5/127, zero point 0, range [-127, 127].
  ExpectParams(plan.tensors.at("W"), TensorRole::kWeight, QuantType::kInt8, -1, {{0.5F / 127.0F, 0}});
  EXPECT_EQ(plan.tensors.at("W").range.qmin, -127);
  // B as int32 with scale = X scale x W scale.
  ExpectParams(plan.tensors.at("B"), TensorRole::kBias, QuantType::kInt32, -1,
               {{(4.0F / 255.0F) * (0.5F / 127.0F), 0}});
  EXPECT_TRUE(plan.left_float.empty());
}

TEST(DecideParamsTest, PerChannelWeightsAndBiasesHaveAScalePerOutputChannel) {
  auto model = ConvReluModel();
  GraphView graph(model.mutable_graph());
  QuantPlan plan = ConvReluPlan();
  QuantizeOptions options;
  options.per_channel = true;
  ASSERT_TRUE(DecideParams(graph, kRanges, options, &plan).ok());
  // Output channels {0.5, -0.25}, {0.1, 0.2}, {-0.3, 0.05}: max |w| 0.5, 0.2, 0.3.
  ExpectParams(plan.tensors.at("W"), TensorRole::kWeight, QuantType::kInt8, 0,
               {{0.5F / 127.0F, 0}, {0.2F / 127.0F, 0}, {0.3F / 127.0F, 0}});
  const float x_scale = 4.0F / 255.0F;
  ExpectParams(plan.tensors.at("B"), TensorRole::kBias, QuantType::kInt32, 0,
               {{x_scale * (0.5F / 127.0F), 0}, {x_scale * (0.2F / 127.0F), 0}, {x_scale * (0.3F / 127.0F), 0}});
}

TEST(DecideParamsTest, AWeightInRawDataGetsTheParamsOfItsFloatValues) {
  // W [3, 5] in raw data (as large weights are stored), read from its bytes: the same parameters as
  // QuantizeWeightParams on its float values, per tensor and per channel along axis 1, symmetric or
  // not, with NaN and infinities where they change the range (NaN skipped, an infinity skipped per
  // tensor and counted per channel).
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2, 3] X) => (float[2, 5] Y)
<float[3, 5] W = {0.5, -0.25, 0.1, 2, -3, 0.75, 0.3, -0.6, 0.2, 0.05, -1, 0.4, 0.9, -0.1, 0.125}>
{
  Y = MatMul (X, W)
}
)");
  std::vector<float> values = {0.5F, -0.25F, 0.1F, 2,    -3,   0.75F, 0.3F,  -0.6F,
                               0.2F, 0.05F,  -1,   0.4F, 0.9F, -0.1F, 0.125F};
  values[2] = std::numeric_limits<float>::quiet_NaN();
  values[8] = kInf;
  auto* w = model.mutable_graph()->mutable_initializer(0);
  w->clear_float_data();
  w->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  GraphView graph(model.mutable_graph());
  const std::map<std::string, TensorRange> ranges = {{"X", {.rmin = -1.0F, .rmax = 1.0F}},
                                                     {"Y", {.rmin = -2.0F, .rmax = 2.0F}}};
  const std::vector<int64_t> dims = {3, 5};
  for (const bool per_channel : {false, true}) {
    for (const bool symmetric : {true, false}) {
      QuantPlan plan;
      plan.marks.push_back(
          {.node = 0,
           .intents = {
               {.tensor = "X"}, {.tensor = "W", .role = TensorRole::kWeight, .channel_axis = 1}, {.tensor = "Y"}}});
      QuantizeOptions options;
      options.per_channel = per_channel;
      options.weight_symmetric = symmetric;
      ASSERT_TRUE(DecideParams(graph, ranges, options, &plan).ok());
      const TensorQuant expected =
          QuantizeWeightParams(values, dims, per_channel ? 1 : -1, options.weight_type,
                               {.symmetric = symmetric,
                                .reduce_range = options.reduce_range,
                                .unsigned_symmetric_zero_point = options.unsigned_symmetric_zero_point});
      const TensorQuant& got = plan.tensors.at("W");
      EXPECT_EQ(got.axis, expected.axis);
      EXPECT_EQ(got.range.qmin, expected.range.qmin);
      ASSERT_EQ(got.params.size(), per_channel ? 5U : 1U);
      ASSERT_EQ(got.params.size(), expected.params.size());
      for (size_t c = 0; c < got.params.size(); ++c) {
        EXPECT_EQ(got.params[c].scale, expected.params[c].scale) << per_channel << symmetric << " channel " << c;
        EXPECT_EQ(got.params[c].zero_point, expected.params[c].zero_point) << per_channel << symmetric << " " << c;
      }
    }
  }
}

TEST(DecideParamsTest, ASymmetricGridKeepsTheReluAndLendsItsParametersToItsInput) {
  auto model = ConvReluModel();
  GraphView graph(model.mutable_graph());
  QuantPlan plan = ConvReluPlan();
  QuantizeOptions options;
  options.activation_type = QuantType::kInt8;
  options.activation_symmetric = true;
  ASSERT_TRUE(DecideParams(graph, kRanges, options, &plan).ok());
  // Y's grid spans [-2, 2] (scale 2/127): it reaches below 0, so the Relu stays; C, which has no range,
  // takes Y's grid (values below 0 saturate where the Relu clips them anyway).
  ExpectParams(plan.tensors.at("Y"), TensorRole::kActivation, QuantType::kInt8, -1, {{2.0F / 127.0F, 0}});
  ExpectParams(plan.tensors.at("C"), TensorRole::kActivation, QuantType::kInt8, -1, {{2.0F / 127.0F, 0}});
  EXPECT_TRUE(plan.removed_nodes.empty());
  EXPECT_TRUE(plan.renamed_outputs.empty());
  ASSERT_EQ(plan.marks.size(), 2U);
  // X, symmetric int8: max(|-1|, |3|) / 127.
  ExpectParams(plan.tensors.at("X"), TensorRole::kActivation, QuantType::kInt8, -1, {{3.0F / 127.0F, 0}});
}

TEST(DecideParamsTest, AReluStaysWhenItsProducerStaysFloat) {
  // X has no range (not a float tensor at run time): the Conv stays float, so the Relu cannot fold
  // into its output; with C uncalibrated the Relu stays float too, and the graph keeps it.
  auto model = ConvReluModel();
  GraphView graph(model.mutable_graph());
  QuantPlan plan = ConvReluPlan();
  ASSERT_TRUE(DecideParams(graph, {{"Y", {.rmin = 0.0F, .rmax = 2.0F}}}, {}, &plan).ok());
  EXPECT_TRUE(plan.marks.empty());
  EXPECT_TRUE(plan.removed_nodes.empty());
  EXPECT_TRUE(plan.renamed_outputs.empty());
  EXPECT_TRUE(plan.tensors.empty());
  EXPECT_EQ(plan.left_float.at(0), "no calibration range for 'X' (not a float tensor at run time)");
  EXPECT_EQ(plan.left_float.at(1),
            "its producer Conv 'Conv #0' stays float (no calibration range for 'X' (not a float tensor at run time))");
}

TEST(DecideParamsTest, NodesTouchingAFloatTensorStayFloatWithItsReason) {
  auto model = ConvReluModel();
  GraphView graph(model.mutable_graph());
  QuantPlan plan = ConvReluPlan();
  ASSERT_TRUE(DecideParams(graph, kRanges, {}, &plan, {{"X", "X spans too many octaves"}}).ok());
  EXPECT_EQ(plan.left_float.at(0), "X spans too many octaves");
  // A Relu after a float node does no work worth an integer kernel.
  EXPECT_EQ(plan.left_float.at(1).rfind("follows float Conv", 0), 0U) << plan.left_float.at(1);
  EXPECT_TRUE(plan.marks.empty());
  EXPECT_TRUE(plan.removed_nodes.empty());
}

TEST(DecideParamsTest, SharedOutputsTakeTheParametersAtTheHeadOfTheirChain) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] X) => (float[1,4] T) <int64[2] s = {4, 1}>
{
  R = Reshape(X, s)
  T = Transpose <perm = [1, 0]> (R)
}
)");
  GraphView graph(model.mutable_graph());
  QuantPlan plan;
  plan.marks.push_back({.node = 0, .intents = {{.tensor = "X"}, {.tensor = "R", .share_with = "X"}}});
  plan.marks.push_back({.node = 1, .intents = {{.tensor = "R"}, {.tensor = "T", .share_with = "R"}}});
  ASSERT_TRUE(DecideParams(graph, {{"X", {.rmin = -1.0F, .rmax = 3.0F}}}, {}, &plan).ok());
  for (const char* tensor : {"X", "R", "T"}) {
    ExpectParams(plan.tensors.at(tensor), TensorRole::kActivation, QuantType::kUInt8, -1, {{4.0F / 255.0F, 64}});
  }
  EXPECT_EQ(plan.marks.size(), 2U);
}

TEST(DecideParamsTest, ALightOpAfterAFloatNodeStaysFloat) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[4] X) => (float[4] M) <float k = {2.0}>
{
  A = Tanh(X)
  M = Mul(A, k)
}
)");
  GraphView graph(model.mutable_graph());
  QuantPlan plan;
  plan.left_float[0] = "op type Tanh is not quantized";
  plan.marks.push_back(
      {.node = 1, .intents = {{.tensor = "A"}, {.tensor = "k", .role = TensorRole::kWeight}, {.tensor = "M"}}});
  const std::map<std::string, TensorRange> ranges = {{"A", {.rmin = -1.0F, .rmax = 1.0F}},
                                                     {"M", {.rmin = -2.0F, .rmax = 2.0F}}};
  ASSERT_TRUE(DecideParams(graph, ranges, {}, &plan).ok());
  EXPECT_TRUE(plan.marks.empty());
  EXPECT_TRUE(plan.tensors.empty());
  EXPECT_EQ(plan.left_float.at(1).rfind("follows float Tanh", 0), 0U) << plan.left_float.at(1);
}

}  // namespace
}  // namespace onnxq
