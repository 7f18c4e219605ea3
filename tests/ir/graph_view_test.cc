#include "ir/graph_view.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;

// x -> Conv(w, b) -> c -> Relu -> r;  out = Add(r, c);  y2 = Mul(y, y).
// `b` is both a graph input and an initializer (a default that callers may override).
constexpr const char* kModel = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] x, float[N,4] y, float[2] b = {0.5, -0.5}) => (float[1,2,4,4] out, float[N,4] y2)
<float[2,2,1,1] w = {1.0, 0.0, 0.0, 1.0}, float[1,2,4,4] c>
{
  c = Conv <kernel_shape = [1, 1], strides = [1, 1]> (x, w, b)
  r = Relu(c)
  out = Add(r, c)
  y2 = Mul(y, y)
}
)";

constexpr int kConv = 0;
constexpr int kRelu = 1;
constexpr int kAdd = 2;
constexpr int kMul = 3;

class GraphViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = ParseModelText(kModel);
    ASSERT_EQ(model_.graph().node_size(), 4);
  }
  onnx::ModelProto model_;
};

TEST_F(GraphViewTest, ProducersAndConsumers) {
  const GraphView graph(model_.mutable_graph());
  EXPECT_EQ(graph.Producer("c"), kConv);
  EXPECT_EQ(graph.Producer("r"), kRelu);
  EXPECT_EQ(graph.Producer("out"), kAdd);
  EXPECT_EQ(graph.Producer("y2"), kMul);
  EXPECT_EQ(graph.Producer("x"), -1);  // graph input
  EXPECT_EQ(graph.Producer("w"), -1);  // initializer
  EXPECT_EQ(graph.Producer("nowhere"), -1);

  EXPECT_EQ(graph.Consumers("c"), (std::vector<int>{kRelu, kAdd}));
  EXPECT_EQ(graph.Consumers("x"), std::vector<int>{kConv});
  EXPECT_EQ(graph.Consumers("w"), std::vector<int>{kConv});
  EXPECT_EQ(graph.Consumers("y"), std::vector<int>{kMul});  // read twice by one node: listed once
  EXPECT_TRUE(graph.Consumers("out").empty());
  EXPECT_TRUE(graph.Consumers("nowhere").empty());
}

TEST_F(GraphViewTest, InitializersInputsAndOutputs) {
  GraphView graph(model_.mutable_graph());
  ASSERT_NE(graph.Initializer("w"), nullptr);
  EXPECT_EQ(graph.Initializer("w")->name(), "w");
  EXPECT_EQ(graph.Initializer("w")->float_data_size(), 4);
  EXPECT_TRUE(graph.IsInitializer("b"));
  EXPECT_TRUE(graph.IsGraphInput("b"));
  EXPECT_FALSE(graph.IsInitializer("x"));
  EXPECT_FALSE(graph.IsInitializer("c"));
  EXPECT_EQ(graph.Initializer("c"), nullptr);

  EXPECT_TRUE(graph.IsGraphInput("x"));
  EXPECT_TRUE(graph.IsGraphInput("y"));
  EXPECT_FALSE(graph.IsGraphInput("w"));
  EXPECT_TRUE(graph.IsGraphOutput("out"));
  EXPECT_TRUE(graph.IsGraphOutput("y2"));
  EXPECT_FALSE(graph.IsGraphOutput("c"));

  // The mutable view edits the graph itself.
  graph.MutableInitializer("w")->set_float_data(0, 2.0F);
  EXPECT_EQ(model_.graph().initializer(1).name(), "w");
  EXPECT_EQ(model_.graph().initializer(1).float_data(0), 2.0F);
  EXPECT_EQ(graph.MutableInitializer("x"), nullptr);
}

TEST_F(GraphViewTest, TypesAndShapes) {
  const GraphView graph(model_.mutable_graph());
  EXPECT_EQ(graph.ElemType("x"), onnx::TensorProto::FLOAT);    // input
  EXPECT_EQ(graph.ElemType("w"), onnx::TensorProto::FLOAT);    // initializer
  EXPECT_EQ(graph.ElemType("c"), onnx::TensorProto::FLOAT);    // value_info
  EXPECT_EQ(graph.ElemType("out"), onnx::TensorProto::FLOAT);  // output
  EXPECT_EQ(graph.ElemType("r"), 0);                           // nothing known

  EXPECT_EQ(graph.Shape("x"), (std::vector<int64_t>{1, 2, 4, 4}));
  EXPECT_EQ(graph.Shape("y"), (std::vector<int64_t>{-1, 4}));  // symbolic N
  EXPECT_EQ(graph.Shape("w"), (std::vector<int64_t>{2, 2, 1, 1}));
  EXPECT_EQ(graph.Shape("b"), std::vector<int64_t>{2});
  EXPECT_EQ(graph.Shape("c"), (std::vector<int64_t>{1, 2, 4, 4}));
  EXPECT_EQ(graph.Shape("y2"), (std::vector<int64_t>{-1, 4}));
  EXPECT_FALSE(graph.Shape("r").has_value());
  EXPECT_FALSE(graph.Shape("nowhere").has_value());
}

TEST_F(GraphViewTest, UniqueNameAvoidsEveryUsedName) {
  model_.mutable_graph()->mutable_node(kRelu)->set_name("relu");
  GraphView graph(model_.mutable_graph());
  EXPECT_EQ(graph.UniqueName("fresh"), "fresh");
  EXPECT_EQ(graph.UniqueName("fresh"), "fresh_1");  // a name handed out is taken
  EXPECT_EQ(graph.UniqueName("fresh"), "fresh_2");
  EXPECT_EQ(graph.UniqueName("c"), "c_1");        // node output
  EXPECT_EQ(graph.UniqueName("x"), "x_1");        // graph input
  EXPECT_EQ(graph.UniqueName("w"), "w_1");        // initializer
  EXPECT_EQ(graph.UniqueName("out"), "out_1");    // graph output
  EXPECT_EQ(graph.UniqueName("relu"), "relu_1");  // node name
}

