// PadConvInputChannels: a QDQ convolution over 3 input channels reads 4, the fourth the zero point's
// code (0.0 once dequantized) against zero filters. Checked: the padded weights (the original ones
// first, then zeros) and the Pad's pads and value, that ONNX Runtime still runs one QLinearConv with
// nothing float and computes the same codes, and the convolutions the rewrite must leave alone
// (channels already a multiple of 4, too few or odd output channels, grouped, uint8 or offset weights,
// small inputs, opset 10).
#include "quantizer/pad_conv_input_channels.h"

#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "ir/graph_view.h"
#include "ir/tensor_util.h"
#include "onnxq/runnability.h"
#include "passes/pass_test_util.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;

struct ConvSpec {
  int64_t channels = 3;
  int64_t outputs = 16;
  int64_t group = 1;
  int64_t size = 32;  // input height and width
  int64_t stride = 1;
  int opset = 13;
  std::string weight_zero_point = "int8 zw = {0}";
};

// X[1, C, S, S] -> Q(1/40, 128) -> DQ -> Conv(DQ(w int8 [M, C / group, 3, 3]), pads 1) -> Q(1/8, 128) -> DQ -> Y.
// The weights are codes (i * 37) % 255 - 127, so every input channel matters.
onnx::ModelProto QdqConv(const ConvSpec& spec) {
  const std::string c = std::to_string(spec.channels);
  const std::string m = std::to_string(spec.outputs);
  const std::string s = std::to_string(spec.size);
  const std::string out = std::to_string((spec.size - 1) / spec.stride + 1);  // kernel 3, pads 1
  auto model = ParseModelText("<ir_version: 8, opset_import: [\"\" : " + std::to_string(spec.opset) + R"(]>
g (float[1,)" + c + "," + s + "," +
                              s + "] X) => (float[1," + m + "," + out + "," + out + R"(] Y)
<float sx = {0.025}, uint8 zx = {128}, float sw = {0.01}, )" +
                              spec.weight_zero_point + R"(, float sy = {0.125}, uint8 zy = {128}>
{
  xq = QuantizeLinear (X, sx, zx)
  x = DequantizeLinear (xq, sx, zx)
  wf = DequantizeLinear (w, sw, zw)
  y = Conv <group: int = )" + std::to_string(spec.group) +
                              ", strides: ints = [" + std::to_string(spec.stride) + ", " + std::to_string(spec.stride) +
                              R"(], pads: ints = [1, 1, 1, 1]> (x, wf)
  yq = QuantizeLinear (y, sy, zy)
  Y = DequantizeLinear (yq, sy, zy)
}
)");
  const std::vector<int64_t> dims{spec.outputs, spec.channels / spec.group, 3, 3};
  std::vector<int64_t> codes(static_cast<size_t>(dims[0] * dims[1] * 9));
  for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<int64_t>(i * 37 % 255) - 127;
  const int32_t type = spec.weight_zero_point.starts_with("uint8") ? onnx::TensorProto::UINT8 : onnx::TensorProto::INT8;
  if (type == onnx::TensorProto::UINT8) {
    for (auto& code : codes) code += 128;
  }
  *model.mutable_graph()->add_initializer() = MakeIntTensor("w", type, dims, codes);
  return model;
}

Feeds Input(const ConvSpec& spec) {
  return {testing::RandomTensor("X", {1, spec.channels, spec.size, spec.size}, 7, -3.0F, 3.0F)};
}

int Pad(onnx::ModelProto& model) { return PadConvInputChannels(model.mutable_graph(), DefaultOpset(model)); }

