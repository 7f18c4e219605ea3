// simulate_dpu: LeakyRelu's alpha on the DPU's 1/256 grid, and averages scaled by the DPU's M / 2^N
// multipliers, checked on the rewritten graph and on what ONNX Runtime computes with it.
#include <gtest/gtest.h>

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
