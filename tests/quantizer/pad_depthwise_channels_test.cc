// PadDepthwiseChannels: an expansion -> depthwise -> projection chain of 4 channels, written out in
// QDQ form, padded to 16: the hand-set weights and biases grow with zeros, per-channel scales with
// copies of their last entry, the depthwise group becomes 16, ONNX Runtime's outputs stay the same to the bit and it
// runs three QLinearConvs; and the chains it must leave alone (an expansion output read elsewhere, a
// projection behind another op, weights with a zero point, a grouped expansion).
#include "quantizer/pad_depthwise_channels.h"

#include <gtest/gtest.h>
#include <onnx/checker.h>

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
using testing::Replaced;

std::string Chain() {
  return R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,5,5] X) => (float[1,4,5,5] Y)
<float sx = {0.05}, uint8 zx = {128},
 int8[4,4,1,1] wp = {20, -10, 5, 0, 3, 40, -7, 9, -12, 6, 30, -4, 8, 2, -5, 25},
 float swp = {0.01}, int8 zwp = {0},
 int32[4] bp = {100, -200, 300, 0}, float sbp = {0.0005}, int32 zbp = {0},
 float sa = {0.02}, uint8 za = {60},
 int8[4,1,3,3] wd = {1, 2, 3, 4, 5, 6, 7, 8, 9, -9, -8, -7, -6, -5, -4, -3, -2, -1,
                     10, 0, -10, 20, 0, -20, 30, 0, -30, 5, 5, 5, 5, -40, 5, 5, 5, 5},
 float[4] swd = {0.01, 0.02, 0.015, 0.03}, int8[4] zwd = {0, 0, 0, 0},
 int32[4] bd = {50, -60, 70, -80}, float[4] sbd = {0.0002, 0.0004, 0.0003, 0.0006}, int32[4] zbd = {0, 0, 0, 0},
 float sb = {0.03}, uint8 zb = {128},
 int8[4,4,1,1] wr = {15, -25, 35, -45, 5, 10, 15, 20, -30, 0, 30, 0, 12, 12, -12, -12},
 float swr = {0.01}, int8 zwr = {0},
 float sy = {0.04}, uint8 zy = {128}>
{
  xq = QuantizeLinear (X, sx, zx)
  x = DequantizeLinear (xq, sx, zx)
  wpf = DequantizeLinear (wp, swp, zwp)
  bpf = DequantizeLinear (bp, sbp, zbp)
  p = Conv (x, wpf, bpf)
  pq = QuantizeLinear (p, sa, za)
  pd = DequantizeLinear (pq, sa, za)
  wdf = DequantizeLinear <axis: int = 0> (wd, swd, zwd)
  bdf = DequantizeLinear <axis: int = 0> (bd, sbd, zbd)
  d = Conv <group: int = 4, pads: ints = [1, 1, 1, 1]> (pd, wdf, bdf)
  dq = QuantizeLinear (d, sb, zb)
  dd = DequantizeLinear (dq, sb, zb)
  wrf = DequantizeLinear (wr, swr, zwr)
  r = Conv (dd, wrf)
  rq = QuantizeLinear (r, sy, zy)
  Y = DequantizeLinear (rq, sy, zy)
}
)";
}

Feeds Input() {
  std::vector<float> values(100);
  for (size_t i = 0; i < values.size(); ++i) values[i] = -3.0F + 0.061F * static_cast<float>(i % 97);
  return {Tensor::FromFloats("X", {1, 4, 5, 5}, values)};
}

std::vector<int64_t> DimsOf(const onnx::ModelProto& model, const std::string& name) {
  const auto* init = testing::FindInitializer(model.graph(), name);
  return init == nullptr ? std::vector<int64_t>{} : Dims(*init);
}

// The depthwise Conv's group (the node writing d).
int64_t GroupOf(const onnx::ModelProto& model) {
  for (const auto& node : model.graph().node()) {
    if (node.output(0) != "d") continue;
    for (const auto& attr : node.attribute()) {
      if (attr.name() == "group") return attr.i();
    }
  }
  return 0;
}

