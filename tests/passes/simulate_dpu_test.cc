// simulate_dpu: LeakyRelu's alpha on the DPU's 1/256 grid, averages scaled by the DPU's M / 2^N
// multipliers, Sigmoid, HardSigmoid and HardSwish on the DPU's HardSigmoid, checked on the rewritten
// graph and on what ONNX Runtime computes with it.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ir/graph_view.h"
#include "ir/tensor_util.h"
#include "onnxq/extra_options.h"
#include "onnxq/quantize.h"
#include "pass_test_util.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::OpCounts;
using testing::ParseModelText;
using testing::RunAllOutputs;
using testing::RunPassOk;

// Every average reads a graph input, so its shape is known without inference.
const char* kAverages = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 2, 7, 7] X) => (float[1, 2, 7, 7] pooled, float[1, 2, 1, 1] global, float[1, 2, 7, 1] row_mean,
                           float[1, 2, 3, 3] even)
{
  leaky = LeakyRelu <alpha = 0.1> (X)
  pooled = AveragePool <kernel_shape = [3, 3], pads = [1, 1, 1, 1]> (leaky)
  global = GlobalAveragePool (X)
  row_mean = ReduceMean <axes = [3]> (X)
  even = AveragePool <kernel_shape = [2, 2], strides = [2, 2]> (X)
}
)";

float ScalarInitializer(const onnx::ModelProto& model, const std::string& name) {
  const auto* init = testing::FindInitializer(model, name);
  EXPECT_NE(init, nullptr) << name;
  return init == nullptr ? 0.0F : ToFloats(*init).value().at(0);
}

TEST(SimulateDpuTest, AlphaOnTheGridAndAveragesScaledByTheirMultipliers) {
  const onnx::ModelProto before = ParseModelText(kAverages);
  onnx::ModelProto after = before;
  const PassReport report = RunPassOk("simulate_dpu", after);
  EXPECT_EQ(report.changes, 4);             // the alpha, the 3x3 pool, the global pool, the row mean
  EXPECT_EQ(OpCounts(after).at("Mul"), 3);  // none for the 2x2 pool: 1/4 is exact
  const auto& nodes = after.graph().node();
  EXPECT_EQ(nodes[0].op_type(), "LeakyRelu");
  EXPECT_EQ(AttrFloat(nodes[0], "alpha", 0), 26.0F / 256.0F);
  // Each Mul follows its average and writes the average's old output.
  EXPECT_EQ(nodes[1].op_type(), "AveragePool");
  EXPECT_EQ(nodes[2].op_type(), "Mul");
  EXPECT_EQ(nodes[2].output(0), "pooled");
  EXPECT_EQ(nodes[2].input(0), nodes[1].output(0));
  EXPECT_EQ(ScalarInitializer(after, nodes[2].input(1)), 0.984375F);      // 9 x 7 / 64
  EXPECT_EQ(ScalarInitializer(after, nodes[4].input(1)), 1.0048828125F);  // 49 x 21 / 1024
  EXPECT_EQ(ScalarInitializer(after, nodes[6].input(1)), 0.998046875F);   // 7 x 73 / 512
  EXPECT_EQ(nodes[7].op_type(), "AveragePool");
  EXPECT_EQ(nodes[7].output(0), "even");

  // On positive inputs LeakyRelu is the identity: every output is the float one times its correction.
  const Feeds feeds = {testing::RandomTensor("X", {1, 2, 7, 7}, 5, 0.1F, 2.0F)};
  const auto x = RunAllOutputs(before, feeds);
  const auto y = RunAllOutputs(after, feeds);
  const float corrections[] = {0.984375F, 1.0048828125F, 0.998046875F, 1.0F};
  ASSERT_EQ(x.size(), 4U);
  for (size_t o = 0; o < 4; ++o) {
    ASSERT_EQ(x[o].size(), y[o].size());
    for (size_t i = 0; i < x[o].size(); ++i) EXPECT_NEAR(y[o][i], x[o][i] * corrections[o], 1e-6F) << o;
  }
}

TEST(SimulateDpuTest, AnAverageOfUnknownSizeKeepsItsExactValueWithANote) {
  onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 2, H, W] X) => (float[1, 2, 1, 1] Y)
{
  Y = GlobalAveragePool (X)
}
)");
  const PassReport report = RunPassOk("simulate_dpu", model);
  EXPECT_EQ(report.changes, 0);
  ASSERT_EQ(report.notes.size(), 1U);
  EXPECT_NE(report.notes[0].find("keeps its exact average: a reduced dim is not known"), std::string::npos)
      << report.notes[0];
}

