// crop_padding_taps: Conv taps that read only padding at every output position are cut from the weight,
// with pads that keep the remaining taps' positions; the function is the same for the model's input size.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ir/graph_view.h"
#include "pass_test_util.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ExpectPassChangesNothing;
using testing::ExpectSameOutputs;
using testing::InitializerValues;
using testing::ParseModelText;
using testing::RandomTensor;
using testing::RunPassOk;
using testing::SetRandomInitializer;

std::vector<int64_t> Dims(const onnx::ModelProto& model, const std::string& name) {
  const auto* init = testing::FindInitializer(model, name);
  return init == nullptr ? std::vector<int64_t>{} : std::vector<int64_t>(init->dims().begin(), init->dims().end());
}

TEST(CropPaddingTapsTest, AnAtrousConvolutionWiderThanItsMapBecomesOneByOne) {
  // DeepLabV3's pyramid at 224 x 224: dilation 24 over a 14 x 14 map. Tap t of 0..2 reads input row
  // o - 24 + 24 t: only t = 1 lands inside for any o. Dilation 6 reaches real rows with every tap.
  auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 4, 14, 14] X) => (float[1, 3, 14, 14] Y, float[1, 3, 14, 14] Z)
<float[3, 4, 3, 3] W, float[3] B, float[3, 4, 3, 3] V>
{
  Y = Conv <dilations = [24, 24], pads = [24, 24, 24, 24], kernel_shape = [3, 3]> (X, W, B)
  Z = Conv <dilations = [6, 6], pads = [6, 6, 6, 6]> (X, V)
}
)");
  SetRandomInitializer(before, "W", {3, 4, 3, 3}, 1);
  SetRandomInitializer(before, "B", {3}, 2);
  SetRandomInitializer(before, "V", {3, 4, 3, 3}, 3);
  auto after = before;
  const PassReport report = RunPassOk("crop_padding_taps", after);
  EXPECT_EQ(report.changes, 1);
  const auto& conv = after.graph().node(0);
  EXPECT_EQ(conv.input(1), "W");  // only this Conv read it: cut in place
  EXPECT_EQ(Dims(after, "W"), (std::vector<int64_t>{3, 4, 1, 1}));
  EXPECT_EQ(AttrInts(conv, "kernel_shape"), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(AttrInts(conv, "pads"), (std::vector<int64_t>{0, 0, 0, 0}));
  EXPECT_EQ(AttrInts(conv, "dilations"), (std::vector<int64_t>{1, 1}));
  // The centre taps, W[:, :, 1, 1].
  const std::vector<float> full = InitializerValues(before, "W");
  const std::vector<float> cut = InitializerValues(after, "W");
  ASSERT_EQ(cut.size(), 12U);
  for (size_t f = 0; f < 12; ++f) EXPECT_EQ(cut[f], full[f * 9 + 4]) << f;
  EXPECT_EQ(Dims(after, "V"), (std::vector<int64_t>{3, 4, 3, 3}));
  EXPECT_TRUE(AttrInts(after.graph().node(1), "kernel_shape").empty());
  ExpectSameOutputs(before, after, {RandomTensor("X", {1, 4, 14, 14}, 4, -2.0F, 2.0F)}, 1e-5);
}

TEST(CropPaddingTapsTest, EachAxisKeepsTheTapsThatReachItsInputWithPadsForTheSameOutputSize) {
  // 7 x 7, stride 2, pads 3 over 3 x 5. Rows: 2 outputs, tap t reads rows 2 o - 3 + t, real for some o
  // when t - 3 <= 2 and 2 - 3 + t >= 0: taps 1..5, pads 3 - 1 = 2 and 3 - (6 - 5) = 2. Columns: 3 outputs
  // reach columns -3 + t .. 1 + t, real for every t: all 7 stay.
  auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 2, 3, 5] X) => (float[1, 2, 2, 3] Y)