TEST(PadDepthwiseChannelsTest, PadsTheChainTo16ChannelsWithTheSameOutputs) {
  auto model = ParseModelText(Chain());
  const auto before = testing::RunFirstOutput(model, Input());
  ASSERT_EQ(PadDepthwiseChannels(model.mutable_graph()), 1);
  EXPECT_NO_THROW(onnx::checker::check_model(model));
  EXPECT_EQ(GroupOf(model), 16);
  EXPECT_EQ(DimsOf(model, "wp"), (std::vector<int64_t>{16, 4, 1, 1}));
  EXPECT_EQ(DimsOf(model, "bp"), (std::vector<int64_t>{16}));
  EXPECT_EQ(DimsOf(model, "wd"), (std::vector<int64_t>{16, 1, 3, 3}));
  EXPECT_EQ(DimsOf(model, "wr"), (std::vector<int64_t>{4, 16, 1, 1}));
  // The expansion's new filters and biases are 0; the projection's first row keeps its 4 weights and
  // reads nothing from the new channels.
  const auto wp = InitializerCodes(model, "wp");
  ASSERT_EQ(wp.size(), 64U);
  EXPECT_EQ(std::vector<int64_t>(wp.begin(), wp.begin() + 4), (std::vector<int64_t>{20, -10, 5, 0}));
  EXPECT_EQ(std::vector<int64_t>(wp.begin() + 16, wp.end()), std::vector<int64_t>(48, 0));
  EXPECT_EQ(InitializerCodes(model, "bp"),
            (std::vector<int64_t>{100, -200, 300, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  const auto wr = InitializerCodes(model, "wr");
  ASSERT_EQ(wr.size(), 64U);
  EXPECT_EQ(std::vector<int64_t>(wr.begin(), wr.begin() + 5), (std::vector<int64_t>{15, -25, 35, -45, 0}));
  // Per-channel scales repeat their last entry (bias scale = input scale x weight scale still), their
  // zero points grow with zeros.
  const auto swd = testing::InitializerValues(model, "swd");
  const auto sbd = testing::InitializerValues(model, "sbd");
  ASSERT_EQ(swd.size(), 16U);
  ASSERT_EQ(sbd.size(), 16U);
  EXPECT_FLOAT_EQ(swd[2], 0.015F);
  EXPECT_FLOAT_EQ(swd[15], 0.03F);
  EXPECT_FLOAT_EQ(sbd[15], 0.0006F);
  EXPECT_EQ(InitializerCodes(model, "zwd"), std::vector<int64_t>(16, 0));
  // The same codes, and three integer convolutions.
  const auto after = testing::RunFirstOutput(model, Input());
  EXPECT_EQ(after, before);
  const auto runnability = InspectRunnability(model);
  ASSERT_TRUE(runnability.ok()) << runnability.status().message();
  EXPECT_EQ(runnability->integer_kernels.at("QLinearConv"), 3) << RunnabilitySummary(*runnability);
  EXPECT_TRUE(runnability->float_between_qdq.empty()) << RunnabilitySummary(*runnability);
}

// MobileNetV3's blocks: a HardSwish (the HardSigmoid as an Add of 3, then the product) between the
// expansion and the depthwise convolution, and a squeeze-excite gate (pool, 1x1 down, 1x1 up with the
// HardSigmoid in its bias, product) between the depthwise convolution and the projection.
std::string SqueezeExciteBlock() {
  return R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4,5,5] X) => (float[1,4,5,5] Y)
<float sx = {0.05}, uint8 zx = {128}, float swp = {0.01}, float swd = {0.01}, float sw1 = {0.01}, float sw2 = {0.01}, float swr = {0.01},
 int8 zwp = {0}, int8 zwd = {0}, int8 zw1 = {0}, int8 zw2 = {0}, int8 zwr = {0},
 int32 zbp = {0}, int32 zbd = {0}, int32 zb1 = {0}, int32 zb2 = {0},
 int8[4,4,1,1] wp = {20, -10, 5, 0, 3, 40, -7, 9, -12, 6, 30, -4, 8, 2, -5, 25},
 int32[4] bp = {100, -200, 300, 0}, float sbp = {0.0005},
 float sa = {0.02}, uint8 za = {128}, uint8 c = {255}, float sc = {0.011764706}, uint8 zc = {0},
 float sh = {0.023529412}, float sh6 = {0.003921569}, uint8 zh = {0}, float sm = {0.01}, uint8 zm = {40},
 int8[4,1,3,3] wd = {1, 2, 3, 4, 5, 6, 7, 8, 9, -9, -8, -7, -6, -5, -4, -3, -2, -1,
                     10, 0, -10, 20, 0, -20, 30, 0, -30, 5, 5, 5, 5, -40, 5, 5, 5, 5},
 int32[4] bd = {50, -60, 70, -80}, float sbd = {0.0001},
 float sd = {0.03}, uint8 zd = {128},
 int8[2,4,1,1] w1 = {30, -20, 10, 5, -15, 25, 35, -5}, int32[2] b1 = {10, -10}, float sb1 = {0.0003},
 float s1 = {0.02}, uint8 z1 = {0},
 int8[4,2,1,1] w2 = {40, -30, 20, 10, -25, 45, 5, -15}, int32[4] b2 = {15000, 14000, 16000, 15500}, float sb2 = {0.0002},
 float sg = {0.023529412}, float sg6 = {0.003921569}, uint8 zg = {0}, float ss = {0.03}, uint8 zs = {128},
 int8[4,4,1,1] wr = {15, -25, 35, -45, 5, 10, 15, 20, -30, 0, 30, 0, 12, 12, -12, -12},
 float sy = {0.04}, uint8 zy = {128}>
{
  xq = QuantizeLinear (X, sx, zx)
  x = DequantizeLinear (xq, sx, zx)
  wpf = DequantizeLinear (wp, swp, zwp)
  bpf = DequantizeLinear (bp, sbp, zbp)
  p = Conv (x, wpf, bpf)
  pq = QuantizeLinear (p, sa, za)
  pd = DequantizeLinear (pq, sa, za)
  cf = DequantizeLinear (c, sc, zc)
  h = Add (pd, cf)
  hq = QuantizeLinear (h, sh, zh)
  hd = DequantizeLinear (hq, sh6, zh)
  m = Mul (pd, hd)
  mq = QuantizeLinear (m, sm, zm)
  md = DequantizeLinear (mq, sm, zm)
  wdf = DequantizeLinear (wd, swd, zwd)
  bdf = DequantizeLinear (bd, sbd, zbd)
  d = Conv <group: int = 4, pads: ints = [1, 1, 1, 1]> (md, wdf, bdf)
  dq = QuantizeLinear (d, sd, zd)
  dd = DequantizeLinear (dq, sd, zd)
  a = GlobalAveragePool (dd)
  aq = QuantizeLinear (a, sd, zd)
  ad = DequantizeLinear (aq, sd, zd)
  w1f = DequantizeLinear (w1, sw1, zw1)
  b1f = DequantizeLinear (b1, sb1, zb1)
  f = Conv (ad, w1f, b1f)
  fq = QuantizeLinear (f, s1, z1)
  fd = DequantizeLinear (fq, s1, z1)
  w2f = DequantizeLinear (w2, sw2, zw2)
  b2f = DequantizeLinear (b2, sb2, zb2)
  e = Conv (fd, w2f, b2f)
  eq = QuantizeLinear (e, sg, zg)
  ed = DequantizeLinear (eq, sg6, zg)
  t = Mul (dd, ed)
  tq = QuantizeLinear (t, ss, zs)
  td = DequantizeLinear (tq, ss, zs)
  wrf = DequantizeLinear (wr, swr, zwr)
  r = Conv (td, wrf)
  rq = QuantizeLinear (r, sy, zy)
  Y = DequantizeLinear (rq, sy, zy)
}
)";
}

