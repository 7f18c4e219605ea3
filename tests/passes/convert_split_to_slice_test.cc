// convert_split_to_slice: a Split becomes one Slice per output, whatever gives the sizes (the attribute,
// a constant input, equal parts, opset 18's num_outputs); a Split whose sizes cannot be known stays.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ir/graph_view.h"
#include "ir/tensor_util.h"
#include "pass_test_util.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ExpectPassChangesNothing;
using testing::ExpectSameOutputs;
using testing::ParseModelText;
using testing::RandomTensor;
using testing::RunPassOk;

// The int64 values of initializer `name` ({} when there is none).
std::vector<int64_t> IntValues(const onnx::ModelProto& model, const std::string& name) {
  const auto* init = testing::FindInitializer(model, name);
  EXPECT_NE(init, nullptr) << name;
  if (init == nullptr) return {};
  EXPECT_EQ(init->data_type(), onnx::TensorProto::INT64) << name;
  return ToInt64s(*init).value();
}

// Checks that the model is one Slice per output of `x`, with these bounds along `axis`.
void ExpectSlices(const onnx::ModelProto& model, const std::vector<std::string>& outputs,
                  const std::vector<int64_t>& bounds, int64_t axis) {
  ASSERT_EQ(model.graph().node_size(), static_cast<int>(outputs.size()));
  for (size_t i = 0; i < outputs.size(); ++i) {
    const auto& slice = model.graph().node(static_cast<int>(i));
    EXPECT_EQ(slice.op_type(), "Slice");
    ASSERT_EQ(slice.input_size(), 4);
    EXPECT_EQ(slice.input(0), "X");
    EXPECT_EQ(IntValues(model, slice.input(1)), (std::vector<int64_t>{bounds[i]})) << i;
    EXPECT_EQ(IntValues(model, slice.input(2)), (std::vector<int64_t>{bounds[i + 1]})) << i;
    EXPECT_EQ(IntValues(model, slice.input(3)), (std::vector<int64_t>{axis})) << i;
    EXPECT_EQ(slice.output(0), outputs[i]);
  }
}

TEST(ConvertSplitToSliceTest, SizesFromAConstantInput) {
  const onnx::ModelProto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2, 6, 3] X) => (float[2, 2, 3] A, float[2, 3, 3] B, float[2, 1, 3] C)
<int64[3] sizes = {2, 3, 1}>
{
  A, B, C = Split <axis = 1> (X, sizes)
}
)");
  onnx::ModelProto after = before;
  after.mutable_graph()->mutable_node(0)->set_name("split");
  const PassReport report = RunPassOk("convert_split_to_slice", after);
  EXPECT_EQ(report.changes, 1);
  ASSERT_FALSE(report.notes.empty());
  EXPECT_EQ(report.notes[0], "1 Split -> 3 Slice");
  ExpectSlices(after, {"A", "B", "C"}, {0, 2, 5, 6}, 1);
  // Nothing reads the sizes any more; the Slices of one Split share their axes.
  EXPECT_EQ(testing::FindInitializer(after, "sizes"), nullptr);
  EXPECT_EQ(after.graph().node(0).input(3), after.graph().node(2).input(3));
  EXPECT_NE(after.graph().node(0).name(), after.graph().node(1).name());
  ExpectSameOutputs(before, after, {RandomTensor("X", {2, 6, 3}, 5)}, 0.0);
}

TEST(ConvertSplitToSliceTest, SizesFromTheAttributeAlongANegativeAxis) {
  const onnx::ModelProto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 11]>
g (float[2, 3, 5] X) => (float[2, 3, 4] A, float[2, 3, 1] B)
{
  A, B = Split <axis = -1, split = [4, 1]> (X)
}
)");
  onnx::ModelProto after = before;
  EXPECT_EQ(RunPassOk("convert_split_to_slice", after).changes, 1);
  ExpectSlices(after, {"A", "B"}, {0, 4, 5}, 2);  // the axis counted from the known rank
  ExpectSameOutputs(before, after, {RandomTensor("X", {2, 3, 5}, 6)}, 0.0);
}

