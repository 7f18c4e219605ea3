// Float16 and mixed-precision models through the whole pipeline: weights stored as float16 behind
// Cast(to=FLOAT) are quantized like float32 ones, and a model computing in float16 is quantized with
// its float16 inputs and outputs kept, close to the float16 model's results.
#include <gtest/gtest.h>
#include <onnx/checker.h>

#include "ir/tensor_util.h"
#include "onnxq/calibrate.h"
#include "onnxq/quantize.h"
#include "passes/pass_test_util.h"
#include "testing/random_data.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ElemType;
using testing::FindInitializer;
using testing::ParseModelText;
using testing::RunFirstOutput;
using testing::RunFloat16Model;
using testing::VectorReader;

Tensor Values(const std::string& name, std::vector<int64_t> shape, uint32_t seed, float low, float high) {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  const auto values = testing::LcgUniform(static_cast<size_t>(n), seed * 2654435761U + 7U, low, high);
  return Tensor::FromFloats(name, std::move(shape), values);
}

void AddHalf(onnx::ModelProto& model, const std::string& name, const std::vector<int64_t>& dims, uint32_t seed) {
  const Tensor t = Values(name, dims, seed, -1.0F, 1.0F);
  *model.mutable_graph()->add_initializer() = MakeFloat16Tensor(name, dims, t.floats());
}

// Within 8-bit tolerance: max |error| at most 5% of the largest output magnitude.
void ExpectClose(const std::vector<float>& expected, const std::vector<float>& actual) {
  testing::ExpectWithinFractionOfPeak(expected, actual, 0.05F);
}

std::vector<Feeds> Calibration(const std::string& input, const std::vector<int64_t>& shape) {
  std::vector<Feeds> batches;
  for (uint32_t seed = 1; seed <= 8; ++seed) batches.push_back({Values(input, shape, seed, -2.0F, 2.0F)});
  return batches;
}

TEST(Float16ModelTest, WeightsBehindCastsAreQuantized) {
  // IS-Net's layout: float32 activations, every weight a float16 initializer read through a Cast.
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[1,2,6,6] X) => (float[1,4,6,6] Y)
{
  Wf = Cast <to = 1> (W)
  Bf = Cast <to = 1> (B)
  C = Conv <pads = [1, 1, 1, 1]> (X, Wf, Bf)
  R = Relu (C)
  W2f = Cast <to = 1> (W2)
  Y = Conv (R, W2f)
}
)");
  AddHalf(model, "W", {4, 2, 3, 3}, 1);
  AddHalf(model, "B", {4}, 2);
  AddHalf(model, "W2", {4, 4, 1, 1}, 3);
  VectorReader reader(Calibration("X", {1, 2, 6, 6}));
  QuantizeOptions options;
  options.per_channel = true;
  QuantizeReport report;
  auto quantized = QuantizeModel(model, &reader, options, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_EQ(report.weights_quantized, 2);
  for (const auto& left : report.left_float) EXPECT_NE(left.op_type, "Conv") << left.reason;
  EXPECT_NE(FindInitializer(*quantized, "Wf_quantized"), nullptr);
  EXPECT_NE(FindInitializer(*quantized, "Bf_quantized"), nullptr);
  EXPECT_NE(FindInitializer(*quantized, "W2f_quantized"), nullptr);
  for (const auto& node : quantized->graph().node()) EXPECT_NE(node.op_type(), "Cast");
  EXPECT_NO_THROW(onnx::checker::check_model(*quantized));
  const Feeds feeds = {Values("X", {1, 2, 6, 6}, 4, -2.0F, 2.0F)};
  ExpectClose(RunFirstOutput(model, feeds), RunFirstOutput(*quantized, feeds));
}

