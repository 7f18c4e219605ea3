// MarkNodes: the --input-nodes / --output-nodes window is found on the graph (any order of names,
// side branches excluded), input nodes after output nodes are an error naming both, and control-flow
// nodes stay float with the count of the ops inside them.
#include "quantizer/mark_nodes.h"

#include <gtest/gtest.h>

#include <limits>
#include <set>
#include <string>
#include <vector>

#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;

// n0 = Relu(X) -> n1 = Sigmoid -> n3 = Add <- n2 = Tanh(X), a side branch listed after n0, then
// n4 = Relu(Y0).
onnx::ModelProto Branches() {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] X) => (float[1,4] Y)
{
  a = Relu (X)
  b = Sigmoid (a)
  t = Tanh (X)
  s = Add (b, t)
  Y = Relu (s)
}
)");
  for (int i = 0; i < model.graph().node_size(); ++i) {
    model.mutable_graph()->mutable_node(i)->set_name("n" + std::to_string(i));
  }
  return model;
}

// Indices of the nodes MarkNodes marks.
std::set<int> Marked(onnx::ModelProto& model, const QuantizeOptions& options) {
  GraphView graph(model.mutable_graph());
  auto plan = MarkNodes(graph, options);
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  std::set<int> marked;
  if (!plan.ok()) return marked;
  for (const auto& mark : plan->marks) marked.insert(mark.node);
  for (const auto& [index, reason] : plan->left_float) {
    EXPECT_EQ(reason, "outside --input-nodes/--output-nodes") << "node " << index;
  }
  return marked;
}

TEST(MarkNodesTest, InputNodesInEitherOrderGiveTheSameWindow) {
  auto model = Branches();
  QuantizeOptions options;
  options.input_nodes = {"n0", "n2"};
  const std::set<int> forward = Marked(model, options);
  options.input_nodes = {"n2", "n0"};
  const std::set<int> backward = Marked(model, options);
  EXPECT_EQ(forward, (std::set<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(backward, forward);
}

TEST(MarkNodesTest, TheWindowFollowsTheGraphNotTheNodeIndices) {
  auto model = Branches();
  QuantizeOptions options;
  options.input_nodes = {"n0"};  // n2 comes later in the list but does not descend from n0
  EXPECT_EQ(Marked(model, options), (std::set<int>{0, 1, 3, 4}));

  options.input_nodes = {};
  options.output_nodes = {"n1"};  // only n0 and n1 lead to n1, though n2 lies between them and n3
  EXPECT_EQ(Marked(model, options), (std::set<int>{0, 1}));

  options.input_nodes = {"n2"};
  options.output_nodes = {"s"};  // by output name
  EXPECT_EQ(Marked(model, options), (std::set<int>{2, 3}));
}

TEST(MarkNodesTest, InputNodesAfterOutputNodesAreAnErrorNamingBoth) {
  auto model = Branches();
  GraphView graph(model.mutable_graph());
  QuantizeOptions options;
  options.input_nodes = {"n3"};
  options.output_nodes = {"n1"};
  const auto plan = MarkNodes(graph, options);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(plan.status().message().find("--input-nodes 'n3' comes after --output-nodes 'n1'"), std::string::npos)
      << plan.status().message();

  options.input_nodes = {"nowhere"};
  EXPECT_EQ(MarkNodes(graph, options).status().code(), StatusCode::kNotFound);
}

TEST(MarkNodesTest, DuplicateNodeNamesSelectEveryNodeOfThatName) {
  auto model = Branches();
  model.mutable_graph()->mutable_node(2)->set_name("n0");  // Tanh shares Relu's name
  QuantizeOptions options;
  options.input_nodes = {"n0"};
  EXPECT_EQ(Marked(model, options), (std::set<int>{0, 1, 2, 3, 4}));
}

TEST(MarkNodesTest, LayersMarkTheirInputWeightBiasAndOutputAndAReluMayFold) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,2,2] X) => (float[1,3] Z)
<float[3,2,1,1] W = {0.5, -0.25, 0.1, 0.2, -0.3, 0.05}, float[3] B = {0.1, -0.2, 0.3},
 float[3,12] V = {1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1}, float[3] D = {0, 0, 0}>
{
  C = Conv(X, W, B)
  Y = Relu(C)
  F = Flatten(Y)
  Z = Gemm <transB = 1> (F, V, D)
}
)");
  GraphView graph(model.mutable_graph());
  const auto plan = MarkNodes(graph, {});
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->marks.size(), 4U);
  const auto describe = [](const TensorIntent& i) {
    return i.tensor + (i.role == TensorRole::kWeight ? " weight axis " + std::to_string(i.channel_axis) : "") +
           (i.role == TensorRole::kBias ? " bias of " + i.bias_input + " x " + i.bias_weight : "") +
           (i.share_with.empty() ? "" : " shares " + i.share_with);
  };
  const auto intents = [&](const NodeMark& mark) {
    std::vector<std::string> described;
    for (const auto& intent : mark.intents) described.push_back(describe(intent));
    return described;
  };
  // Conv: weight per channel along its output channels (axis 0), int32 bias of X x W.
  EXPECT_EQ(intents(plan->marks[0]), (std::vector<std::string>{"X", "W weight axis 0", "B bias of X x W", "C"}));
  // Relu: foldable into the Conv's output range, clipping to [0, inf).
  EXPECT_EQ(intents(plan->marks[1]), (std::vector<std::string>{"C", "Y"}));
  EXPECT_TRUE(plan->marks[1].foldable_activation);
  EXPECT_EQ(plan->marks[1].fold_producer, 0);
  EXPECT_EQ(plan->marks[1].clip_min, 0.0F);
  EXPECT_EQ(plan->marks[1].clip_max, std::numeric_limits<float>::infinity());
  // Flatten only moves values: its output shares its input's parameters.
  EXPECT_EQ(intents(plan->marks[2]), (std::vector<std::string>{"Y", "F shares Y"}));
  // Gemm with transB: the weight's output channels are its rows (axis 0).
  EXPECT_EQ(intents(plan->marks[3]), (std::vector<std::string>{"F", "V weight axis 0", "D bias of F x V", "Z"}));
  // C folds or borrows Y's grid, F shares Y's: neither is calibrated.
  EXPECT_EQ(TensorsToCalibrate(*plan), (std::vector<std::string>{"X", "Y", "Z"}));
}

