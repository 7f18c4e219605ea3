// Graph forms found in models exported by other people, through the whole pipeline: nodes out of
// topological order, If subgraphs reading outer tensors, nothing left to quantize, models that are
// already quantized or fail the ONNX checker, awkward names, initializers listed as graph inputs,
// and ops of other domains. Each must quantize, pass the checker and run, or fail early and clearly.
#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "calibration/onnxruntime_backend.h"
#include "ir/tensor_util.h"
#include "onnxq/calibrate.h"
#include "onnxq/model_io.h"
#include "onnxq/quantize.h"
#include "onnxq/runnability.h"
#include "passes/pass_test_util.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::HasWarning;
using testing::MaxRelativeDifference;
using testing::OpCounts;
using testing::ParseModelText;
using testing::RandomSamples;
using testing::RunFirstOutput;
using testing::VectorReader;

// Counts the batches calibration asks for.
class CountingReader final : public CalibrationDataReader {
 public:
  explicit CountingReader(std::vector<Feeds> batches) : inner_(std::move(batches)) {}
  Result<std::optional<Feeds>> GetNext() override {
    ++reads;
    return inner_.GetNext();
  }
  Status Rewind() override { return inner_.Rewind(); }
  int reads = 0;

 private:
  VectorReader inner_;
};

std::string Joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

std::string ReasonOf(const QuantizeReport& report, const std::string& op_type) {
  for (const auto& decision : report.left_float) {
    if (decision.op_type == op_type) return decision.reason;
  }
  return "<" + op_type + " not left float>";
}

// Quantizes on `calibration`, checks the result passes the checker, and that its first output on
// `eval` is within `tolerance` (relative to the largest float value) of the float model's (of
// `reference`, when the model itself cannot run in ONNX Runtime).
onnx::ModelProto QuantizeCheckAndCompare(const onnx::ModelProto& model, const std::vector<Feeds>& calibration,
                                         const Feeds& eval, const QuantizeOptions& options, QuantizeReport& report,
                                         double tolerance = 0.05, const onnx::ModelProto* reference = nullptr) {
  VectorReader reader(calibration);
  auto quantized = QuantizeModel(model, &reader, options, &report);
  EXPECT_TRUE(quantized.ok()) << quantized.status().message();
  if (!quantized.ok()) return {};
  EXPECT_NO_THROW(onnx::checker::check_model(*quantized));
  const auto expected = RunFirstOutput(reference != nullptr ? *reference : model, eval);
  const auto actual = RunFirstOutput(*quantized, eval);
  EXPECT_FALSE(expected.empty());
  EXPECT_LE(MaxRelativeDifference(expected, actual), tolerance);
  return std::move(quantized).value();
}

// Conv -> Relu, with weights filled in by SetConvWeights.
void SetConvWeights(onnx::ModelProto& model) {
  testing::SetRandomInitializer(model, "W", {3, 2, 3, 3}, 1, -0.5F, 0.5F);
  testing::SetRandomInitializer(model, "B", {3}, 2, -0.2F, 0.2F);
}

TEST(ModelFormsTest, NodesOutOfTopologicalOrderAreSortedBeforeAnythingElse) {
  const auto model = testing::LoadTestModel("resnet_fmnist_bn.onnx");
  auto shuffled = model;
  auto* nodes = shuffled.mutable_graph()->mutable_node();
  std::reverse(nodes->begin(), nodes->end());
  const auto samples = testing::FmnistSamples(model.graph().input(0).name(), 4);
  QuantizeReport report;
  const auto quantized = QuantizeCheckAndCompare(shuffled, samples, samples[3], {}, report, 0.1);
  EXPECT_TRUE(HasWarning(report, "sort_topologically: ")) << "no note of the nodes moved";
  EXPECT_GT(report.weights_quantized, 0);
}

