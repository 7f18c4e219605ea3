// rename_duplicate_nodes: later nodes of a shared name get free names of their own, per graph; the
// model then loads in ONNX Runtime, which refuses duplicates.
#include <gtest/gtest.h>

#include <string>

#include "pass_test_util.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;
using testing::RunPassOk;

TEST(RenameDuplicateNodesTest, LaterNodesOfASharedNameGetFreeNames) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X, bool cond) => (float[2,3] Y)
{
  a = Relu (X)
  b = Sigmoid (a)
  dup_1 = Neg (b)
  c = Abs (dup_1)
  d = Tanh (c)
  Y = If (cond) <
    then_branch = then_g () => (float[2,3] y1) { y1 = Neg (d) },
    else_branch = else_g () => (float[2,3] y2) { y2 = Abs (d) }
  >
}
)");
  auto& graph = *model.mutable_graph();
  for (const int i : {0, 1, 3}) graph.mutable_node(i)->set_name("dup");  // "dup_1" is a tensor name
  graph.mutable_node(2)->set_name("");
  graph.mutable_node(4)->set_name("");
  // Each branch may reuse the main graph's names: ONNX Runtime checks names per graph.
  for (const int b : {0, 1}) graph.mutable_node(5)->mutable_attribute(b)->mutable_g()->mutable_node(0)->set_name("dup");
  const auto before = model;

  const PassReport report = RunPassOk("rename_duplicate_nodes", model);
  EXPECT_EQ(report.changes, 2);
  EXPECT_EQ(graph.node(0).name(), "dup");
  EXPECT_EQ(graph.node(1).name(), "dup_2");
  EXPECT_EQ(graph.node(3).name(), "dup_3");
  EXPECT_EQ(graph.node(2).name(), "");  // unnamed nodes stay unnamed
  EXPECT_EQ(graph.node(4).name(), "");
  EXPECT_EQ(graph.node(5).attribute(0).g().node(0).name(), "dup");
  EXPECT_EQ(graph.node(5).attribute(1).g().node(0).name(), "dup");
  ASSERT_EQ(report.notes.size(), 2U);
  EXPECT_EQ(report.notes[0], "Sigmoid 'dup' renamed 'dup_2'");

  Feeds feeds = testing::RandomSamples("X", {2, 3}, 1, 1)[0];
  Tensor cond{"cond", ElementType::kBool, {}, {std::byte{1}}};
  cond.batch_axis = false;
  feeds.push_back(cond);
  EXPECT_FALSE(testing::RunFirstOutput(model, feeds).empty());

  auto unchanged = before;
  for (auto& node : *unchanged.mutable_graph()->mutable_node()) node.clear_name();
  testing::ExpectPassChangesNothing("rename_duplicate_nodes", unchanged);
}

}  // namespace
}  // namespace onnxq
