// sort_topologically: unsorted graphs (and subgraphs) come out sorted and compute the same; a sorted
// graph is left as it is; cycles and tensors nobody writes are errors naming the node and the tensor.
#include <gtest/gtest.h>
#include <onnx/checker.h>

#include <algorithm>
#include <string>
#include <vector>

#include "pass_test_util.h"
#include "passes/pass_registry.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ExpectSameFunction;
using testing::ParseModelText;
using testing::RandomSamples;
using testing::RunPassOk;

// The first output of each node, in node order: enough to name an order in these graphs.
std::vector<std::string> Outputs(const onnx::GraphProto& graph) {
  std::vector<std::string> outputs;
  for (const auto& node : graph.node()) outputs.push_back(node.output(0));
  return outputs;
}

Status RunSort(onnx::ModelProto& model) { return RunPasses({"sort_topologically"}, model).status(); }

TEST(SortTopologicallyTest, ProducersMoveBeforeTheirFirstReaderAndTheRestKeepsItsOrder) {
  // IS-Net's shape: the input's Cast comes late. d needs nothing; b and c wait for a.
  const auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,3] Y)
{
  b = Relu (a)
  d = Neg (X)
  c = Sigmoid (b)
  a = Cast <to = 1> (X)
  e = Add (c, d)
  Y = Abs (e)
}
)");
  auto after = before;
  const PassReport report = RunPassOk("sort_topologically", after);
  EXPECT_GT(report.changes, 0);
  // Visiting b first places a right before it; d, c, e and Y keep their relative order.
  EXPECT_EQ(Outputs(after.graph()), (std::vector<std::string>{"a", "b", "d", "c", "e", "Y"}));
  EXPECT_NO_THROW(onnx::checker::check_model(after));
  ExpectSameFunction(before, after, RandomSamples("X", {2, 3}, 2, 7), 0.0);
}

TEST(SortTopologicallyTest, ASortedGraphIsLeftAsItIs) {
  testing::ExpectPassChangesNothing("sort_topologically", testing::LoadTestModel("resnet_fmnist_bn.onnx"));
}

TEST(SortTopologicallyTest, AReversedRealModelIsSortedAndComputesTheSame) {
  const auto model = testing::LoadTestModel("resnet_fmnist_bn.onnx");
  auto reversed = model;
  std::reverse(reversed.mutable_graph()->mutable_node()->begin(), reversed.mutable_graph()->mutable_node()->end());
  EXPECT_ANY_THROW(onnx::checker::check_model(reversed));
  EXPECT_GT(RunPassOk("sort_topologically", reversed).changes, 0);
  EXPECT_NO_THROW(onnx::checker::check_model(reversed));
  ExpectSameFunction(model, reversed, testing::FmnistSamples(model.graph().input(0).name(), 1), 0.0);
}

// An If whose branches read r (directly, and from an If nested in the else branch) must follow the
// producer of r; the branches' own nodes are sorted too.
constexpr const char* kIfReadingOuterTensors = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,3] Y)
<float[1] zero = {0.0}>
{
  s = ReduceSum <keepdims = 0> (X)
  cond = Greater (s, zero)
  Y = If (cond) <
    then_branch = then_g () => (float[2,3] y1) {
      y1 = Add (t1, r)
      t1 = Neg (r)
    },
    else_branch = else_g () => (float[2,3] y2) {
      y2 = If (cond) <
        then_branch = inner_then () => (float[2,3] z1) { z1 = Abs (r) },
        else_branch = inner_else () => (float[2,3] z2) { z2 = Sigmoid (r) }
      >
    }
  >
  r = Relu (X)
}
)";

TEST(SortTopologicallyTest, AnIfComesAfterWhatItsSubgraphsReadAtAnyDepth) {
  const auto before = ParseModelText(kIfReadingOuterTensors);
  auto after = before;
  EXPECT_GT(RunPassOk("sort_topologically", after).changes, 0);
  EXPECT_EQ(Outputs(after.graph()), (std::vector<std::string>{"s", "cond", "r", "Y"}));
  const auto& then_branch = after.graph().node(3).attribute(0).g();
  EXPECT_EQ(Outputs(then_branch), (std::vector<std::string>{"t1", "y1"}));
  EXPECT_NO_THROW(onnx::checker::check_model(after));
  // ONNX Runtime sorts the main graph itself, but not subgraphs: compare with a graph sorted by hand.
  std::string by_hand = kIfReadingOuterTensors;
  by_hand.replace(by_hand.find("  r = Relu (X)\n"), 15, "");
  by_hand.replace(by_hand.find("  s = ReduceSum"), 0, "  r = Relu (X)\n");
  by_hand.replace(by_hand.find("      t1 = Neg (r)\n"), 19, "");
  by_hand.replace(by_hand.find("      y1 = Add"), 0, "      t1 = Neg (r)\n");
  ExpectSameFunction(ParseModelText(by_hand), after, RandomSamples("X", {2, 3}, 2, 3), 0.0);
}

TEST(SortTopologicallyTest, ACycleNamesTheNodeAndTheTensor) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,3] Y)
{
  a = Add (X, c)
  b = Relu (a)
  c = Neg (b)
  Y = Abs (b)
}
)");
  model.mutable_graph()->mutable_node(0)->set_name("add_node");
  const Status status = RunSort(model);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kInvalidModel);
  EXPECT_NE(status.message().find("cycle"), std::string::npos) << status.message();
  EXPECT_EQ(status.message(),
            "pass sort_topologically: the graph has a cycle: Relu (node 1) reads 'a', written by Add 'add_node', "
            "which depends on Relu (node 1)");
}

TEST(SortTopologicallyTest, ANodeReadingItsOwnOutputIsACycle) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,3] Y)
{
  Y = Add (X, Y)
}
)");
  const Status status = RunSort(model);
  EXPECT_EQ(status.code(), StatusCode::kInvalidModel);
  EXPECT_NE(status.message().find("reads 'Y', which it writes itself"), std::string::npos) << status.message();
}

TEST(SortTopologicallyTest, ATensorNobodyWritesIsAnErrorEvenInsideASubgraph) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,3] Y)
{
  Y = Add (X, ghost)
}
)");
  Status status = RunSort(model);
  EXPECT_EQ(status.code(), StatusCode::kInvalidModel);
  EXPECT_NE(status.message().find("Add (node 0)"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("reads 'ghost', which no node writes"), std::string::npos) << status.message();

  std::string text = kIfReadingOuterTensors;
  text.replace(text.find("z1 = Abs (r)"), 12, "z1 = Abs (q)");
  auto nested = ParseModelText(text);
  status = RunSort(nested);
  EXPECT_EQ(status.code(), StatusCode::kInvalidModel);
  EXPECT_NE(status.message().find("Abs (node 0) (in a subgraph of If (node 0)) (in a subgraph of If (node 2)) "
                                  "reads 'q'"),
            std::string::npos)
      << status.message();
}

TEST(SortTopologicallyTest, ATensorWrittenTwiceIsAnError) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,3] Y)
{
  Y = Relu (X)
  Y = Neg (X)
}
)");
  const Status status = RunSort(model);
  EXPECT_EQ(status.code(), StatusCode::kInvalidModel);
  EXPECT_NE(status.message().find("'Y' is written by two nodes"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace onnxq