TEST(ModelFormsTest, AModelThatFailsTheCheckerFailsBeforeCalibration) {
  // Sorted, well formed for onnxq's passes, but no such op in the ONNX domain.
  const auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] X) => (float[1,4] Y)
{
  r = Relu (X)
  Y = NoSuchOp (r)
}
)");
  CountingReader reader(RandomSamples("X", {1, 4}, 2, 1));
  const auto start = std::chrono::steady_clock::now();
  const auto quantized = QuantizeModel(model, &reader, {});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(quantized.ok());
  EXPECT_EQ(quantized.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(quantized.status().message().find("fails the ONNX checker"), std::string::npos)
      << quantized.status().message();
  EXPECT_NE(quantized.status().message().find("NoSuchOp"), std::string::npos) << quantized.status().message();
  EXPECT_EQ(reader.reads, 0);
  EXPECT_LT(seconds, 5.0);
}

// Conv -> Relu -> If(cond); the branches read the Relu output r and an Identity t of it from the
// outer scope, and `extra_read` (r again, or the Conv output c). A Conv quantizes the If's output.
std::string IfModel(const std::string& extra_read) {
  return R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,3,4,4] Y)
<float[3,2,3,3] W, float[3] B, float[3,3,1,1] W2, float[1] zero = {0.0}>
{
  c = Conv <pads = [1, 1, 1, 1]> (X, W, B)
  r = Relu (c)
  t = Identity (r)
  s = ReduceSum <keepdims = 0> (X)
  cond = Greater (s, zero)
  i = If (cond) <
    then_branch = then_g () => (float[1,3,4,4] y1) { y1 = Add (r, t) },
    else_branch = else_g () => (float[1,3,4,4] y2) { m = Mul (t, )" +
         extra_read + R"()  y2 = Sub (m, r) }
  >
  Y = Conv (i, W2)
}
)";
}

TEST(ModelFormsTest, IfBranchesReadingOuterTensorsQuantizeAndRunCloseToFloat) {
  for (const std::string extra_read : {"r", "c"}) {
    SCOPED_TRACE("else branch reads " + extra_read);
    auto model = ParseModelText(IfModel(extra_read));
    SetConvWeights(model);
    testing::SetRandomInitializer(model, "W2", {3, 3, 1, 1}, 3, -0.5F, 0.5F);
    // Sums of both signs, so both branches run across the samples.
    std::vector<Feeds> samples = RandomSamples("X", {1, 2, 4, 4}, 8, 21);
    QuantizeReport report;
    const auto quantized = QuantizeCheckAndCompare(model, samples, samples[0], {}, report);
    for (int k = 1; k < 4; ++k) {
      EXPECT_LE(MaxRelativeDifference(RunFirstOutput(model, samples[k]), RunFirstOutput(quantized, samples[k])), 0.05);
    }
    EXPECT_EQ(ReasonOf(report, "If"), "control flow: the 3 ops inside its subgraphs stay float");
    EXPECT_EQ(OpCounts(quantized).count("Identity"), 0U);  // removed, its readers in the branches renamed
    // The Relu does not fold into the Conv: the branches read its output (clipped) by name.
    EXPECT_EQ(OpCounts(quantized).at("Relu"), 1);
    EXPECT_EQ(OpCounts(quantized).at("Conv"), 2);
    EXPECT_GE(report.weights_quantized, 2);
  }
}