TEST(PadConvInputChannelsTest, ReadsFourChannelsTheFourthZero) {
  const ConvSpec spec;
  auto model = QdqConv(spec);
  const auto before = testing::RunFirstOutput(model, Input(spec));
  ASSERT_EQ(Pad(model), 1);
  EXPECT_NO_THROW(onnx::checker::check_model(model));
  // The original DQs had only the Conv to read them: they and the 3-channel weights are gone.
  EXPECT_EQ(testing::OpCounts(model),
            (std::map<std::string, int>{{"QuantizeLinear", 2}, {"DequantizeLinear", 3}, {"Pad", 1}, {"Conv", 1}}));
  EXPECT_EQ(testing::FindInitializer(model, "w"), nullptr);

  const auto* conv = testing::FindNode(model, "Conv");
  const auto* pad = testing::FindNode(model, "Pad");
  ASSERT_NE(conv, nullptr);
  ASSERT_NE(pad, nullptr);
  EXPECT_EQ(pad->input(0), "xq");
  EXPECT_EQ(pad->input(2), "zx") << "padded with the zero point's code";
  EXPECT_EQ(testing::InitializerValues(model, pad->input(1)), (std::vector<float>{0, 0, 0, 0, 0, 1, 0, 0}));
  // The weights: [16, 4, 3, 3], each filter's 27 original codes then 9 zeros.
  const onnx::NodeProto* weight_dq = nullptr;
  for (const auto& node : model.graph().node()) {
    if (node.output(0) == conv->input(1)) weight_dq = &node;
  }
  ASSERT_NE(weight_dq, nullptr);
  const auto* weights = testing::FindInitializer(model, weight_dq->input(0));
  ASSERT_NE(weights, nullptr);
  EXPECT_EQ(Dims(*weights), (std::vector<int64_t>{16, 4, 3, 3}));
  EXPECT_EQ(weights->data_type(), onnx::TensorProto::INT8);
  const auto codes = ToInt64s(*weights);
  ASSERT_TRUE(codes.ok());
  for (int64_t m = 0; m < 16; ++m) {
    for (int64_t k = 0; k < 36; ++k) {
      const int64_t original = m * 27 + k;
      const int64_t expected = k < 27 ? static_cast<int64_t>(original * 37 % 255) - 127 : 0;
      ASSERT_EQ((*codes)[static_cast<size_t>(m * 36 + k)], expected) << "filter " << m << ", element " << k;
    }
  }

  // ONNX Runtime: one QLinearConv, the Pad on the uint8 codes, nothing float; the same output codes up to
  // one step (its symmetric kernel and the generic one may round a tie differently).
  const auto runnability = InspectRunnability(model);
  ASSERT_TRUE(runnability.ok()) << runnability.status().message();
  EXPECT_EQ(runnability->integer_kernels.count("QLinearConv"), 1U) << RunnabilitySummary(*runnability);
  EXPECT_EQ(runnability->integer_data_movement.count("Pad"), 1U) << RunnabilitySummary(*runnability);
  EXPECT_TRUE(runnability->float_between_qdq.empty()) << RunnabilitySummary(*runnability);
  const auto after = testing::RunFirstOutput(model, Input(spec));
  ASSERT_EQ(after.size(), before.size());
  size_t differing = 0;
  for (size_t i = 0; i < after.size(); ++i) {
    ASSERT_NEAR(after[i], before[i], 0.125F + 1e-6F) << i;
    if (after[i] != before[i]) ++differing;
  }
  EXPECT_LT(differing, after.size() / 100) << "a code off by one is a rounding tie, not the rule";
}

TEST(PadConvInputChannelsTest, OneAndTwoChannelsPadToFourToo) {
  for (const int64_t channels : {1, 2, 5}) {
    ConvSpec spec;
    spec.channels = channels;
    auto model = QdqConv(spec);
    const auto before = testing::RunFirstOutput(model, Input(spec));
    ASSERT_EQ(Pad(model), 1) << channels;
    const auto* pad = testing::FindNode(model, "Pad");
    ASSERT_NE(pad, nullptr);
    const float added = static_cast<float>((4 - channels % 4) % 4);
    EXPECT_EQ(testing::InitializerValues(model, pad->input(1)), (std::vector<float>{0, 0, 0, 0, 0, added, 0, 0}));
    const auto after = testing::RunFirstOutput(model, Input(spec));
    ASSERT_EQ(after.size(), before.size());
    for (size_t i = 0; i < after.size(); ++i) ASSERT_NEAR(after[i], before[i], 0.125F + 1e-6F) << channels << ": " << i;
  }
}

