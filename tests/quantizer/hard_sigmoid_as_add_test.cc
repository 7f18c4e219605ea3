// ExpressHardSigmoidAsAdd: a HardSigmoid between a DequantizeLinear and a QuantizeLinear whose grid
// starts at 0 and ends at or below 1 becomes an Add of beta / alpha whose QuantizeLinear takes scale
// s / alpha. Checked: the hand-computed scale and constant, the codes ONNX Runtime computes before and
// after over the whole input range (the rewritten graph runs as QLinearAdd), and the HardSigmoids the
// rewrite must leave alone (a grid that does not start at 0 or reaches past 1, alpha <= 0, an output
// read by something besides its QuantizeLinear, 16-bit types).
#include "quantizer/hard_sigmoid_as_add.h"

#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <cmath>
#include <cstdint>
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

// X -> Q(1/20, 128) -> DQ -> HardSigmoid(1/6, 1/2) -> Q(SCALE, ZERO) -> DQ -> Y, over uint8 by default.
std::string QdqHardSigmoid(const std::string& scale = "0.0039215689", const std::string& zero = "uint8 zq = {0}",
                           const std::string& attrs = "<alpha: float = 0.16666667, beta: float = 0.5>") {
  return R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,200] X) => (float[1,200] Y)
<float sx = {0.05}, uint8 zx = {128}, float sq = {)" +
         scale + "}, " + zero + R"(>
{
  xq = QuantizeLinear (X, sx, zx)
  x = DequantizeLinear (xq, sx, zx)
  h = HardSigmoid )" +
         attrs + R"( (x)
  hq = QuantizeLinear (h, sq, zq)
  Y = DequantizeLinear (hq, sq, zq)
}
)";
}

// X spread over [-6, 6), beyond both ends of HardSigmoid's slope.
Feeds Ramp() {
  std::vector<float> values(200);
  for (size_t i = 0; i < values.size(); ++i) values[i] = -6.0F + 0.06F * static_cast<float>(i);
  return {Tensor::FromFloats("X", {1, 200}, values)};
}

TEST(HardSigmoidAsAddTest, BecomesAnAddOfBetaOverAlphaWithTheScaleOverAlpha) {
  auto model = ParseModelText(QdqHardSigmoid());
  const auto before = testing::RunFirstOutput(model, Ramp());
  ASSERT_EQ(ExpressHardSigmoidAsAdd(model.mutable_graph()), 1);
  EXPECT_NO_THROW(onnx::checker::check_model(model));
  EXPECT_EQ(testing::OpCounts(model),
            (std::map<std::string, int>{{"QuantizeLinear", 2}, {"DequantizeLinear", 3}, {"Add", 1}}));
  const auto* add = testing::FindNode(model, "Add");
  ASSERT_NE(add, nullptr);
  // The constant: beta / alpha = 3, one uint8 code (255) at scale 3 / 255.
  const auto* offset = testing::FindNode(model, "DequantizeLinear", 0);
  ASSERT_EQ(offset->output(0), add->input(1));
  EXPECT_EQ(InitializerCodes(model, offset->input(0)), (std::vector<int64_t>{255}));
  EXPECT_NEAR(testing::InitializerValues(model, offset->input(1)).at(0) * 255.0F, 3.0F, 1e-5F);
  // The Q after the Add: (1/255) / (1/6) = 6/255; the DQ readers keep 1/255 and the zero point 0.
  const auto* q = testing::FindNode(model, "QuantizeLinear", 1);
  ASSERT_EQ(q->input(0), add->output(0));
  EXPECT_NEAR(testing::InitializerValues(model, q->input(1)).at(0), 6.0F / 255.0F, 1e-7F);
  EXPECT_EQ(q->input(2), "zq");
  EXPECT_NEAR(testing::InitializerValues(model, testing::FindNode(model, "DequantizeLinear", 2)->input(1)).at(0),
              1.0F / 255.0F, 1e-9F);
  // ONNX Runtime runs it as one integer kernel, and its codes are HardSigmoid's: within one code of
  // the float HardSigmoid quantized, 0 below x = -3 and 1 above x = 3.
  const auto runnability = InspectRunnability(model);
  ASSERT_TRUE(runnability.ok()) << runnability.status().message();
  EXPECT_EQ(runnability->integer_kernels.count("QLinearAdd"), 1U) << RunnabilitySummary(*runnability);
  EXPECT_TRUE(runnability->float_between_qdq.empty()) << RunnabilitySummary(*runnability);
  const Feeds ramp = Ramp();
  const auto after = testing::RunFirstOutput(model, ramp);
  ASSERT_EQ(after.size(), before.size());
  const auto x = ramp.front().floats();
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_NEAR(after[i], before[i], 1.0F / 255.0F + 1e-6F) << "x = " << x[i];
    if (x[i] < -3.1F) {
      EXPECT_EQ(after[i], 0.0F) << "x = " << x[i];
    }
    if (x[i] > 3.1F) {
      EXPECT_FLOAT_EQ(after[i], 1.0F) << "x = " << x[i];
    }
  }
}