TEST(MarkNodesTest, ControlFlowStaysFloatWithTheCountOfOpsInside) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2] X, bool cond) => (float[2] Y)
{
  r = Relu (X)
  Y = If (cond) <
    then_branch = then_g () => (float[2] y1) { y1 = Neg (r) },
    else_branch = else_g () => (float[2] y2) {
      y2 = If (cond) <
        then_branch = t2 () => (float[2] z1) { a = Abs (r)  z1 = Neg (a) },
        else_branch = e2 () => (float[2] z2) { z2 = Sigmoid (r) }
      >
    }
  >
}
)");
  GraphView graph(model.mutable_graph());
  const auto plan = MarkNodes(graph, {});
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_TRUE(plan->left_float.contains(1));
  EXPECT_EQ(plan->left_float.at(1), "control flow: the 5 ops inside its subgraphs stay float");
  ASSERT_EQ(plan->marks.size(), 1U);
  EXPECT_EQ(plan->marks[0].node, 0);
  // The If reads r from inside its branches: the view counts it as r's consumer.
  EXPECT_EQ(graph.Consumers("r"), (std::vector<int>{1}));
}

TEST(MarkNodesTest, AWeightOrBiasWithNonFiniteValuesKeepsItsNodeFloatWhateverTheOp) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 2] X) => (float[1, 2] Y)
<float[2, 2] w = {1, 2, 3, 4}, float[2, 2] bad_w = {1, 0, 0, 1}, float[2] bad_b = {0, 0}>
{
  a = MatMul (X, w)
  b = Gemm (a, bad_w, bad_b)
  Y = Relu (b)
}
)");
  auto* init = model.mutable_graph()->mutable_initializer(2);  // bad_b
  ASSERT_EQ(init->name(), "bad_b");
  init->set_float_data(1, std::numeric_limits<float>::quiet_NaN());
  GraphView graph(model.mutable_graph());
  auto plan = MarkNodes(graph, {});
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_TRUE(plan->left_float.contains(1));
  EXPECT_EQ(plan->left_float.at(1), "constant 'bad_b' holds non-finite values, which no integer grid can hold");
  // The MatMul with a finite weight is quantized; an infinite weight keeps it float too.
  EXPECT_FALSE(plan->left_float.contains(0));
  model.mutable_graph()->mutable_initializer(0)->set_float_data(0, std::numeric_limits<float>::infinity());
  plan = MarkNodes(graph, {});
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->left_float.contains(0));
  // The same weight in raw data (as large weights are stored), read from its bytes: -inf as its last
  // value keeps the node float, finite values quantize it.
  auto* w = model.mutable_graph()->mutable_initializer(0);
  std::vector<float> values = {1, 2, 3, -std::numeric_limits<float>::infinity()};
  w->clear_float_data();
  w->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  plan = MarkNodes(graph, {});
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->left_float.contains(0));
  values[3] = 4;
  w->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  plan = MarkNodes(graph, {});
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->left_float.contains(0));
}

}  // namespace
}  // namespace onnxq
