// Activations kept in float because 8 bits cannot hold them: found from calibration statistics (a
// non-finite range, too many octaves ahead of Log), with the nodes around them left float and the
// model's output faithful.
#include "quantizer/float_tensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "ir/graph_view.h"
#include "onnxq/quantize.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;
using testing::RunFirstOutput;
using testing::VectorReader;

// Y = 10 * Log(X * X): a power before Log, as in a log-mel spectrogram.
constexpr char kPowerThenLog[] = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,8] X) => (float[N,8] Y)
<float ten = {10.0}>
{
  P = Mul(X, X)
  L = Log(P)
  Y = Mul(L, ten)
}
)";

// `count` batches of one sample [1, 8]: signed magnitudes 10^U(lo, hi).
std::vector<Feeds> Batches(int count, float lo, float hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> exponent(lo, hi);
  std::vector<Feeds> batches;
  for (int b = 0; b < count; ++b) {
    std::vector<float> x(8);
    for (size_t i = 0; i < x.size(); ++i) x[i] = (i % 2 == 0 ? 1.0F : -1.0F) * std::pow(10.0F, exponent(rng));
    batches.push_back({Tensor::FromFloats("X", {1, 8}, x)});
  }
  return batches;
}

int CountOp(const onnx::ModelProto& model, const std::string& op) {
  int n = 0;
  for (const auto& node : model.graph().node()) n += node.op_type() == op ? 1 : 0;
  return n;
}

bool AnyWarningHas(const QuantizeReport& report, const std::string& text) {
  for (const auto& w : report.warnings) {
    if (w.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(FloatTensorsTest, FindsTheTensorsUpstreamOfLogThroughValueCarryingOps) {
  onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,4] X, float[N,4] Z) => (float[N,4] Y, float[N,4] R)
<float[4,4] W = {1,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,0,1}, float lo = {1e-10}, float hi = {1e10}>
{
  A = Conv(X, X)
  M = MatMul(X, W)
  C = Clip(M, lo, hi)
  Y = Log(C)
  S = Sigmoid(Z)
  R = Div(Z, S)
}
)");
  const GraphView graph(model.mutable_graph());
  const auto found = TensorsAheadOfRelativeErrorOps(graph, {"X", "M", "C", "Y", "Z", "S", "A"});
  // Log's input C <- Clip <- M <- MatMul <- X; Div's divisor S, produced by Sigmoid, which is not
  // followed further, so Z is not wanted.
  EXPECT_EQ(found, (std::map<std::string, size_t>{{"C", 0}, {"M", 0}, {"X", 0}, {"S", 1}}));
}

TEST(FloatTensorsTest, APowerSpanningManyOctavesBeforeLogStaysFloat) {
  const onnx::ModelProto model = ParseModelText(kPowerThenLog);
  VectorReader reader(Batches(32, -4.0F, 2.0F, 1));
  QuantizeReport report;
  const auto quantized = QuantizeModel(model, &reader, {}, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_TRUE(AnyWarningHas(report, "'P' spans too many octaves")) << "no warning names P";
  // The Mul producing P and the Log reading it stay float, so P has no Q/DQ at all.
  for (const auto& node : quantized->graph().node()) {
    if (node.op_type() == "QuantizeLinear") {
      EXPECT_NE(node.input(0), "P");
    }
  }
  // The output stays within float rounding of the float model's on held-out data.
  for (const Feeds& feeds : Batches(8, -4.0F, 2.0F, 2)) {
    const auto expected = RunFirstOutput(model, feeds);
    const auto actual = RunFirstOutput(*quantized, feeds);
    ASSERT_EQ(expected.size(), actual.size());
    for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1.0F) << i;
  }
}

TEST(FloatTensorsTest, APowerWithinAFewOctavesIsQuantized) {
  const onnx::ModelProto model = ParseModelText(kPowerThenLog);
  VectorReader reader(Batches(32, 0.0F, 0.3F, 1));  // |x| in [1, 2]: P in [1, 4]
  QuantizeReport report;
  const auto quantized = QuantizeModel(model, &reader, {}, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_FALSE(AnyWarningHas(report, "spans too many octaves"));
  bool p_quantized = false;
  for (const auto& node : quantized->graph().node()) {
    p_quantized = p_quantized || (node.op_type() == "QuantizeLinear" && node.input(0) == "P");
  }
  EXPECT_TRUE(p_quantized);
}

// A token sequence [N, 3, 8] into LayerNormalization: token 0 spreads over `spread`, the others
// over [-4, 4] (a Vision Transformer's class token beside its patch tokens).
std::vector<Feeds> Tokens(int count, float spread, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(-1.0F, 1.0F);
  std::vector<Feeds> batches;
  for (int b = 0; b < count; ++b) {
    std::vector<float> x(24);
    for (size_t i = 0; i < x.size(); ++i) x[i] = unit(rng) * (i < 8 ? spread : 4.0F);
    batches.push_back({Tensor::FromFloats("X", {1, 3, 8}, x)});
  }
  return batches;
}

// Quantized with every op marked (QdqPlacement=AllQuantizable): under the default placement this Add of
// a constant bias, which ONNX Runtime's QLinearAdd cannot take (an int8 constant beside uint8
// activations), stays float, and A with it; the check applies to any A that is quantized (a residual
// Add of two activations ahead of a transformer's LayerNormalization).
QuantizeOptions EveryOpQuantized() {
  QuantizeOptions options;
  options.placement = QdqPlacement::kAllQuantizable;
  return options;
}

constexpr char kLayerNorm[] = R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[N,3,8] X) => (float[N,3,8] Y)
<float[8] gamma = {1, 1, 1, 1, 1, 1, 1, 1}, float[8] beta = {0, 0, 0, 0, 0, 0, 0, 0}, float[8] b = {0.001, -0.001, 0.002, -0.002, 0, 0, 0, 0}>
{
  A = Add(X, b)
  Y = LayerNormalization<axis = -1>(A, gamma, beta)
}
)";

