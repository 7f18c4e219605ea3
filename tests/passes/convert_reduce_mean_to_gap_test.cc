// convert_reduce_mean_to_gap: a ReduceMean over H and W of a rank-4 tensor becomes a GlobalAveragePool
// computing the same, with its axes as an attribute or (opset 18) a constant input; every other
// ReduceMean stays.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "ir/graph_view.h"
#include "pass_test_util.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ExpectPassChangesNothing;
using testing::ExpectSameOutputs;
using testing::ParseModelText;
using testing::RandomTensor;
using testing::RunPassOk;

bool HasNote(const PassReport& report, const std::string& text) {
  return std::ranges::any_of(report.notes,
                             [&](const std::string& note) { return note.find(text) != std::string::npos; });
}

TEST(ConvertReduceMeanToGapTest, AxesAttributeOverHeightAndWidth) {
  const onnx::ModelProto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2, 3, 5, 6] X) => (float[2, 3, 1, 1] Y, float[2, 3, 1, 1] Z)
{
  Y = ReduceMean <axes = [2, 3]> (X)
  Z = ReduceMean <axes = [-1, -2], keepdims = 1> (X)
}
)");
  onnx::ModelProto after = before;
  const PassReport report = RunPassOk("convert_reduce_mean_to_gap", after);
  EXPECT_EQ(report.changes, 2);
  EXPECT_TRUE(HasNote(report, "2 ReduceMean over [2, 3] -> GlobalAveragePool"));
  ASSERT_EQ(after.graph().node_size(), 2);
  for (const auto& node : after.graph().node()) {
    EXPECT_EQ(node.op_type(), "GlobalAveragePool");
    EXPECT_EQ(node.attribute_size(), 0);
    ASSERT_EQ(node.input_size(), 1);
    EXPECT_EQ(node.input(0), "X");
  }
  EXPECT_EQ(after.graph().node(0).output(0), "Y");
  EXPECT_EQ(after.graph().node(1).output(0), "Z");
  ExpectSameOutputs(before, after, {RandomTensor("X", {2, 3, 5, 6}, 1, -3.0F, 3.0F)}, 1e-6);
}

TEST(ConvertReduceMeanToGapTest, ConstantAxesInputFromOpset18) {
  const onnx::ModelProto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 18]>
g (float[1, 4, 7, 7] X) => (float[1, 4, 1, 1] Y)
<int64[2] axes = {3, 2}>
{
  Y = ReduceMean (X, axes)
}
)");
  onnx::ModelProto after = before;
  EXPECT_EQ(RunPassOk("convert_reduce_mean_to_gap", after).changes, 1);
  ASSERT_EQ(after.graph().node_size(), 1);
  EXPECT_EQ(after.graph().node(0).op_type(), "GlobalAveragePool");
  EXPECT_EQ(after.graph().node(0).input_size(), 1);
  EXPECT_EQ(after.graph().initializer_size(), 0);  // the axes nothing reads any more
  ExpectSameOutputs(before, after, {RandomTensor("X", {1, 4, 7, 7}, 2, -3.0F, 3.0F)}, 1e-6);
}

TEST(ConvertReduceMeanToGapTest, OtherReduceMeansStay) {
  const char* const models[] = {
      // other axes, or only one of H and W
      R"(<ir_version: 8, opset_import: ["" : 13]>
         g (float[1, 3, 5, 6] X) => (float[1, 1, 1, 6] Y) { Y = ReduceMean <axes = [1, 2]> (X) })",
      R"(<ir_version: 8, opset_import: ["" : 13]>
         g (float[1, 3, 5, 6] X) => (float[1, 3, 5, 1] Y) { Y = ReduceMean <axes = [3]> (X) })",
      // every axis
      R"(<ir_version: 8, opset_import: ["" : 13]>
         g (float[1, 3, 5, 6] X) => (float[1, 1, 1, 1] Y) { Y = ReduceMean (X) })",
      // axes 2 and 3 of a rank-5 tensor
      R"(<ir_version: 8, opset_import: ["" : 13]>
         g (float[1, 3, 5, 6, 2] X) => (float[1, 3, 1, 1, 2] Y) { Y = ReduceMean <axes = [2, 3]> (X) })",
      // another domain
      R"(<ir_version: 8, opset_import: ["" : 13, "custom" : 1]>
         g (float[1, 3, 5, 6] X) => (float[1, 3, 1, 1] Y) { Y = custom.ReduceMean <axes = [2, 3]> (X) })",
  };
  for (const char* text : models) {
    SCOPED_TRACE(text);
    ExpectPassChangesNothing("convert_reduce_mean_to_gap", ParseModelText(text));
  }
}

TEST(ConvertReduceMeanToGapTest, NearMissesStayWithANote) {
  struct Case {
    const char* text;
    const char* note;
    bool unknown_shapes = false;
  };
  const Case cases[] = {
      {R"(<ir_version: 8, opset_import: ["" : 13]>
          g (float[1, 3, 5, 6] X) => (float[1, 3] Y) { Y = ReduceMean <axes = [2, 3], keepdims = 0> (X) })",
       "keepdims is 0"},
      {R"(<ir_version: 8, opset_import: ["" : 13]>
          g (float X) => (float Y) { Y = ReduceMean <axes = [2, 3]> (X) })",
       "its input's rank is unknown", true},
      {R"(<ir_version: 8, opset_import: ["" : 13]>
          g (float X) => (float Y) { Y = ReduceMean <axes = [-2, -1]> (X) })",
       "its input's rank is unknown", true},
      {R"(<ir_version: 8, opset_import: ["" : 18]>
          g (float[1, 3, 5, 6] X, int64[2] axes) => (float[1, 3, 1, 1] Y) { Y = ReduceMean (X, axes) })",
       "its axes are not constant"},
      {R"(<ir_version: 8, opset_import: ["" : 13]>
          g (int32[1, 3, 5, 6] X) => (int32[1, 3, 1, 1] Y) { Y = ReduceMean <axes = [2, 3]> (X) })",
       "its type is not float32, float16 or double"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    onnx::ModelProto model = ParseModelText(c.text);
    if (c.unknown_shapes) testing::ClearShapes(model);
    ExpectPassChangesNothing("convert_reduce_mean_to_gap", model);
    onnx::ModelProto copy = model;
    const PassReport report = RunPassOk("convert_reduce_mean_to_gap", copy);
    EXPECT_TRUE(HasNote(report, c.note)) << (report.notes.empty() ? "no note" : report.notes[0]);
  }
}

}  // namespace
}  // namespace onnxq