TEST(ModelFormsTest, AWeightAlsoReadInsideABranchKeepsItsFloatInitializer) {
  // The main graph's Conv quantizes W; the else branch runs its own Conv on the float W.
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,3,4,4] Y)
<float[3,2,3,3] W, float[3] B, float[1] zero = {0.0}>
{
  c = Conv <pads = [1, 1, 1, 1]> (X, W, B)
  s = ReduceSum <keepdims = 0> (X)
  cond = Greater (s, zero)
  Y = If (cond) <
    then_branch = then_g () => (float[1,3,4,4] y1) { y1 = Relu (c) },
    else_branch = else_g () => (float[1,3,4,4] y2) { y2 = Conv <pads = [1, 1, 1, 1]> (X, W, B) }
  >
}
)");
  SetConvWeights(model);
  const std::vector<Feeds> samples = RandomSamples("X", {1, 2, 4, 4}, 8, 21);
  QuantizeReport report;
  const auto quantized = QuantizeCheckAndCompare(model, samples, samples[0], {}, report);
  for (int k = 1; k < 8; ++k) {
    EXPECT_LE(MaxRelativeDifference(RunFirstOutput(model, samples[k]), RunFirstOutput(quantized, samples[k])), 0.05);
  }
  EXPECT_GE(report.weights_quantized, 1);
  EXPECT_NE(testing::FindInitializer(quantized, "W"), nullptr);
}

TEST(ModelFormsTest, NothingToQuantizeKeepsTheFloatModelWithAWarning) {
  const auto model = testing::LoadTestModel("resnet_fmnist.onnx");
  for (const bool by_node : {false, true}) {
    SCOPED_TRACE(by_node ? "--nodes-to-quantize naming no node" : "--op-types-to-quantize MatMul");
    QuantizeOptions options;
    if (by_node) {
      options.nodes_to_quantize = {"no_such_node"};
    } else {
      options.op_types_to_quantize = {"MatMul"};
    }
    QuantizeReport report;
    auto quantized = QuantizeModel(model, nullptr, options, &report);
    ASSERT_TRUE(quantized.ok()) << quantized.status().message();
    EXPECT_TRUE(HasWarning(report, "nothing to quantize: every node stays float (22 not in --"))
        << Joined(report.warnings);
    EXPECT_EQ(report.nodes_quantized, 0);
    EXPECT_EQ(report.nodes_total, 22);
    EXPECT_EQ(report.left_float.size(), 22U);
    EXPECT_EQ(report.calibration_samples, 0);
    EXPECT_EQ(OpCounts(*quantized).count("QuantizeLinear"), 0U);
    EXPECT_NO_THROW(onnx::checker::check_model(*quantized));
    testing::ExpectSameFunction(model, *quantized, testing::FmnistSamples(model.graph().input(0).name(), 1), 1e-5);
  }
  // calibrate: an empty table, no crash.
  QuantizeOptions options;
  options.op_types_to_quantize = {"MatMul"};
  auto table = CalibrateModel(model, nullptr, options);
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_TRUE(table->ranges.empty());
}

// The root of the crash calibration with nothing to calibrate once was: a session observing no
// tensor handed every graph output to an observer that expected none.
TEST(ModelFormsTest, ASessionObservingNothingHandsNothingOver) {
  struct Recorder final : TensorObserver {
    void Observe(size_t index, std::span<const float> /*values*/, const ObservedLayout& /*layout*/) override {
      indices.push_back(index);
    }
    std::vector<size_t> indices;
  };
  const auto model = testing::LoadTestModel("resnet_fmnist.onnx");
  auto session = CreateOnnxRuntimeSession(model, {.observed = {}});
  ASSERT_TRUE(session.ok()) << session.status().message();
  Recorder recorder;
  const auto samples = testing::FmnistSamples(model.graph().input(0).name(), 1);
  const Status status = (*session)->RunObserved(samples[0], recorder);
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_TRUE(recorder.indices.empty());
}