TEST(PadDepthwiseChannelsTest, PadsAHardSwishAndSqueezeExciteBlockWhole) {
  auto model = ParseModelText(SqueezeExciteBlock());
  const auto before = testing::RunFirstOutput(model, Input());
  ASSERT_EQ(PadDepthwiseChannels(model.mutable_graph()), 1);
  EXPECT_NO_THROW(onnx::checker::check_model(model));
  EXPECT_EQ(GroupOf(model), 16);
  // Output channels grow at the expansion, the depthwise and the gate's up-projection; input channels at
  // the gate's down-projection and the block's projection.
  EXPECT_EQ(DimsOf(model, "wp"), (std::vector<int64_t>{16, 4, 1, 1}));
  EXPECT_EQ(DimsOf(model, "wd"), (std::vector<int64_t>{16, 1, 3, 3}));
  EXPECT_EQ(DimsOf(model, "w2"), (std::vector<int64_t>{16, 2, 1, 1}));
  EXPECT_EQ(DimsOf(model, "b2"), (std::vector<int64_t>{16}));
  EXPECT_EQ(DimsOf(model, "w1"), (std::vector<int64_t>{2, 16, 1, 1}));
  EXPECT_EQ(DimsOf(model, "wr"), (std::vector<int64_t>{4, 16, 1, 1}));
  const auto w1 = InitializerCodes(model, "w1");
  ASSERT_EQ(w1.size(), 32U);
  EXPECT_EQ(std::vector<int64_t>(w1.begin(), w1.begin() + 5), (std::vector<int64_t>{30, -20, 10, 5, 0}));
  EXPECT_EQ(std::vector<int64_t>(w1.begin() + 16, w1.begin() + 21), (std::vector<int64_t>{-15, 25, 35, -5, 0}));
  // The same codes; every node group an integer kernel.
  const auto after = testing::RunFirstOutput(model, Input());
  EXPECT_EQ(after, before);
  const auto runnability = InspectRunnability(model);
  ASSERT_TRUE(runnability.ok()) << runnability.status().message();
  EXPECT_EQ(runnability->integer_kernels.at("QLinearConv"), 5) << RunnabilitySummary(*runnability);
  EXPECT_TRUE(runnability->float_between_qdq.empty()) << RunnabilitySummary(*runnability);
}

