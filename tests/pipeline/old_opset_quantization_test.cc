// Models older than the Q/DQ ops they need: opset 7-9 is raised to 10 (relabelled when no op changes
// meaning, else by ONNX's version converter); from 10 on nothing is converted, and a model below 13
// gets ONNX Runtime's com.microsoft QuantizeLinear / DequantizeLinear for per-channel weights. Each
// result passes the ONNX checker, runs in ONNX Runtime, matches the same model quantized at opset 13
// and stays close to float.
#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <map>

#include "calibration/onnxruntime_backend.h"
#include "ir/graph_view.h"
#include "onnxq/quantize.h"
#include "passes/pass_test_util.h"
#include "testing/random_data.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::HasWarning;
using testing::OpCounts;
using testing::ParseModelText;
using testing::RunFirstOutput;
using testing::VectorReader;

// Conv with weights in Constant nodes -> Relu -> Softmax over the last axis, on a dynamic batch and
// width: the same function at every opset from 7 (`softmax_axis` 3 flattens to [N*C*H, W] before 13).
std::string ConvSoftmax(int opset, int ir_version, const std::string& softmax_axis = "<axis = 3>") {
  return "<ir_version: " + std::to_string(ir_version) + ", opset_import: [\"\" : " + std::to_string(opset) + R"(]>
g (float[N,2,4,W] X) => (float[N,3,4,W] Y)
{
  Wt = Constant <value = float[3,2,1,1] {0.5, -0.25, 0.1, 0.2, -0.3, 0.05}> ()
  B = Constant <value = float[3] {0.1, -0.2, 0.3}> ()
  C = Conv (X, Wt, B)
  R = Relu (C)
  Y = Softmax )" +
         softmax_axis + R"( (R)
}
)";
}

// Uniform values in [-3, 3) for input X.
Feeds BatchOf(uint32_t seed, std::vector<int64_t> shape) {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  const auto values = testing::LcgUniform(static_cast<size_t>(n), seed * 2654435761U + 1U, -3.0F, 3.0F);
  return {Tensor::FromFloats("X", std::move(shape), values)};
}

Feeds Batch(uint32_t seed, int64_t width) { return BatchOf(seed, {2, 2, 4, width}); }

std::vector<Feeds> CalibrationBatches() { return {Batch(1, 5), Batch(2, 5), Batch(3, 5), Batch(4, 5)}; }

struct QdqCount {
  int onnx = 0;
  int microsoft = 0;
  int with_axis = 0;
};

QdqCount CountQdq(const onnx::ModelProto& model) {
  QdqCount count;
  for (const auto& node : model.graph().node()) {
    if (node.op_type() != "QuantizeLinear" && node.op_type() != "DequantizeLinear") continue;
    (node.domain() == "com.microsoft" ? count.microsoft : count.onnx) += 1;
    for (const auto& attr : node.attribute()) count.with_axis += attr.name() == "axis" ? 1 : 0;
  }
  return count;
}

int64_t OpsetOf(const onnx::ModelProto& model, const std::string& domain) {
  for (const auto& opset : model.opset_import()) {
    if (opset.domain() == domain) return opset.version();
  }
  return 0;
}

// max |a - b| <= fraction x max |a|.
void ExpectClose(const onnx::ModelProto& reference, const onnx::ModelProto& model, const Feeds& feeds, float fraction) {
  testing::ExpectWithinFractionOfPeak(RunFirstOutput(reference, feeds), RunFirstOutput(model, feeds), fraction);
}

// 8-bit tolerance against float: the Softmax input's quantization step (~1/64 of its range) moves
// each output by ~1.5%, and each output is quantized again.
constexpr float kFloatTolerance = 0.08F;

onnx::ModelProto QuantizeOk(const onnx::ModelProto& model, bool per_channel, QuantizeReport* report,
                            std::vector<Feeds> batches = CalibrationBatches()) {
  VectorReader reader(std::move(batches));
  QuantizeOptions options;
  options.per_channel = per_channel;
  auto quantized = QuantizeModel(model, &reader, options, report);
  EXPECT_TRUE(quantized.ok()) << quantized.status().message();
  return quantized.ok() ? *quantized : onnx::ModelProto();
}