TEST(ModelFormsTest, AGraphHeldInsideAnIfIsKeptFloat) {
  // Silero VAD's shape: the whole network lives in the branches of an If on the sample rate.
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X, int64 sr) => (float[1,3,4,4] Y)
<float[3,2,3,3] W, float[3] B, int64 k16000 = {16000}>
{
  cond = Equal (sr, k16000)
  Y = If (cond) <
    then_branch = then_g () => (float[1,3,4,4] y1) {
      c1 = Conv <pads = [1, 1, 1, 1]> (X, W, B)
      y1 = Relu (c1)
    },
    else_branch = else_g () => (float[1,3,4,4] y2) {
      c2 = Conv <pads = [1, 1, 1, 1]> (X, W)
      y2 = Sigmoid (c2)
    }
  >
}
)");
  SetConvWeights(model);
  QuantizeReport report;
  auto quantized = QuantizeModel(model, nullptr, {}, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_TRUE(HasWarning(report, "nothing to quantize")) << Joined(report.warnings);
  EXPECT_EQ(ReasonOf(report, "If"), "control flow: the 4 ops inside its subgraphs stay float");
  EXPECT_NO_THROW(onnx::checker::check_model(*quantized));
  const int64_t rate = 16000;
  Tensor sr = testing::Int64Tensor("sr", {}, {&rate, 1});
  sr.batch_axis = false;
  Feeds feeds = RandomSamples("X", {1, 2, 4, 4}, 1, 5)[0];
  feeds.push_back(sr);
  EXPECT_EQ(RunFirstOutput(model, feeds), RunFirstOutput(*quantized, feeds));
}

TEST(ModelFormsTest, AlreadyQuantizedModelsAreRefusedBeforeCalibration) {
  const auto model = testing::LoadTestModel("resnet_fmnist.onnx");
  auto quantized = QuantizeModel(model, nullptr, {});
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  const int64_t qdq = OpCounts(*quantized).at("QuantizeLinear") + OpCounts(*quantized).at("DequantizeLinear");
  CountingReader reader(testing::FmnistSamples(model.graph().input(0).name(), 1));
  auto again = QuantizeModel(*quantized, &reader, {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kInvalidModel);
  EXPECT_EQ(again.status().message(), "the model is already quantized (" + std::to_string(qdq) +
                                          " QuantizeLinear/DequantizeLinear): give onnxq the float model");
  EXPECT_EQ(reader.reads, 0);

  // From a file, the message names it; integer ops are counted by type.
  const auto dir = testing::TempDir("already_quantized");
  const auto path = dir / "integer.onnx";
  const auto integer = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (uint8[1,2,4,4] X, uint8[3,2,1,1] W, float x_s, uint8 x_z, float w_s, uint8 w_z, float y_s, uint8 y_z)
  => (uint8[1,3,4,4] Y, int32[1,3,4,4] Z, uint8[1,3,4,4] Q)
{
  Y = QLinearConv (X, x_s, x_z, W, w_s, w_z, y_s, y_z)
  Z = ConvInteger (X, W, x_z, w_z)
  F = DequantizeLinear (Y, y_s, y_z)
  Q = QuantizeLinear (F, y_s, y_z)
}
)");
  ASSERT_TRUE(SaveModel(integer, path).ok());
  auto report = QuantizeStatic(path, dir / "out.onnx", nullptr, {});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().message(), "'" + path.string() +
                                           "' is already quantized (2 QuantizeLinear/DequantizeLinear, 1 "
                                           "ConvInteger, 1 QLinearConv): give onnxq the float model");
  std::filesystem::remove_all(dir);
}

// Renames tensor `from` to `to` everywhere in the main graph.
void RenameTensor(onnx::GraphProto& graph, const std::string& from, const std::string& to) {
  for (auto& node : *graph.mutable_node()) {
    for (auto& in : *node.mutable_input()) {
      if (in == from) in = to;
    }
    for (auto& out : *node.mutable_output()) {
      if (out == from) out = to;
    }
  }
  for (auto* list : {graph.mutable_input(), graph.mutable_output(), graph.mutable_value_info()}) {
    for (auto& vi : *list) {
      if (vi.name() == from) vi.set_name(to);
    }
  }
  for (auto& init : *graph.mutable_initializer()) {
    if (init.name() == from) init.set_name(to);
  }
}