TEST(ConvertSplitToSliceTest, EqualPartsOfAKnownLength) {
  const onnx::ModelProto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[6, 4] X) => (float[2, 4] A, float[2, 4] B, float[2, 4] C)
{
  A, B, C = Split (X)
}
)");
  onnx::ModelProto after = before;
  EXPECT_EQ(RunPassOk("convert_split_to_slice", after).changes, 1);
  ExpectSlices(after, {"A", "B", "C"}, {0, 2, 4, 6}, 0);
  ExpectSameOutputs(before, after, {RandomTensor("X", {6, 4}, 7)}, 0.0);
}

TEST(ConvertSplitToSliceTest, NumOutputsOfOpset18LeaveTheRestLast) {
  // 7 in 3: ceil(7 / 3) = 3, 3, and 1 left.
  const onnx::ModelProto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 18]>
g (float[2, 7] X) => (float[2, 3] A, float[2, 3] B, float[2, 1] C)
{
  A, B, C = Split <axis = 1, num_outputs = 3> (X)
}
)");
  onnx::ModelProto after = before;
  EXPECT_EQ(RunPassOk("convert_split_to_slice", after).changes, 1);
  ExpectSlices(after, {"A", "B", "C"}, {0, 3, 6, 7}, 1);
  ExpectSameOutputs(before, after, {RandomTensor("X", {2, 7}, 8)}, 0.0);
}

TEST(ConvertSplitToSliceTest, ANegativeAxisOfUnknownRankStaysNegative) {
  onnx::ModelProto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float X) => (float A, float B)
<int64[2] sizes = {1, 2}>
{
  A, B = Split <axis = -1> (X, sizes)
}
)");
  testing::ClearShapes(before);
  onnx::ModelProto after = before;
  EXPECT_EQ(RunPassOk("convert_split_to_slice", after).changes, 1);
  ExpectSlices(after, {"A", "B"}, {0, 1, 3}, -1);
  ExpectSameOutputs(before, after, {RandomTensor("X", {2, 2, 3}, 9)}, 0.0);
}

TEST(ConvertSplitToSliceTest, SplitsOfUnknownSizesStayWithANote) {
  struct Case {
    const char* text;
    const char* note;
    bool unknown_shapes = false;
  };
  const Case cases[] = {
      {R"(<ir_version: 8, opset_import: ["" : 13]>
          g (float[2, N] X) => (float[2, M] A, float[2, M] B) { A, B = Split <axis = 1> (X) })",
       "it has no split sizes and the length of its axis is unknown"},
      {R"(<ir_version: 8, opset_import: ["" : 13]>
          g (float[2, 6] X, int64[2] sizes) => (float A, float B) { A, B = Split <axis = 1> (X, sizes) })",
       "its split sizes are not constant"},
      {R"(<ir_version: 8, opset_import: ["" : 13]>
          g (float[2, 7] X) => (float A, float B) { A, B = Split <axis = 1> (X) })",
       "a length of 7 does not split into 2 equal parts"},
      {R"(<ir_version: 8, opset_import: ["" : 11]>
          g (float[2, 7] X) => (float A, float B) { A, B = Split <axis = 1, split = [3, 3]> (X) })",
       "its split sizes sum to 6, its axis has length 7"},
      {R"(<ir_version: 8, opset_import: ["" : 11]>
          g (float[2, 6] X) => (float A, float B) { A, B = Split <axis = 1, split = [1, 2, 3]> (X) })",
       "it has 3 split sizes for 2 outputs"},
      {R"(<ir_version: 8, opset_import: ["" : 10]>
          g (float X) => (float A, float B) { A, B = Split <axis = -1, split = [1, 2]> (X) })",
       "Slice takes negative axes from opset 11", true},
      {R"(<ir_version: 8, opset_import: ["" : 9]>
          g (float[2, 6] X) => (float A, float B) { A, B = Split <axis = 1> (X) })",
       "Slice takes its bounds as inputs from opset 10"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    onnx::ModelProto model = ParseModelText(c.text);
    if (c.unknown_shapes) testing::ClearShapes(model);
    ExpectPassChangesNothing("convert_split_to_slice", model);
    onnx::ModelProto copy = model;
    const PassReport report = RunPassOk("convert_split_to_slice", copy);
    ASSERT_EQ(report.notes.size(), 1U);
    EXPECT_NE(report.notes[0].find(c.note), std::string::npos) << report.notes[0];
  }
}

}  // namespace
}  // namespace onnxq