TEST(HardSigmoidAsAddTest, Int8GridFromItsLowestCodeToo) {
  auto model = ParseModelText(QdqHardSigmoid("0.0039215689", "int8 zq = {-128}"));
  const auto before = testing::RunFirstOutput(model, Ramp());
  ASSERT_EQ(ExpressHardSigmoidAsAdd(model.mutable_graph()), 0) << "the input is uint8, the output int8";
  // Same types in and out: the input int8 too.
  std::string text = QdqHardSigmoid("0.0039215689", "int8 zq = {-128}");
  text.replace(text.find("uint8 zx = {128}"), 16, "int8 zx = {0}");
  model = ParseModelText(text);
  ASSERT_EQ(ExpressHardSigmoidAsAdd(model.mutable_graph()), 1);
  const auto* offset = testing::FindNode(model, "DequantizeLinear", 0);
  EXPECT_EQ(InitializerCodes(model, offset->input(0)), (std::vector<int64_t>{127}));
  EXPECT_NEAR(testing::InitializerValues(model, offset->input(1)).at(0) * 127.0F, 3.0F, 1e-5F);
  const auto after = testing::RunFirstOutput(model, Ramp());
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) EXPECT_NEAR(after[i], before[i], 1.0F / 255.0F + 1e-6F) << i;
}

TEST(HardSigmoidAsAddTest, LeavesWhatTheQuantizeLinearWouldNotClip) {
  // The grid does not start at 0 (symmetric int8): nothing clips below 0.
  auto symmetric = ParseModelText(QdqHardSigmoid("0.0078740157", "uint8 zq = {128}"));
  EXPECT_EQ(ExpressHardSigmoidAsAdd(symmetric.mutable_graph()), 0);
  // The grid reaches past 1: nothing clips at 1.
  auto wide = ParseModelText(QdqHardSigmoid("0.0078431377"));
  EXPECT_EQ(ExpressHardSigmoidAsAdd(wide.mutable_graph()), 0);
  // alpha <= 0: no Add can stand for it.
  auto falling = ParseModelText(QdqHardSigmoid("0.0039215689", "uint8 zq = {0}", "<alpha: float = -0.2>"));
  EXPECT_EQ(ExpressHardSigmoidAsAdd(falling.mutable_graph()), 0);
  EXPECT_EQ(testing::OpCounts(falling).count("Add"), 0U);
}

TEST(HardSigmoidAsAddTest, LeavesAnOutputReadBesidesItsQuantizeLinear) {
  std::string text = QdqHardSigmoid();
  text.replace(text.find("=> (float[1,200] Y)"), 19, "=> (float[1,200] Y, float[1,200] h)");
  auto model = ParseModelText(text);
  EXPECT_EQ(ExpressHardSigmoidAsAdd(model.mutable_graph()), 0);
  EXPECT_EQ(testing::OpCounts(model).at("HardSigmoid"), 1);
}

TEST(HardSigmoidAsAddTest, OnlyForEightBitAsymmetricActivationsPlacedForTheCpu) {
  QuantizeOptions options;
  EXPECT_TRUE(HardSigmoidQuantizesAsAdd(options));
  options.activation_type = QuantType::kInt8;
  EXPECT_TRUE(HardSigmoidQuantizesAsAdd(options));
  options.activation_symmetric = true;
  EXPECT_FALSE(HardSigmoidQuantizesAsAdd(options));
  options = {};
  options.activation_type = QuantType::kUInt16;
  EXPECT_FALSE(HardSigmoidQuantizesAsAdd(options));
  options = {};
  options.placement = QdqPlacement::kAllQuantizable;
  EXPECT_FALSE(HardSigmoidQuantizesAsAdd(options));
  options = {};
  options.npu_mode = NpuMode::kCnn;
  EXPECT_FALSE(HardSigmoidQuantizesAsAdd(options));
}

}  // namespace
}  // namespace onnxq