TEST(ModelFormsTest, AwkwardNamesQuantizeAndRun) {
  // P is a graph input and a graph output; B is an initializer (a quantized bias) and a graph output.
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X, float[1,3] P) => (float[1,3,4,4] Y, float[1,3] P, float[3] B)
<float[3,2,3,3] W, float[3] B, float[3,3,1,1] W2, float[3] B2>
{
  c = Conv <pads = [1, 1, 1, 1]> (X, W, B)
  r = Relu (c)
  d = Conv (r, W2, B2)
  Y = Sigmoid (d)
}
)");
  SetConvWeights(model);
  testing::SetRandomInitializer(model, "W2", {3, 3, 1, 1}, 3, -0.5F, 0.5F);
  testing::SetRandomInitializer(model, "B2", {3}, 4, -0.2F, 0.2F);
  auto& graph = *model.mutable_graph();
  const std::string x = "input:0 \"image\"";
  RenameTensor(graph, "X", x);
  RenameTensor(graph, "c", "block/conv 1:0");
  RenameTensor(graph, "r", "block/relu's out");
  RenameTensor(graph, "d", "it's: \"d\"");
  RenameTensor(graph, "Y", R"({"timer": "0.5 s", "words": ["hey", "jarvis"]})");  // oww_timer's JSON output
  RenameTensor(graph, "W", "/w eights:0");
  graph.mutable_node(0)->set_name("dup");  // both Conv nodes
  graph.mutable_node(2)->set_name("dup");
  graph.mutable_node(1)->set_name("");
  graph.mutable_node(3)->set_name("");

  std::vector<Feeds> samples;
  for (int k = 0; k < 4; ++k) {
    Feeds feeds = RandomSamples(x, {1, 2, 4, 4}, 1, static_cast<uint32_t>(40 + k))[0];
    feeds.push_back(testing::RandomTensor("P", {1, 3}, static_cast<uint32_t>(50 + k)));
    samples.push_back(std::move(feeds));
  }
  // ONNX Runtime refuses the float model itself (two nodes named "dup"); its function, with the
  // names cleared, is the reference.
  onnx::ModelProto reference = model;
  for (auto& node : *reference.mutable_graph()->mutable_node()) node.clear_name();
  QuantizeReport report;
  const auto quantized = QuantizeCheckAndCompare(model, samples, samples[0], {}, report, 0.05, &reference);
  EXPECT_EQ(report.nodes_quantized + report.nodes_folded, 4);
  std::set<std::string> names;
  for (const auto& node : quantized.graph().node()) {
    EXPECT_TRUE(node.name().empty() || names.insert(node.name()).second) << "node name " << node.name();
  }
  EXPECT_TRUE(names.contains("dup"));
  EXPECT_TRUE(names.contains("dup_1"));
  EXPECT_TRUE(HasWarning(report, "rename_duplicate_nodes: Conv 'dup' renamed 'dup_1'")) << Joined(report.warnings);
  ASSERT_EQ(quantized.graph().output_size(), 3);
  EXPECT_EQ(quantized.graph().output(0).name(), R"({"timer": "0.5 s", "words": ["hey", "jarvis"]})");
  EXPECT_EQ(quantized.graph().output(1).name(), "P");
  EXPECT_EQ(quantized.graph().output(2).name(), "B");
  // The interface keeps working: P passes through, B keeps its float values.
  auto session = CreateOnnxRuntimeSession(quantized);
  ASSERT_TRUE(session.ok()) << session.status().message();
  auto run = (*session)->Run(samples[1], {});
  ASSERT_TRUE(run.ok()) << run.status().message();
  const auto p = samples[1][1].floats();
  EXPECT_TRUE(std::equal(p.begin(), p.end(), (*run)[1].data.begin(), (*run)[1].data.end()));
  const auto b = testing::InitializerValues(model, "B");
  EXPECT_TRUE(std::equal(b.begin(), b.end(), (*run)[2].data.begin(), (*run)[2].data.end()));
}

