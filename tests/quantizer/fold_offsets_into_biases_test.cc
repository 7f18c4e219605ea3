// FoldOffsetsIntoBiases: a quantized Add of a scalar constant right after a Conv becomes part of the
// Conv's int32 bias (b + round(c / s_b)), the Add and the requantization before it gone. Checked: the
// hand-computed bias codes, ONNX Runtime's outputs before and after (within one output step: one
// rounding fewer), one QLinearConv and no QLinearAdd in the runtime's graph, and the Adds it must leave.
#include "quantizer/fold_offsets_into_biases.h"

#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ir/tensor_util.h"
#include "onnxq/runnability.h"
#include "passes/pass_test_util.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::InitializerCodes;
using testing::ParseModelText;
using testing::Replaced;

// A squeeze-excite gate's second convolution and the HardSigmoid ExpressHardSigmoidAsAdd wrote as an
// Add of 3 = beta / alpha (code 255 at scale 3 / 255), its output grid [0, 6] = 6 / 255 per code.
std::string Gate() {
  return R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,5,5] X) => (float[1,3,5,5] Y)
<float sx = {0.05}, uint8 zx = {128},
 int8[3,4,1,1] w = {20, -10, 5, 0, 3, 40, -7, 9, -12, 6, 30, -4},
 float sw = {0.01}, int8 zw = {0},
 int32[3] b = {100, -200, 300}, float sb = {0.0005}, int32 zb = {0},
 float s1 = {0.03}, uint8 z1 = {128},
 uint8 c = {255}, float sc = {0.011764706}, uint8 zc = {0},
 float s2 = {0.023529412}, uint8 z2 = {0}>
{
  xq = QuantizeLinear (X, sx, zx)
  x = DequantizeLinear (xq, sx, zx)
  wf = DequantizeLinear (w, sw, zw)
  bf = DequantizeLinear (b, sb, zb)
  y = Conv (x, wf, bf)
  yq = QuantizeLinear (y, s1, z1)
  yd = DequantizeLinear (yq, s1, z1)
  cf = DequantizeLinear (c, sc, zc)
  h = Add (yd, cf)
  hq = QuantizeLinear (h, s2, z2)
  Y = DequantizeLinear (hq, s2, z2)
}
)";
}

// X spread over [-6, 6).
Feeds Ramp() {
  std::vector<float> values(100);
  for (size_t i = 0; i < values.size(); ++i) values[i] = -6.0F + 0.12F * static_cast<float>(i);
  return {Tensor::FromFloats("X", {1, 4, 5, 5}, values)};
}

TEST(FoldOffsetsIntoBiasesTest, TheConstantJoinsTheBiasAndTheConvWritesTheAddsCodes) {
  auto model = ParseModelText(Gate());
  const auto before = testing::RunFirstOutput(model, Ramp());
  ASSERT_EQ(FoldOffsetsIntoBiases(model.mutable_graph()), 1);
  EXPECT_NO_THROW(onnx::checker::check_model(model));
  // 3 / 0.0005 = 6000 more in every channel.
  EXPECT_EQ(InitializerCodes(model, "b"), (std::vector<int64_t>{6100, 5800, 6300}));
  // Conv -> Q(s2, z2): the Add, the Q / DQ pair before it and the constant's DQ are gone.
  for (const auto& node : model.graph().node()) {
    EXPECT_NE(node.op_type(), "Add");
    if (node.op_type() == "QuantizeLinear" && node.input(0) == "y") {
      EXPECT_EQ(node.input(1), "s2");
    }
  }
  EXPECT_EQ(model.graph().node_size(), 7);
  EXPECT_EQ(testing::FindInitializer(model.graph(), "c"), nullptr);
  EXPECT_EQ(testing::FindInitializer(model.graph(), "s1"), nullptr);
  // After: the exact Conv(x) + b + 3 on the input's codes, quantized once at s2 (the clip at [0, 6]
  // from the codes' range). Before: one rounding more, at s1, so at most one code off.
  const Feeds ramp = Ramp();
  const std::span<const float> x = ramp.front().floats();
  const std::vector<float> w = {20, -10, 5, 0, 3, 40, -7, 9, -12, 6, 30, -4};
  const std::vector<float> b = {100, -200, 300};
  const float s2 = 0.023529412F;
  const auto after = testing::RunFirstOutput(model, Ramp());
  ASSERT_EQ(after.size(), 75U);
  ASSERT_EQ(before.size(), 75U);
  for (size_t m = 0; m < 3; ++m) {
    for (size_t p = 0; p < 25; ++p) {
      double y = b[m] * 0.0005 + 3.0;
      for (size_t c = 0; c < 4; ++c) {
        const double code = std::clamp(std::nearbyint(x[c * 25 + p] / 0.05) + 128.0, 0.0, 255.0);
        y += w[m * 4 + c] * 0.01 * (code - 128.0) * 0.05;
      }
      const float expected = static_cast<float>(std::clamp(std::nearbyint(y / s2), 0.0, 255.0)) * s2;
      EXPECT_NEAR(after[m * 25 + p], expected, 1e-5) << m << " " << p;
      EXPECT_LE(std::abs(before[m * 25 + p] - expected), s2 + 1e-5F) << m << " " << p;
    }
  }
  const auto runnability = InspectRunnability(model);
  ASSERT_TRUE(runnability.ok()) << runnability.status().message();
  EXPECT_EQ(runnability->integer_kernels.at("QLinearConv"), 1) << RunnabilitySummary(*runnability);
  EXPECT_FALSE(runnability->integer_kernels.contains("QLinearAdd")) << RunnabilitySummary(*runnability);
}

TEST(FoldOffsetsIntoBiasesTest, LeavesAddsItCannotFold) {
  const auto untouched = [](const std::string& text) {
    auto model = ParseModelText(text);
    EXPECT_EQ(FoldOffsetsIntoBiases(model.mutable_graph()), 0) << text;
    EXPECT_EQ(InitializerCodes(model, "b"), (std::vector<int64_t>{100, -200, 300}));
  };
  // The Conv's quantized output is read besides the Add.
  untouched(Replaced(Gate(), "=> (float[1,3,5,5] Y)", "=> (float[1,3,5,5] Y, float[1,3,5,5] yd)"));
  // A constant per channel, not a scalar.
  untouched(Replaced(Gate(), "uint8 c = {255}", "uint8[3,1,1] c = {255, 0, 255}"));
  // The Add's output goes to a float Relu, not a QuantizeLinear.
  untouched(Replaced(Gate(), "  hq = QuantizeLinear (h, s2, z2)", "  r = Relu (h)\n  hq = QuantizeLinear (r, s2, z2)"));
  // The bias has a zero point (not written by onnxq, nor fused by the runtime as it is).
  untouched(Replaced(Gate(), "int32 zb = {0}", "int32 zb = {1}"));
}

TEST(FoldOffsetsIntoBiasesTest, OnlyForQdqPlacedForTheCpu) {
  QuantizeOptions options;
  EXPECT_TRUE(FoldsOffsetsIntoBiases(options));
  options.placement = QdqPlacement::kAllQuantizable;
  EXPECT_FALSE(FoldsOffsetsIntoBiases(options));
  options = {};
  options.npu_mode = NpuMode::kCnn;
  EXPECT_FALSE(FoldsOffsetsIntoBiases(options));
}

}  // namespace
}  // namespace onnxq