<float[2, 2, 7, 7] W>
{
  Y = Conv <strides = [2, 2], pads = [3, 3, 3, 3]> (X, W)
}
)");
  SetRandomInitializer(before, "W", {2, 2, 7, 7}, 5);
  auto after = before;
  EXPECT_EQ(RunPassOk("crop_padding_taps", after).changes, 1);
  const auto& conv = after.graph().node(0);
  EXPECT_EQ(Dims(after, "W"), (std::vector<int64_t>{2, 2, 5, 7}));
  EXPECT_EQ(AttrInts(conv, "kernel_shape"), (std::vector<int64_t>{5, 7}));
  EXPECT_EQ(AttrInts(conv, "pads"), (std::vector<int64_t>{2, 3, 2, 3}));
  const std::vector<float> full = InitializerValues(before, "W");
  const std::vector<float> cut = InitializerValues(after, "W");
  ASSERT_EQ(cut.size(), 2U * 2 * 5 * 7);
  EXPECT_EQ(cut[0], full[1 * 7]);                                  // filter 0, row 0 <- old row 1
  EXPECT_EQ(cut[(3 * 5 + 4) * 7 + 6], full[(3 * 7 + 5) * 7 + 6]);  // last filter, row 4 <- row 5
  ExpectSameOutputs(before, after, {RandomTensor("X", {1, 2, 3, 5}, 6, -2.0F, 2.0F)}, 1e-5);
}

TEST(CropPaddingTapsTest, AWeightAnotherConvReadsIsCopiedForTheOneCut) {
  auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 2, 4, 4] X, float[1, 2, 40, 40] X2) => (float[1, 2, 4, 4] Y, float[1, 2, 40, 40] Z)
<float[2, 2, 3, 3] W>
{
  Y = Conv <dilations = [8, 8], pads = [8, 8, 8, 8]> (X, W)
  Z = Conv <dilations = [8, 8], pads = [8, 8, 8, 8]> (X2, W)
}
)");
  SetRandomInitializer(before, "W", {2, 2, 3, 3}, 7);
  auto after = before;
  EXPECT_EQ(RunPassOk("crop_padding_taps", after).changes, 1);
  EXPECT_NE(after.graph().node(0).input(1), "W");
  EXPECT_EQ(Dims(after, after.graph().node(0).input(1)), (std::vector<int64_t>{2, 2, 1, 1}));
  EXPECT_EQ(after.graph().node(1).input(1), "W");
  EXPECT_EQ(Dims(after, "W"), (std::vector<int64_t>{2, 2, 3, 3}));
  EXPECT_EQ(InitializerValues(after, "W"), InitializerValues(before, "W"));
  ExpectSameOutputs(
      before, after,
      {RandomTensor("X", {1, 2, 4, 4}, 8, -2.0F, 2.0F), RandomTensor("X2", {1, 2, 40, 40}, 9, -2.0F, 2.0F)}, 1e-5);
}

TEST(CropPaddingTapsTest, AConvWhoseInputSizeIsOpenOrWhosePadsAreAutomaticStays) {
  // A symbolic height: another input size may reach every tap.
  ExpectPassChangesNothing("crop_padding_taps", ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 2, H, 14] X) => (float[1, 2, H, 14] Y)
<float[2, 2, 3, 3] W = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9}>
{
  Y = Conv <dilations = [24, 24], pads = [24, 24, 24, 24]> (X, W)
}
)"));
  ExpectPassChangesNothing("crop_padding_taps", ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 2, 14, 14] X) => (float[1, 2, 14, 14] Y)
<float[2, 2, 3, 3] W = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9}>
{
  Y = Conv <dilations = [24, 24], auto_pad = "SAME_UPPER"> (X, W)
}
)"));
  // Every tap of a plain 3 x 3 convolution reads the input somewhere.
  ExpectPassChangesNothing("crop_padding_taps", ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 2, 5, 5] X) => (float[1, 2, 5, 5] Y)
<float[2, 2, 3, 3] W = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9}>
{
  Y = Conv <pads = [1, 1, 1, 1]> (X, W)
}
)"));
}

}  // namespace
}  // namespace onnxq