TEST(SimulateDpuTest, AnAlphaAlreadyOnTheGridIsLeftAlone) {
  onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 4] X) => (float[1, 4] Y)
{
  Y = LeakyRelu <alpha = 0.25> (X)
}
)");
  EXPECT_EQ(RunPassOk("simulate_dpu", model).changes, 0);
}

// Sigmoid, HardSigmoid of alpha 1/6 and 0.2, HardSwish: each reads the graph input.
const char* kGates = R"(
<ir_version: 8, opset_import: ["" : 14]>
g (float[2, 16] X) => (float[2, 16] sig, float[2, 16] hsig, float[2, 16] other, float[2, 16] swish)
{
  sig = Sigmoid (X)
  hsig = HardSigmoid <alpha = 0.1666667, beta = 0.5> (X)
  other = HardSigmoid <alpha = 0.2, beta = 0.5> (X)
  swish = HardSwish (X)
}
)";

constexpr float kScale = 8193.0F / 8192.0F;  // (2731 / 16384) / (1 / 6)

float HardSigmoid(float x) { return std::clamp(x / 6.0F + 0.5F, 0.0F, 1.0F); }

TEST(SimulateDpuTest, SigmoidAndHardSigmoidBecomeTheDpusHardSigmoid) {
  const onnx::ModelProto before = ParseModelText(kGates);
  onnx::ModelProto after = before;
  const PassReport report = RunPassOk("simulate_dpu", after);
  EXPECT_EQ(report.changes, 4);  // the Sigmoid made a HardSigmoid and scaled, the HardSigmoid, the HardSwish
  const std::vector<std::string> ops = {"HardSigmoid", "Mul",         "HardSigmoid", "Mul",
                                        "HardSigmoid", "HardSigmoid", "Mul",         "Mul"};
  const auto& nodes = after.graph().node();
  ASSERT_EQ(nodes.size(), static_cast<int>(ops.size()));
  for (size_t i = 0; i < ops.size(); ++i) EXPECT_EQ(nodes[static_cast<int>(i)].op_type(), ops[i]) << i;
  EXPECT_EQ(AttrFloat(nodes[0], "alpha", 0), 1.0F / 6.0F);
  EXPECT_EQ(AttrFloat(nodes[0], "beta", 0), 0.5F);
  // Each HardSigmoid of 1/6 feeds a Mul by the one scale initializer, which writes its old output.
  const std::string scale = nodes[1].input(1);
  EXPECT_EQ(ScalarInitializer(after, scale), kScale);
  for (const int mul : {1, 3, 6}) {
    EXPECT_EQ(nodes[mul].input(0), nodes[mul - 1].output(0)) << mul;
    EXPECT_EQ(nodes[mul].input(1), scale) << mul;
  }
  EXPECT_EQ(nodes[1].output(0), "sig");
  EXPECT_EQ(nodes[3].output(0), "hsig");
  EXPECT_EQ(nodes[4].output(0), "other");  // alpha 0.2 is not the DPU's
  // HardSwish(X) = Mul(X, Mul(HardSigmoid(X; 1/6, 0.5), scale)).
  EXPECT_EQ(nodes[5].input(0), "X");
  EXPECT_EQ(AttrFloat(nodes[5], "alpha", 0), 1.0F / 6.0F);
  EXPECT_EQ(AttrFloat(nodes[5], "beta", 0), 0.5F);
  EXPECT_EQ(nodes[7].input(0), "X");
  EXPECT_EQ(nodes[7].input(1), nodes[6].output(0));
  EXPECT_EQ(nodes[7].output(0), "swish");
  EXPECT_EQ(OpCounts(after).count("HardSwish"), 0U);
  EXPECT_EQ(after.graph().initializer_size(), 1);
  std::set<std::string> names;  // of the nodes made here: the graph's own have none
  for (const auto& node : nodes) {
    if (!node.name().empty()) {
      EXPECT_TRUE(names.insert(node.name()).second) << node.name();
    }
  }
  EXPECT_EQ(names.size(), 5U);  // two Muls after HardSigmoids; the HardSwish's HardSigmoid and two Muls

  const Feeds feeds = {testing::RandomTensor("X", {2, 16}, 7, -5.0F, 5.0F)};
  const auto x = feeds[0].floats();
  const auto old = RunAllOutputs(before, feeds);
  const auto y = RunAllOutputs(after, feeds);
  ASSERT_EQ(y.size(), 4U);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_NEAR(y[0][i], HardSigmoid(x[i]) * kScale, 1e-6F) << i;
    EXPECT_NEAR(y[1][i], old[1][i] * kScale, 1e-6F) << i;
    EXPECT_EQ(y[2][i], old[2][i]) << i;
    EXPECT_NEAR(y[3][i], old[3][i] * kScale, 4e-6F) << i;
  }
}