TEST_F(GraphViewTest, RebuildSeesEdits) {
  GraphView graph(model_.mutable_graph());
  auto* node = model_.mutable_graph()->add_node();
  node->set_op_type("Sigmoid");
  node->add_input("r");
  node->add_output("s");
  EXPECT_EQ(graph.Producer("s"), -1);  // stale until rebuilt
  graph.Rebuild();
  EXPECT_EQ(graph.Producer("s"), 4);
  EXPECT_EQ(graph.Consumers("r"), (std::vector<int>{kAdd, 4}));
  EXPECT_EQ(graph.UniqueName("s"), "s_1");
}

TEST_F(GraphViewTest, AttributesOpsetAndDescriptions) {
  const onnx::NodeProto& conv = model_.graph().node(kConv);
  EXPECT_EQ(AttrInts(conv, "kernel_shape"), (std::vector<int64_t>{1, 1}));
  EXPECT_TRUE(AttrInts(conv, "pads").empty());
  EXPECT_EQ(AttrInt(conv, "group", 1), 1);
  EXPECT_EQ(AttrFloat(conv, "alpha", 0.25F), 0.25F);
  ASSERT_NE(FindAttr(conv, "strides"), nullptr);
  EXPECT_EQ(FindAttr(conv, "strides")->ints_size(), 2);
  EXPECT_EQ(FindAttr(conv, "dilations"), nullptr);

  EXPECT_EQ(DefaultOpset(model_), 13);
  EXPECT_EQ(DefaultOpset(ParseModelText(R"(
<ir_version: 8, opset_import: ["com.microsoft" : 1, "ai.onnx" : 17]>
g (float[1] x) => (float[1] y) { y = Relu(x) }
)")),
            17);

  EXPECT_EQ(Describe(conv, 0), "Conv (node 0)");
  EXPECT_EQ(Describe(conv), "Conv producing 'c'");
  onnx::NodeProto named = conv;
  named.set_name("conv1");
  EXPECT_EQ(Describe(named, 0), "Conv 'conv1'");
}

// An If reading r and c from inside its branches (c from a nested If), a Loop body with inputs and
// a tensor of its own that shadow nothing outside, and a branch output that is an outer tensor.
constexpr const char* kSubgraphs = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2] x, bool cond, int64 n) => (float[2] y, float[2] l)
{
  c = Neg (x)
  r = Relu (c)
  y = If (cond) <
    then_branch = then_g () => (float[2] r) {},
    else_branch = else_g () => (float[2] e) {
      e = If (cond) <
        then_branch = inner_then () => (float[2] z1) { z1 = Abs (c) },
        else_branch = inner_else () => (float[2] z2) { z2 = Sigmoid (c) }
      >
    }
  >
  l = Loop (n, cond, x) <
    body = body_g (int64 i, bool k, float[2] acc) => (bool k_out, float[2] acc_out) {
      k_out = Identity (k)
      own = Add (acc, acc)
      acc_out = Add (own, r)
    }
  >
}
)";

TEST(GraphViewSubgraphTest, ANodeWhoseSubgraphsReadATensorConsumesIt) {
  auto model = ParseModelText(kSubgraphs);
  const GraphView graph(model.mutable_graph());
  constexpr int kIf = 2;
  constexpr int kLoop = 3;
  EXPECT_EQ(graph.Consumers("c"), (std::vector<int>{1, kIf}));         // read by the nested If only
  EXPECT_EQ(graph.Consumers("r"), (std::vector<int>{kIf, kLoop}));     // a branch output, a body read
  EXPECT_EQ(graph.Consumers("cond"), (std::vector<int>{kIf, kLoop}));  // the If reads it twice, once listed
  EXPECT_EQ(graph.Consumers("x"), (std::vector<int>{0, kLoop}));
  EXPECT_TRUE(graph.ReadBySubgraph("r"));
  EXPECT_TRUE(graph.ReadBySubgraph("c"));
  EXPECT_FALSE(graph.ReadBySubgraph("x"));  // the Loop reads x as an input only
  // Names the subgraphs define are theirs: no consumers out here, and taken for UniqueName.
  EXPECT_TRUE(graph.Consumers("own").empty());
  EXPECT_TRUE(graph.Consumers("acc").empty());
  GraphView names(model.mutable_graph());
  EXPECT_EQ(names.UniqueName("own"), "own_1");
  EXPECT_EQ(names.UniqueName("z1"), "z1_1");
}

TEST(GraphViewSubgraphTest, OuterScopeReadsAndSubgraphNodeCount) {
  const auto model = ParseModelText(kSubgraphs);
  const auto& if_node = model.graph().node(2);
  const auto& loop = model.graph().node(3);
  EXPECT_TRUE(HasSubgraphs(if_node));
  EXPECT_FALSE(HasSubgraphs(model.graph().node(0)));
  EXPECT_EQ(OuterScopeReads(if_node), (std::vector<std::string>{"r", "cond", "c"}));
  EXPECT_EQ(OuterScopeReads(loop), std::vector<std::string>{"r"});
  EXPECT_EQ(SubgraphNodeCount(if_node), 3);  // the nested If and its two branches' nodes
  EXPECT_EQ(SubgraphNodeCount(loop), 3);
  EXPECT_EQ(SubgraphNodeCount(model.graph().node(0)), 0);
}

}  // namespace
}  // namespace onnxq