struct Case {
  int opset;
  int ir_version;
  bool per_channel;
  int opset_after;
  bool microsoft;  // expected Q/DQ domain
};

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  return "opset" + std::to_string(info.param.opset) + (info.param.per_channel ? "_per_channel" : "_per_tensor");
}

class OldOpsetQuantizationTest : public ::testing::TestWithParam<Case> {};

TEST_P(OldOpsetQuantizationTest, QuantizesAndRuns) {
  const Case& c = GetParam();
  const onnx::ModelProto model = ParseModelText(ConvSoftmax(c.opset, c.ir_version));
  QuantizeReport report;
  const onnx::ModelProto quantized = QuantizeOk(model, c.per_channel, &report);
  ASSERT_GT(quantized.graph().node_size(), 0);

  EXPECT_EQ(DefaultOpset(quantized), c.opset_after);
  EXPECT_GE(quantized.ir_version(), 4);
  EXPECT_EQ(report.weights_quantized, 1);
  const QdqCount count = CountQdq(quantized);
  const bool noted = HasWarning(report, "com.microsoft");
  if (c.microsoft) {
    EXPECT_EQ(count.onnx, 0);
    EXPECT_GT(count.microsoft, 0);
    EXPECT_EQ(OpsetOf(quantized, "com.microsoft"), 1);
    EXPECT_TRUE(noted);
  } else {
    EXPECT_EQ(count.microsoft, 0);
    EXPECT_GT(count.onnx, 0);
    EXPECT_EQ(OpsetOf(quantized, "com.microsoft"), 0);
    EXPECT_FALSE(noted);
  }
  EXPECT_EQ(count.with_axis, c.per_channel ? 2 : 0);  // the weight's and the int32 bias's DequantizeLinear
  // The 1.12 checker skips ops of domains it has no schemas for, once the domain is imported.
  EXPECT_NO_THROW(onnx::checker::check_model(quantized));
  // The same numbers as the model quantized at opset 13, with ONNX Q/DQ; close to float. Batch and
  // width differ from calibration's.
  const onnx::ModelProto reference = QuantizeOk(ParseModelText(ConvSoftmax(13, 7)), c.per_channel, nullptr);
  for (const Feeds& feeds : {Batch(9, 7), Batch(10, 5)}) {
    ExpectClose(reference, quantized, feeds, 1e-5F);
    ExpectClose(model, quantized, feeds, kFloatTolerance);
  }
}

INSTANTIATE_TEST_SUITE_P(Opsets, OldOpsetQuantizationTest,
                         ::testing::Values(Case{7, 3, false, 10, false}, Case{7, 3, true, 10, true},
                                           Case{8, 3, false, 10, false}, Case{9, 4, false, 10, false},
                                           Case{9, 4, true, 10, true}, Case{10, 5, false, 10, false},
                                           Case{10, 5, true, 10, true}, Case{11, 6, false, 11, false},
                                           Case{11, 6, true, 11, true}, Case{12, 7, false, 12, false},
                                           Case{12, 7, true, 12, true}, Case{13, 7, true, 13, false}),
                         CaseName);

TEST(OldOpsetTest, Opset9IsRelabelledNotConverted) {
  // Softmax with its default axis on a dynamic shape: ONNX's version converter fails on it ("input
  // shape is unknown") and, given shapes, writes a Reshape to [-1, 3, 4, -1] that cannot run.
  // Relabelling needs neither: Softmax-1 is Softmax at opset 10 too.
  const onnx::ModelProto model = ParseModelText(ConvSoftmax(9, 4, ""));
  for (const bool per_channel : {false, true}) {
    QuantizeReport report;
    const onnx::ModelProto quantized = QuantizeOk(model, per_channel, &report);
    ASSERT_GT(quantized.graph().node_size(), 0);
    EXPECT_EQ(DefaultOpset(quantized), 10);
    EXPECT_TRUE(HasWarning(report, "without conversion"));
    const std::map<std::string, int> ops = OpCounts(quantized);
    EXPECT_EQ(ops.count("Reshape"), 0U);
    EXPECT_EQ(ops.at("Softmax"), 1);
    EXPECT_NO_THROW(onnx::checker::check_model(quantized));
    ExpectClose(model, quantized, Batch(11, 6), kFloatTolerance);
  }
}