TEST(PadDepthwiseChannelsTest, LeavesChainsItCannotPadWhole) {
  const auto untouched = [](const std::string& text) {
    auto model = ParseModelText(text);
    EXPECT_EQ(PadDepthwiseChannels(model.mutable_graph()), 0);
    EXPECT_EQ(GroupOf(model), 4);
  };
  // The expansion's output is also a graph output.
  untouched(Replaced(Chain(), "=> (float[1,4,5,5] Y)", "=> (float[1,4,5,5] Y, float[1,4,5,5] p)"));
  // The projection reads the depthwise output through a MaxPool first.
  untouched(Replaced(Chain(), "  r = Conv (dd, wrf)",
                     "  m = MaxPool <kernel_shape: ints = [1, 1]> (dd)\n  r = Conv (m, wrf)"));
  // In the squeeze-excite block, the gate's down-projection reads through a Flatten (not channel-wise).
  {
    auto model =
        ParseModelText(Replaced(SqueezeExciteBlock(), "  f = Conv (ad, w1f, b1f)",
                                "  l = Flatten (ad)\n  f = Conv (ad, w1f, b1f)\n  lq = QuantizeLinear (l, sd, zd)"));
    EXPECT_EQ(PadDepthwiseChannels(model.mutable_graph()), 0);
    EXPECT_EQ(GroupOf(model), 4);
  }
  // Depthwise weights with a zero point (asymmetric).
  untouched(Replaced(Chain(), "int8[4] zwd = {0, 0, 0, 0}", "int8[4] zwd = {0, 1, 0, 0}"));
  // The expansion is itself grouped.
  untouched(Replaced(Replaced(Chain(), "  p = Conv (x, wpf, bpf)", "  p = Conv <group: int = 2> (x, wpf, bpf)"),
                     "int8[4,4,1,1] wp", "int8[4,2,2,1] wp"));
}

// Where the quantization pads: symmetric int8 weights, Q/DQ placed for the CPU provider.
TEST(PadDepthwiseChannelsTest, OnlyForSymmetricInt8WeightsPlacedForTheCpu) {
  QuantizeOptions options;
  EXPECT_TRUE(PadsDepthwiseChannels(options));
  options.weight_symmetric = false;
  EXPECT_FALSE(PadsDepthwiseChannels(options));
  options = {};
  options.placement = QdqPlacement::kAllQuantizable;
  EXPECT_FALSE(PadsDepthwiseChannels(options));
}

}  // namespace
}  // namespace onnxq