TEST(ModelFormsTest, InitializersListedAsGraphInputsAreQuantizedWeights) {
  // IR 3 (old exporters): every initializer is a graph input too.
  auto model = ParseModelText(R"(
<ir_version: 3, opset_import: ["" : 13]>
g (float[1,2,4,4] X, float[3,2,3,3] W, float[3] B) => (float[1,3,4,4] Y)
<float[3,2,3,3] W, float[3] B>
{
  c = Conv <pads = [1, 1, 1, 1]> (X, W, B)
  Y = Relu (c)
}
)");
  ASSERT_EQ(model.graph().input_size(), 3);
  SetConvWeights(model);
  const std::vector<Feeds> samples = RandomSamples("X", {1, 2, 4, 4}, 4, 31);
  QuantizeReport report;
  const auto quantized = QuantizeCheckAndCompare(model, samples, samples[2], {}, report);
  EXPECT_EQ(report.weights_quantized, 1);
  std::set<std::string> initializers;
  for (const auto& init : quantized.graph().initializer()) initializers.insert(init.name());
  EXPECT_FALSE(initializers.contains("W"));
  EXPECT_FALSE(initializers.contains("B"));
  for (const auto& input : quantized.graph().input()) {
    EXPECT_TRUE(input.name() == "X" || initializers.contains(input.name())) << "input " << input.name();
  }
}

// torch.onnx.export writes equal tensors once and reads the others through Identity nodes: here the
// second Conv's bias is an Identity of the first's. Each Conv must get an int32 bias of its own scale
// (input scale x weight scale), and ONNX Runtime must run both as QLinearConv.
TEST(ModelFormsTest, ABiasTheExporterSharesIsQuantizedForEachLayer) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,3,4,4] Y)
<float[3,2,3,3] W, float[3,3,3,3] W2, float[3] B>
{
  c = Conv <pads = [1, 1, 1, 1]> (X, W, B)
  r = Relu (c)
  b2 = Identity (B)
  c2 = Conv <pads = [1, 1, 1, 1]> (r, W2, b2)
  Y = Relu (c2)
}
)");
  SetConvWeights(model);
  testing::SetRandomInitializer(model, "W2", {3, 3, 3, 3}, 3, -2.0F, 2.0F);
  const std::vector<Feeds> samples = RandomSamples("X", {1, 2, 4, 4}, 4, 43);
  QuantizeReport report;
  const auto quantized = QuantizeCheckAndCompare(model, samples, samples[1], {}, report);
  EXPECT_TRUE(HasWarning(report, "unshare_biases: bias 'B' copied for 1 more layer")) << Joined(report.warnings);
  // name -> the scale of the DequantizeLinear writing it, and each Q/DQ input's scale.
  std::map<std::string, float> scale_of;
  for (const auto& node : quantized.graph().node()) {
    if (node.op_type() != "DequantizeLinear") continue;
    const auto* scale = testing::FindInitializer(quantized.graph(), node.input(1));
    ASSERT_NE(scale, nullptr);
    const auto values = ToFloats(*scale);
    ASSERT_TRUE(values.ok());
    scale_of[node.output(0)] = values->at(0);
  }
  std::set<std::string> biases;
  int convs = 0;
  for (const auto& node : quantized.graph().node()) {
    if (node.op_type() != "Conv") continue;
    ++convs;
    ASSERT_EQ(node.input_size(), 3);
    EXPECT_TRUE(biases.insert(node.input(2)).second) << "two Convs read bias " << node.input(2);
    EXPECT_FLOAT_EQ(scale_of.at(node.input(2)), scale_of.at(node.input(0)) * scale_of.at(node.input(1))) << node.name();
  }
  EXPECT_EQ(convs, 2);
  ASSERT_TRUE(report.runnability.has_value());
  EXPECT_EQ(report.runnability->integer_kernels.at("QLinearConv"), 2) << RunnabilitySummary(*report.runnability);
  EXPECT_FALSE(report.runnability->float_between_qdq.contains("Conv")) << RunnabilitySummary(*report.runnability);
}