TEST(FloatTensorsTest, ARowNarrowerThanTheGridBeforeLayerNormalizationStaysFloat) {
  const onnx::ModelProto model = ParseModelText(kLayerNorm);
  onnx::ModelProto copy = model;
  const GraphView graph(copy.mutable_graph());
  EXPECT_EQ(TensorsAheadOfRelativeErrorOps(graph, {"A", "Y"}), (std::map<std::string, size_t>{{"A", 8}}));
  VectorReader reader(Tokens(16, 0.01F, 1));
  QuantizeReport report;
  const auto quantized = QuantizeModel(model, &reader, EveryOpQuantized(), &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_TRUE(AnyWarningHas(report, "'A' has rows that LayerNormalization scales up"));
  // Token 0 comes out of LayerNormalization as in float.
  const Feeds eval = Tokens(1, 0.01F, 2)[0];
  const auto expected = RunFirstOutput(model, eval);
  const auto actual = RunFirstOutput(*quantized, eval);
  ASSERT_EQ(actual.size(), 24U);
  for (size_t i = 0; i < 8; ++i) EXPECT_NEAR(actual[i], expected[i], 0.1F) << i;
}

TEST(FloatTensorsTest, RowsWideEnoughForTheGridBeforeLayerNormalizationAreQuantized) {
  const onnx::ModelProto model = ParseModelText(kLayerNorm);
  VectorReader reader(Tokens(16, 4.0F, 1));
  QuantizeReport report;
  const auto quantized = QuantizeModel(model, &reader, EveryOpQuantized(), &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_FALSE(AnyWarningHas(report, "LayerNormalization scales up"));
  bool a_quantized = false;
  for (const auto& node : quantized->graph().node()) {
    a_quantized = a_quantized || (node.op_type() == "QuantizeLinear" && node.input(0) == "A");
  }
  EXPECT_TRUE(a_quantized);
}

TEST(FloatTensorsTest, AnAdditiveMinusInfinityMaskStaysFloatAndStillMasks) {
  // Attention scores plus a key-padding mask of -inf where K is 0, then Softmax.
  onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,4] X, float[N,4] K) => (float[N,4] Y)
<float half = {0.5}, float zero = {0.0}, float neginf = {-1.0}>
{
  Keep = Greater(K, half)
  M = Where(Keep, zero, neginf)
  S = Add(X, M)
  Y = Softmax(S)
}
)");
  for (auto& init : *model.mutable_graph()->mutable_initializer()) {
    if (init.name() == "neginf") init.set_float_data(0, -std::numeric_limits<float>::infinity());
  }
  std::vector<Feeds> batches;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> value(-3.0F, 3.0F);
  for (int b = 0; b < 16; ++b) {
    std::vector<float> x(4);
    for (float& v : x) v = value(rng);
    const std::vector<float> k = {1.0F, 1.0F, b % 2 == 0 ? 1.0F : 0.0F, 0.0F};
    batches.push_back({Tensor::FromFloats("X", {1, 4}, x), Tensor::FromFloats("K", {1, 4}, k)});
  }
  VectorReader reader(batches);
  QuantizeReport report;
  const auto quantized = QuantizeModel(model, &reader, {.placement = QdqPlacement::kAllQuantizable}, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_TRUE(AnyWarningHas(report, "'S' holds non-finite values"));
  EXPECT_EQ(CountOp(*quantized, "Softmax"), 1);
  const auto expected = RunFirstOutput(model, batches[1]);
  const auto actual = RunFirstOutput(*quantized, batches[1]);
  ASSERT_EQ(actual.size(), 4U);
  EXPECT_EQ(actual[2], 0.0F);  // masked keys keep probability 0
  EXPECT_EQ(actual[3], 0.0F);
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(actual[i], expected[i], 0.02F) << i;
}

}  // namespace
}  // namespace onnxq
