// TensorQuantOverrides applied by DecideParams to plans built by hand (the Conv + Relu of
// decide_params_test.cc): scales and zero points worked out from an override's range, taken as they
// are from an exact one, the int32 bias following the overridden input and weight, a Relu whose
// overridden grid no longer clips at 0, and the warnings and errors.
#include "quantizer/apply_tensor_overrides.h"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <string>
#include <vector>

#include "quantizer/conv_relu.h"
#include "quantizer/decide_params.h"

namespace onnxq {
namespace {

using testing::ConvReluModel;

constexpr float kInf = std::numeric_limits<float>::infinity();

// The Conv's input X, weight W (per channel along axis 0), int32 bias B and output C; the Relu's input
// C and output Y, foldable into the Conv's output range.
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

// X in [-1, 3], the Relu's output Y in [0, 2] (uint8: X scale 4/255, zero point 64; Y 2/255, 0).
const std::map<std::string, TensorRange> kRanges = {{"X", {.rmin = -1.0F, .rmax = 3.0F}},
                                                    {"Y", {.rmin = 0.0F, .rmax = 2.0F}}};

void ExpectParams(const TensorQuant& q, QuantType type, int axis, const std::vector<QuantParams>& params) {
  EXPECT_EQ(q.type, type);
  EXPECT_EQ(q.axis, axis);
  ASSERT_EQ(q.params.size(), params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_FLOAT_EQ(q.params[i].scale, params[i].scale) << i;
    EXPECT_EQ(q.params[i].zero_point, params[i].zero_point) << i;
  }
}

TEST(ApplyTensorOverridesTest, ARangeOverrideRecomputesTheGridAndTheBiasFollows) {
  auto model = ConvReluModel();
  GraphView graph(model.mutable_graph());
  QuantPlan plan = ConvReluPlan();
  QuantizeOptions options;
  // X over [-0.5, 2.05] instead of its calibrated [-1, 3]: uint8 scale 2.55 / 255 = 0.01, zero point
  // round(0 - (-0.5) / 0.01) = 50.
  options.tensor_overrides["X"] = {.rmin = -0.5F, .rmax = 2.05F};
  const auto warnings = DecideParams(graph, kRanges, options, &plan);
  ASSERT_TRUE(warnings.ok()) << warnings.status().message();
  EXPECT_TRUE(warnings->empty());
  ExpectParams(plan.tensors.at("X"), QuantType::kUInt8, -1, {{0.01F, 50}});
  // W unchanged (int8 symmetric, max |w| 0.5); B = X scale x W scale, with the overridden X scale.
  ExpectParams(plan.tensors.at("W"), QuantType::kInt8, -1, {{0.5F / 127.0F, 0}});
  ExpectParams(plan.tensors.at("B"), QuantType::kInt32, -1, {{0.01F * (0.5F / 127.0F), 0}});
}

TEST(ApplyTensorOverridesTest, ATypeAndOneBoundKeepTheOtherCalibratedBound) {
  auto model = ConvReluModel();
  GraphView graph(model.mutable_graph());
  QuantPlan plan = ConvReluPlan();
  QuantizeOptions options;
  // X as int8 over [-1, 3] (its calibrated rmin, the override's rmax): scale 4/255, zero point
  // round(-128 - (-1) / (4/255)) = round(-64.25) = -64; X's range is now int8's.
  options.tensor_overrides["X"] = {.type = QuantType::kInt8, .rmax = 3.0F};
  ASSERT_TRUE(DecideParams(graph, kRanges, options, &plan).ok());
  ExpectParams(plan.tensors.at("X"), QuantType::kInt8, -1, {{4.0F / 255.0F, -64}});
  EXPECT_EQ(plan.tensors.at("X").range.qmin, -128);
  EXPECT_EQ(plan.tensors.at("X").range.qmax, 127);
}

TEST(ApplyTensorOverridesTest, AnExactScaleAndZeroPointAreUsedAsTheyAre) {
  auto model = ConvReluModel();
  GraphView graph(model.mutable_graph());
  QuantPlan plan = ConvReluPlan();
  QuantizeOptions options;
  options.per_channel = true;
  // W per channel would have 3 scales; pinned, it has the one given, and the bias one scale too.
  options.tensor_overrides["W"] = {.scale = 0.25F, .zero_point = 0};
  // Y's grid from 0.01 x (0 - 10) = -0.1 to 0.01 x (255 - 10) = 2.45 does not clip at 0 as the Relu
  // does: the Relu stays, and its input C takes Y's parameters.
  options.tensor_overrides["Y"] = {.scale = 0.01F, .zero_point = 10};
  ASSERT_TRUE(DecideParams(graph, kRanges, options, &plan).ok());
  ExpectParams(plan.tensors.at("W"), QuantType::kInt8, -1, {{0.25F, 0}});
  EXPECT_EQ(plan.tensors.at("W").range.qmin, -127);
  ExpectParams(plan.tensors.at("B"), QuantType::kInt32, -1, {{(4.0F / 255.0F) * 0.25F, 0}});
  ExpectParams(plan.tensors.at("Y"), QuantType::kUInt8, -1, {{0.01F, 10}});
  ExpectParams(plan.tensors.at("C"), QuantType::kUInt8, -1, {{0.01F, 10}});
  EXPECT_TRUE(plan.removed_nodes.empty());
  EXPECT_EQ(plan.marks.size(), 2U);
}

TEST(ApplyTensorOverridesTest, SymmetryAloneKeepsAWeightsChannels) {
  auto model = ConvReluModel();
  GraphView graph(model.mutable_graph());
  QuantPlan plan = ConvReluPlan();
  QuantizeOptions options;
  options.per_channel = true;
  options.tensor_overrides["W"] = {.symmetric = false};
  ASSERT_TRUE(DecideParams(graph, kRanges, options, &plan).ok());
  // Channel 0 {0.5, -0.25} asymmetric int8: scale 0.75 / 255, zero point round(-128 + 0.25 / (0.75 / 255))
  // = -128 + 85 = -43.
  const TensorQuant& w = plan.tensors.at("W");
  EXPECT_EQ(w.axis, 0);
  ASSERT_EQ(w.params.size(), 3U);
  EXPECT_FLOAT_EQ(w.params[0].scale, 0.75F / 255.0F);
  EXPECT_EQ(w.params[0].zero_point, -43);
  EXPECT_EQ(w.range.qmin, -128);
}

TEST(ApplyTensorOverridesTest, TensorsNotQuantizedAreWarningsAndBadZeroPointsErrors) {
  auto model = ConvReluModel();
  GraphView graph(model.mutable_graph());
  QuantizeOptions options;
  options.tensor_overrides["nowhere"] = {.rmin = 0.0F, .rmax = 1.0F};
  options.tensor_overrides["B"] = {.scale = 1.0F, .zero_point = 0};
  QuantPlan plan = ConvReluPlan();
  const auto warnings = DecideParams(graph, kRanges, options, &plan);
  ASSERT_TRUE(warnings.ok()) << warnings.status().message();
  EXPECT_EQ(*warnings, (std::vector<std::string>{
                           "TensorQuantOverrides: 'B' is a bias: its parameters follow its input's and weight's "
                           "(override those)",
                           "TensorQuantOverrides: 'nowhere' is not quantized (left float or not in the model)"}));

  // A zero point outside uint8's [0, 255], and one outside symmetric int8's [-127, 127].
  for (const auto& [tensor, pinned] :
       std::map<std::string, TensorOverride>{{"X", {.scale = 0.1F, .zero_point = 256}},
                                             {"W", {.type = QuantType::kInt8, .scale = 0.1F, .zero_point = -128}}}) {
    QuantizeOptions bad;
    bad.tensor_overrides[tensor] = pinned;
    QuantPlan fresh = ConvReluPlan();
    const auto result = DecideParams(graph, kRanges, bad, &fresh);
    ASSERT_FALSE(result.ok()) << tensor;
    EXPECT_NE(result.status().message().find("tensor '" + tensor + "': zero_point"), std::string::npos)
        << result.status().message();
  }
}

}  // namespace
}  // namespace onnxq