TEST(Float16ModelTest, Float16LayersBehindAFloat32InterfaceAreQuantized) {
  // onnxconverter-common's keep_io_types export (IS-Net): float32 interface, float16 layers and weights
  // between casts, a float32 island (MaxPool) between two more.
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[1,2,8,8] X) => (float[1,4,4,4] Y)
{
  Xh = Cast <to = 10> (X)
  C = Conv <pads = [1, 1, 1, 1]> (Xh, W, B)
  R = Relu (C)
  Rf = Cast <to = 1> (R)
  P = MaxPool <kernel_shape = [2, 2], strides = [2, 2]> (Rf)
  Ph = Cast <to = 10> (P)
  D = Conv (Ph, W2)
  Y = Cast <to = 1> (D)
}
)");
  AddHalf(model, "W", {4, 2, 3, 3}, 11);
  AddHalf(model, "B", {4}, 12);
  AddHalf(model, "W2", {4, 4, 1, 1}, 13);
  VectorReader reader(Calibration("X", {1, 2, 8, 8}));
  QuantizeReport report;
  auto quantized = QuantizeModel(model, &reader, {}, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_EQ(report.weights_quantized, 2);
  for (const auto& left : report.left_float) EXPECT_NE(left.op_type, "Conv") << left.reason;
  EXPECT_NE(FindInitializer(*quantized, "W_quantized"), nullptr);
  EXPECT_NE(FindInitializer(*quantized, "W2_quantized"), nullptr);
  EXPECT_EQ(ElemType(quantized->graph().input(0)), onnx::TensorProto::FLOAT);
  EXPECT_EQ(ElemType(quantized->graph().output(0)), onnx::TensorProto::FLOAT);
  EXPECT_NO_THROW(onnx::checker::check_model(*quantized));
  const Feeds feeds = {Values("X", {1, 2, 8, 8}, 6, -2.0F, 2.0F)};
  ExpectClose(RunFirstOutput(model, feeds), RunFirstOutput(*quantized, feeds));
}

// Conv -> Relu -> GlobalAveragePool -> Flatten -> Gemm, every tensor float16, X [1,2,8,8].
onnx::ModelProto Float16ConvGemm() {
  auto model = testing::Float16ConvGemmGraph(8);
  AddHalf(model, "W", {8, 2, 3, 3}, 4);
  AddHalf(model, "B", {8}, 5);
  AddHalf(model, "Wg", {3, 8}, 6);
  AddHalf(model, "Bg", {3}, 7);
  return model;
}

TEST(Float16ModelTest, Float16ModelKeepsItsInterface) {
  const onnx::ModelProto model = Float16ConvGemm();
  for (const bool per_channel : {false, true}) {
    SCOPED_TRACE(per_channel ? "per-channel" : "per-tensor");
    // Calibration data is float32, as data readers give it.
    VectorReader reader(Calibration("X", {1, 2, 8, 8}));
    QuantizeOptions options;
    options.per_channel = per_channel;
    QuantizeReport report;
    auto quantized = QuantizeModel(model, &reader, options, &report);
    ASSERT_TRUE(quantized.ok()) << quantized.status().message();
    EXPECT_EQ(report.weights_quantized, 2);
    EXPECT_NE(FindInitializer(*quantized, "W_quantized"), nullptr);
    EXPECT_NE(FindInitializer(*quantized, "Wg_quantized"), nullptr);
    // The interface: the same names, float16.
    const auto& graph = quantized->graph();
    ASSERT_EQ(graph.input_size(), 1);
    EXPECT_EQ(graph.input(0).name(), "X");
    EXPECT_EQ(ElemType(graph.input(0)), onnx::TensorProto::FLOAT16);
    ASSERT_EQ(graph.output_size(), 1);
    EXPECT_EQ(graph.output(0).name(), "Y");
    EXPECT_EQ(ElemType(graph.output(0)), onnx::TensorProto::FLOAT16);
    EXPECT_EQ(graph.node(0).op_type(), "Cast");
    EXPECT_EQ(graph.node(graph.node_size() - 1).op_type(), "Cast");
    for (const auto& init : graph.initializer()) EXPECT_NE(init.data_type(), onnx::TensorProto::FLOAT16) << init.name();
    EXPECT_NO_THROW(onnx::checker::check_model(*quantized));
    // Samples the calibration saw (others may leave its min-max range and clip, which is not the point).
    for (const uint32_t seed : {2U, 5U}) {
      const Tensor x = Values("X", {1, 2, 8, 8}, seed, -2.0F, 2.0F);
      ExpectClose(RunFloat16Model(model, x), RunFloat16Model(*quantized, x));
    }
  }
}

TEST(Float16ModelTest, Float16ModelCalibratesFromATable) {
  // Calibrate once, quantize from the table: the prepared model (and its fingerprint) is the same.
  const onnx::ModelProto model = Float16ConvGemm();
  VectorReader reader(Calibration("X", {1, 2, 8, 8}));
  auto table = CalibrateModel(model, &reader, {});
  ASSERT_TRUE(table.ok()) << table.status().message();
  auto quantized = QuantizeModel(model, *table, {});
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_EQ(ElemType(quantized->graph().input(0)), onnx::TensorProto::FLOAT16);
  const Tensor x = Values("X", {1, 2, 8, 8}, 3, -2.0F, 2.0F);
  ExpectClose(RunFloat16Model(model, x), RunFloat16Model(*quantized, x));
}

}  // namespace
}  // namespace onnxq