// MobileNetV3's activations as exported: HardSwish written out (x * HardSigmoid(x)) and a
// squeeze-excite gate (HardSigmoid of a 1x1 Conv scaling the feature map). With the default options
// ONNX Runtime runs every node group as an integer kernel, each HardSigmoid as a QLinearAdd
// (ExpressHardSigmoidAsAdd), and the output stays within 5% of float.
TEST(ModelFormsTest, MobileNetV3ActivationsRunAsIntegerKernels) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,3,4,4] Y)
<float[3,2,3,3] W, float[3] B, float[3,3,1,1] F, float[3,3,3,3] W2>
{
  c = Conv <pads = [1, 1, 1, 1]> (X, W, B)
  h = HardSigmoid <alpha: float = 0.16666667> (c)
  s = Mul (c, h)
  p = GlobalAveragePool (s)
  f = Conv (p, F)
  gate = HardSigmoid <alpha: float = 0.16666667> (f)
  e = Mul (s, gate)
  Y = Conv <pads = [1, 1, 1, 1]> (e, W2)
}
)");
  testing::SetRandomInitializer(model, "W", {3, 2, 3, 3}, 1, -2.0F, 2.0F);
  testing::SetRandomInitializer(model, "B", {3}, 2, -1.0F, 1.0F);
  testing::SetRandomInitializer(model, "F", {3, 3, 1, 1}, 3, -3.0F, 3.0F);
  testing::SetRandomInitializer(model, "W2", {3, 3, 3, 3}, 4, -1.0F, 1.0F);
  const std::vector<Feeds> samples = RandomSamples("X", {1, 2, 4, 4}, 8, 44);
  QuantizeReport report;
  const auto quantized = QuantizeCheckAndCompare(model, samples, samples[2], {}, report);
  EXPECT_EQ(OpCounts(quantized).count("HardSigmoid"), 0U);
  ASSERT_TRUE(report.runnability.has_value());
  const auto& kernels = report.runnability->integer_kernels;
  EXPECT_EQ(kernels.count("QLinearAdd") ? kernels.at("QLinearAdd") : 0, 2) << RunnabilitySummary(*report.runnability);
  EXPECT_EQ(kernels.count("QLinearMul") ? kernels.at("QLinearMul") : 0, 2) << RunnabilitySummary(*report.runnability);
  EXPECT_TRUE(report.runnability->float_between_qdq.empty()) << RunnabilitySummary(*report.runnability);
}

TEST(ModelFormsTest, OpsOfOtherDomainsStayAsTheyAre) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13, "com.microsoft" : 1, "ai.onnx.ml" : 1]>
g (float[1,2,4,4] X) => (float[1,48] Y)
<float[3,2,3,3] W, float[3] B>
{
  c = Conv <pads = [1, 1, 1, 1]> (X, W, B)
  g = com.microsoft.Gelu (c)
  f = Flatten (g)
  Y = ai.onnx.ml.Scaler <offset = [0.5], scale = [2.0]> (f)
}
)");
  SetConvWeights(model);
  const std::vector<Feeds> samples = RandomSamples("X", {1, 2, 4, 4}, 4, 41);
  QuantizeReport report;
  const auto quantized = QuantizeCheckAndCompare(model, samples, samples[1], {}, report);
  EXPECT_EQ(ReasonOf(report, "Gelu"), "custom domain 'com.microsoft'");
  EXPECT_EQ(ReasonOf(report, "Scaler"), "custom domain 'ai.onnx.ml'");
  std::map<std::string, std::string> domains;
  for (const auto& node : quantized.graph().node()) domains[node.op_type()] = node.domain();
  EXPECT_EQ(domains.at("Gelu"), "com.microsoft");
  EXPECT_EQ(domains.at("Scaler"), "ai.onnx.ml");
  EXPECT_EQ(OpCounts(quantized).at("Gelu"), 1);
  EXPECT_EQ(OpCounts(quantized).at("Scaler"), 1);
  EXPECT_GE(report.weights_quantized, 1);
}

}  // namespace
}  // namespace onnxq