TEST(OldOpsetTest, CompatibleOpsAreTouchedUp) {
  // BatchNormalization-7 with spatial = 1 loses the attribute (gone at 9); Dropout-7's unread mask
  // output goes (bool from 10); MaxPool-8 and Gemm-7 are compatible as they are.
  const onnx::ModelProto model = ParseModelText(R"(
<ir_version: 3, opset_import: ["" : 8]>
g (float[1,2,4,4] X) => (float[1,3] Y)
<float[3,2,1,1] W = {0.5, -0.25, 0.1, 0.2, -0.3, 0.05}, float[3] s = {1.0, 0.5, 2.0}, float[3] b = {0.1, 0.0, -0.1},
 float[3] m = {0.0, 0.1, 0.2}, float[3] v = {1.0, 2.0, 0.5}, float[3,3] G = {1, 0, 0, 0, 1, 0, 0, 0, 1},
 float[3] gc = {0.5, 0.0, -0.5}>
{
  C = Conv (X, W)
  N = BatchNormalization <spatial = 1> (C, s, b, m, v)
  P = MaxPool <kernel_shape = [2, 2], strides = [2, 2]> (N)
  D, mask = Dropout (P)
  A = GlobalAveragePool (D)
  F = Flatten (A)
  Y = Gemm (F, G, gc)
}
)");
  QuantizeReport report;
  const onnx::ModelProto quantized =
      QuantizeOk(model, false, &report, {BatchOf(1, {1, 2, 4, 4}), BatchOf(2, {1, 2, 4, 4}), BatchOf(3, {1, 2, 4, 4})});
  ASSERT_GT(quantized.graph().node_size(), 0);
  EXPECT_EQ(DefaultOpset(quantized), 10);
  EXPECT_NO_THROW(onnx::checker::check_model(quantized));
  EXPECT_TRUE(HasWarning(report, "without conversion"));
  ExpectClose(model, quantized, BatchOf(4, {1, 2, 4, 4}), kFloatTolerance);
}

TEST(OldOpsetTest, OpsThatChangedAreConvertedToOpset10) {
  // Upsample-9 and Slice-1 changed at 10: ONNX's version converter writes Resize and Slice-10.
  const onnx::ModelProto model = ParseModelText(R"(
<ir_version: 4, opset_import: ["" : 9]>
g (float[N,2,4,W] X) => (float[N,3,8,W2] Y)
<float[3,2,1,1] Wt = {0.5, -0.25, 0.1, 0.2, -0.3, 0.05}, float[4] sc = {1.0, 1.0, 2.0, 2.0}>
{
  C = Conv (X, Wt)
  R = Relu (C)
  U = Upsample <mode = "nearest"> (R, sc)
  Y = Slice <starts = [1], ends = [7], axes = [2]> (U)
}
)");
  QuantizeReport report;
  const onnx::ModelProto quantized = QuantizeOk(model, false, &report);
  ASSERT_GT(quantized.graph().node_size(), 0);
  EXPECT_EQ(DefaultOpset(quantized), 10);
  EXPECT_TRUE(HasWarning(report, "version converter"));
  const std::map<std::string, int> ops = OpCounts(quantized);
  EXPECT_EQ(ops.count("Upsample"), 0U);
  EXPECT_EQ(ops.at("Resize"), 1);
  EXPECT_NO_THROW(onnx::checker::check_model(quantized));
  ExpectClose(model, quantized, Batch(12, 5), kFloatTolerance);
}