TEST(PadConvInputChannelsTest, LeavesConvolutionsTheKernelWouldNotTake) {
  const auto untouched = [](const ConvSpec& spec, const std::string& why) {
    auto model = QdqConv(spec);
    EXPECT_EQ(Pad(model), 0) << why;
    EXPECT_EQ(testing::OpCounts(model).count("Pad"), 0U) << why;
  };
  ConvSpec spec;
  spec.channels = 4;
  untouched(spec, "channels already a multiple of 4");
  spec = {};
  spec.outputs = 12;
  untouched(spec, "output channels not a multiple of 8");
  spec.outputs = 8;
  untouched(spec, "fewer than 16 output channels");
  spec = {};
  spec.group = 3;
  spec.outputs = 48;
  untouched(spec, "grouped");
  spec = {};
  spec.weight_zero_point = "uint8 zw = {128}";
  untouched(spec, "uint8 weights");
  spec.weight_zero_point = "int8 zw = {3}";
  untouched(spec, "weights with a zero point besides 0");
  spec = {};
  spec.size = 8;
  untouched(spec, "64 positions: the Pad costs what the kernel saves");
  spec = {};
  spec.stride = 4;
  untouched(spec, "32 x 32 at stride 4: 64 output positions");
  spec.stride = 1;
  auto strided = QdqConv(spec);
  EXPECT_EQ(Pad(strided), 1) << "the same at stride 1";
  spec = {};
  spec.opset = 10;
  untouched(spec, "Pad takes its value as an attribute, float only, before opset 11");
}

TEST(PadConvInputChannelsTest, SizesInputsFromTheFloatShapesWhenTheGraphHasNone) {
  // An input of unknown size is padded; the float graph's shapes tell a small one.
  ConvSpec spec;
  auto model = QdqConv(spec);
  auto* dims = model.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  dims->mutable_dim(2)->set_dim_param("H");
  dims->mutable_dim(3)->set_dim_param("W");
  auto unknown = model;
  EXPECT_EQ(Pad(unknown), 1);
  onnx::ValueInfoProto small = model.graph().input(0);
  auto* shape = small.mutable_type()->mutable_tensor_type()->mutable_shape();
  shape->mutable_dim(2)->set_dim_value(4);
  shape->mutable_dim(3)->set_dim_value(4);
  model.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->clear_shape();
  EXPECT_EQ(PadConvInputChannels(model.mutable_graph(), 13, {&small, 1}), 0);
  EXPECT_EQ(PadConvInputChannels(model.mutable_graph(), 13), 1);
}

TEST(PadConvInputChannelsTest, KeepsWhatOtherNodesStillRead) {
  // The input's DQ is also a graph output: it stays, beside the padded one.
  ConvSpec spec;
  auto model = QdqConv(spec);
  *model.mutable_graph()->add_output() = model.graph().input(0);
  model.mutable_graph()->mutable_output(1)->set_name("x");
  ASSERT_EQ(Pad(model), 1);
  EXPECT_NO_THROW(onnx::checker::check_model(model));
  EXPECT_EQ(testing::OpCounts(model).at("DequantizeLinear"), 4);
  const auto outputs = testing::RunAllOutputs(model, Input(spec));
  ASSERT_EQ(outputs.size(), 2U);
  EXPECT_EQ(outputs[1].size(), 3U * 32 * 32);
}

TEST(PadConvInputChannelsTest, RunsForTheRuntimesKernelsOnly) {
  QuantizeOptions options;
  EXPECT_TRUE(PadsConvInputChannels(options));
  options.activation_type = QuantType::kInt16;
  EXPECT_FALSE(PadsConvInputChannels(options)) << "16-bit activations: no QLinearConv";
  options = {};
  options.weight_type = QuantType::kUInt8;
  EXPECT_FALSE(PadsConvInputChannels(options)) << "uint8 weights: not the symmetric kernel";
  options = {};
  options.npu_mode = NpuMode::kCnn;
  EXPECT_FALSE(PadsConvInputChannels(options)) << "an NPU compiles its own kernels";
}

}  // namespace
}  // namespace onnxq