TEST(SimulateDpuTest, TheSigmoidAndHardSigmoidRewritesAreSwitchable) {
  PassOptions sigmoid_only;
  sigmoid_only.dpu.hard_sigmoid = false;
  onnx::ModelProto model = ParseModelText(kGates);
  EXPECT_EQ(RunPassOk("simulate_dpu", model, sigmoid_only).changes, 1);
  EXPECT_EQ(OpCounts(model), (std::map<std::string, int>{{"HardSigmoid", 3}, {"HardSwish", 1}}));

  PassOptions scale_only;
  scale_only.dpu.sigmoid = false;
  model = ParseModelText(kGates);
  EXPECT_EQ(RunPassOk("simulate_dpu", model, scale_only).changes, 2);
  EXPECT_EQ(OpCounts(model), (std::map<std::string, int>{{"Sigmoid", 1}, {"HardSigmoid", 3}, {"Mul", 3}}));

  PassOptions neither;
  neither.dpu.sigmoid = false;
  neither.dpu.hard_sigmoid = false;
  model = ParseModelText(kGates);
  const auto text = model.SerializeAsString();
  EXPECT_EQ(RunPassOk("simulate_dpu", model, neither).changes, 0);
  EXPECT_EQ(model.SerializeAsString(), text);
}

TEST(SimulateDpuTest, NamesStayUniqueAndAHardSwishKeepsItsNodeName) {
  onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 14]>
g (float[1, 4] X) => (float[1, 4] b)
{
  a = HardSwish (X)
  b = HardSwish (a)
}
)");
  model.mutable_graph()->mutable_node(0)->set_name("swish");
  EXPECT_EQ(RunPassOk("simulate_dpu", model).changes, 2);
  std::set<std::string> names;
  std::set<std::string> outputs;
  for (const auto& node : model.graph().node()) {
    EXPECT_TRUE(names.insert(node.name()).second) << node.name();
    EXPECT_FALSE(node.name().empty());
    for (const auto& output : node.output()) EXPECT_TRUE(outputs.insert(output).second) << output;
  }
  EXPECT_EQ(model.graph().node(2).name(), "swish");
  EXPECT_EQ(model.graph().node(2).output(0), "a");
  EXPECT_EQ(model.graph().node(5).output(0), "b");
  EXPECT_EQ(model.graph().node(5).input(0), "a");
  EXPECT_EQ(model.graph().initializer_size(), 1);  // one scale for all
}

TEST(SimulateDpuTest, AHardSigmoidOfAnotherTypeKeepsItsScale) {
  onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 14]>
g (double[1, 4] X) => (double[1, 4] Y)
{
  Y = HardSigmoid <alpha = 0.16666667> (X)
}
)");
  testing::ExpectPassChangesNothing("simulate_dpu", model);
}

// The extra options run the pass before calibration, with each rewrite switchable.
TEST(SimulateDpuTest, TheExtraOptionsRunItInTheQuantizePipeline) {
  const onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 2, 7, 7] X) => (float[1, 2, 1, 1] Y)
<float[2, 2, 1, 1] w = {1, 0.5, -0.5, 1}>
{
  c = Conv (X, w)
  leaky = LeakyRelu <alpha = 0.1> (c)
  Y = GlobalAveragePool (leaky)
}
)");
  std::vector<Feeds> batches;
  for (uint32_t seed = 0; seed < 4; ++seed) batches.push_back({testing::RandomTensor("X", {1, 2, 7, 7}, seed)});
  for (const bool avg_pool : {true, false}) {
    testing::VectorReader reader(batches);
    QuantizeOptions options;
    ASSERT_TRUE(
        ApplyExtraOptions({{"SimulateDPU", "True"}, {"ConvertAvgPoolToDPUVersion", avg_pool ? "1" : "0"}}, &options)
            .ok());
    QuantizeReport report;
    auto quantized = QuantizeModel(model, &reader, options, &report);
    ASSERT_TRUE(quantized.ok()) << quantized.status().message();
    const auto counts = OpCounts(*quantized);
    EXPECT_EQ(counts.contains("Mul"), avg_pool);
    for (const auto& node : quantized->graph().node()) {
      if (node.op_type() == "LeakyRelu") {
        EXPECT_EQ(AttrFloat(node, "alpha", 0), 26.0F / 256.0F);
      }
    }
    EXPECT_TRUE(testing::HasWarning(report, "simulate_dpu: 1 LeakyRelu alpha rounded to 1/256"));
  }
}

}  // namespace
}  // namespace onnxq