TEST(OldOpsetTest, WhyOpset9IsRaised) {
  // com.microsoft Q/DQ at opset 9 would need no conversion, but ONNX Runtime cannot load them around a
  // Conv: its QDQ fusion writes a default-domain QLinearConv, which starts at opset 10. (Should a
  // newer ONNX Runtime load this, opset 7-9 models could keep their opset.)
  QuantizeReport report;
  onnx::ModelProto quantized = QuantizeOk(ParseModelText(ConvSoftmax(9, 4)), /*per_channel=*/true, &report);
  ASSERT_EQ(DefaultOpset(quantized), 10);
  ASSERT_GT(CountQdq(quantized).microsoft, 0);
  for (auto& opset : *quantized.mutable_opset_import()) {
    if (opset.domain().empty()) opset.set_version(9);
  }
  auto session = CreateOnnxRuntimeSession(quantized);
  ASSERT_FALSE(session.ok());
  EXPECT_NE(session.status().message().find("QLinearConv"), std::string::npos) << session.status().message();
  auto plain = CreateOnnxRuntimeSession(quantized, {.optimize_graph = false});
  EXPECT_TRUE(plain.ok()) << plain.status().message();  // without graph optimizations it loads
}

TEST(OldOpsetErrorsTest, OpsetBelowSevenSaysWhatToDo) {
  const onnx::ModelProto model = ParseModelText(R"(
<ir_version: 3, opset_import: ["" : 6]>
g (float[1,3] X) => (float[1,3] Y)
{
  Y = Relu (X)
}
)");
  VectorReader reader({{Tensor::FromFloats("X", {1, 3}, std::vector<float>{1, 2, 3})}});
  auto quantized = QuantizeModel(model, &reader, {});
  ASSERT_FALSE(quantized.ok());
  EXPECT_EQ(quantized.status().code(), StatusCode::kUnsupported);
  const std::string& message = quantized.status().message();
  EXPECT_NE(message.find("opset 6"), std::string::npos) << message;
  EXPECT_NE(message.find("re-export"), std::string::npos) << message;
}

TEST(OldOpsetErrorsTest, ZeroStrideIsAnInvalidModelNotACrash) {
  const onnx::ModelProto model = ParseModelText(R"(
<ir_version: 7, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,3,4,4] Y)
<float[3,2,1,1] W = {0.5, -0.25, 0.1, 0.2, -0.3, 0.05}>
{
  Y = Conv <strides = [0, 1]> (X, W)
}
)");
  auto with_name = model;
  with_name.mutable_graph()->mutable_node(0)->set_name("conv_zero");
  VectorReader reader({{Tensor::FromFloats("X", {1, 2, 4, 4}, std::vector<float>(32, 1.0F))}});
  auto quantized = QuantizeModel(with_name, &reader, {});
  ASSERT_FALSE(quantized.ok());
  EXPECT_EQ(quantized.status().code(), StatusCode::kInvalidModel);
  const std::string& message = quantized.status().message();
  EXPECT_NE(message.find("conv_zero"), std::string::npos) << message;
  EXPECT_NE(message.find("strides"), std::string::npos) << message;
}

TEST(OldOpsetErrorsTest, ShapeInferenceFailureIsANote) {
  // The value_info of C is wrong (Conv gives [1,3,4,4]): ONNX shape inference throws on it, ONNX
  // Runtime does not mind. Quantization goes on with the types it has.
  onnx::ModelProto model = ParseModelText(R"(
<ir_version: 7, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,3,4,4] Y)
<float[3,2,1,1] W = {0.5, -0.25, 0.1, 0.2, -0.3, 0.05}>
{
  C = Conv (X, W)
  Y = Relu (C)
}
)");
  auto* info = model.mutable_graph()->add_value_info();
  info->set_name("C");
  auto* type = info->mutable_type()->mutable_tensor_type();
  type->set_elem_type(onnx::TensorProto::FLOAT);
  for (const int64_t d : {1, 3, 9, 9}) type->mutable_shape()->add_dim()->set_dim_value(d);
  const Feeds feeds = {Tensor::FromFloats("X", {1, 2, 4, 4}, std::vector<float>(32, 0.5F))};
  VectorReader reader({feeds});
  QuantizeReport report;
  auto quantized = QuantizeModel(model, &reader, {}, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_TRUE(HasWarning(report, "shape inference failed"));
  EXPECT_EQ(report.weights_quantized, 1);
  EXPECT_NO_THROW(onnx::checker::check_model(*quantized));
}

}  // namespace
}  // namespace onnxq
