// split_large_kernel_pool: a GlobalAveragePool over more than 512 values becomes an AveragePool over
// blocks of f(H) x f(W) (f(n): the largest factor of n up to sqrt(n)) and a GlobalAveragePool over the
// block means, computing the same mean.
#include <gtest/gtest.h>

#include <string>
#include <vector>

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

// The value_info dims of `name`: a number, or -1 for a symbolic dim.
std::vector<int64_t> ValueInfoDims(const onnx::ModelProto& model, const std::string& name) {
  for (const auto& info : model.graph().value_info()) {
    if (info.name() != name) continue;
    std::vector<int64_t> dims;
    for (const auto& d : info.type().tensor_type().shape().dim()) {
      dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
    }
    return dims;
  }
  return {};
}

TEST(SplitLargeKernelPoolTest, ThirtyTwoByThirtyTwoBecomesFourByFourBlocksThenEightByEight) {
  const onnx::ModelProto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N, 3, 32, 32] X) => (float[N, 3, 1, 1] Y)
{
  Y = GlobalAveragePool (X)
}
)");
  onnx::ModelProto after = before;
  after.mutable_graph()->mutable_node(0)->set_name("gap");
  const PassReport report = RunPassOk("split_large_kernel_pool", after);
  EXPECT_EQ(report.changes, 1);
  ASSERT_EQ(after.graph().node_size(), 2);
  const auto& pool = after.graph().node(0);
  const auto& gap = after.graph().node(1);
  EXPECT_EQ(pool.op_type(), "AveragePool");
  EXPECT_EQ(pool.input(0), "X");
  EXPECT_EQ(AttrInts(pool, "kernel_shape"), (std::vector<int64_t>{4, 4}));
  EXPECT_EQ(AttrInts(pool, "strides"), (std::vector<int64_t>{4, 4}));
  EXPECT_TRUE(AttrInts(pool, "pads").empty());
  EXPECT_EQ(gap.op_type(), "GlobalAveragePool");
  EXPECT_EQ(gap.name(), "gap");
  EXPECT_EQ(gap.input(0), pool.output(0));
  EXPECT_EQ(gap.output(0), "Y");
  EXPECT_NE(pool.name(), gap.name());
  // The block means' shape, for the passes after this one: N stays symbolic.
  EXPECT_EQ(ValueInfoDims(after, pool.output(0)), (std::vector<int64_t>{-1, 3, 8, 8}));
  GraphView view(after.mutable_graph());
  EXPECT_EQ(view.ElemType(pool.output(0)), onnx::TensorProto::FLOAT);
  ExpectSameOutputs(before, after, {RandomTensor("X", {2, 3, 32, 32}, 3, -4.0F, 4.0F)}, 1e-6);
}

TEST(SplitLargeKernelPoolTest, EachAxisGetsItsOwnFactor) {
  // 28 x 30 = 840: f(28) = 4 (of 1, 2, 4 <= 5.29), f(30) = 5; blocks 4 x 5, then 7 x 6.
  const onnx::ModelProto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 2, 28, 30] X) => (float[1, 2, 1, 1] Y)
{
  Y = GlobalAveragePool (X)
}
)");
  onnx::ModelProto after = before;
  EXPECT_EQ(RunPassOk("split_large_kernel_pool", after).changes, 1);
  ASSERT_EQ(after.graph().node_size(), 2);
  EXPECT_EQ(AttrInts(after.graph().node(0), "kernel_shape"), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(ValueInfoDims(after, after.graph().node(0).output(0)), (std::vector<int64_t>{1, 2, 7, 6}));
  ExpectSameOutputs(before, after, {RandomTensor("X", {1, 2, 28, 30}, 4, -4.0F, 4.0F)}, 1e-6);
}

TEST(SplitLargeKernelPoolTest, SmallOrUnknownPoolsStay) {
  const char* const models[] = {
      // 16 x 32 = 512 values: not more than the DPU averages at once
      R"(<ir_version: 8, opset_import: ["" : 13]>
         g (float[1, 2, 16, 32] X) => (float[1, 2, 1, 1] Y) { Y = GlobalAveragePool (X) })",
      // a rank-3 input
      R"(<ir_version: 8, opset_import: ["" : 13]>
         g (float[1, 2, 1024] X) => (float[1, 2, 1] Y) { Y = GlobalAveragePool (X) })",
  };
  for (const char* text : models) {
    SCOPED_TRACE(text);
    ExpectPassChangesNothing("split_large_kernel_pool", ParseModelText(text));
  }
}

TEST(SplitLargeKernelPoolTest, UnknownSizesAndPrimesStayWithANote) {
  struct Case {
    const char* text;
    const char* note;
    bool unknown_shapes = false;
  };
  const Case cases[] = {
      {R"(<ir_version: 8, opset_import: ["" : 13]>
          g (float[1, 2, H, W] X) => (float[1, 2, 1, 1] Y) { Y = GlobalAveragePool (X) })",
       "its input's height or width is unknown"},
      {R"(<ir_version: 8, opset_import: ["" : 13]>
          g (float X) => (float Y) { Y = GlobalAveragePool (X) })",
       "its input's shape is unknown", true},
      {R"(<ir_version: 8, opset_import: ["" : 13]>
          g (float[1, 2, 31, 37] X) => (float[1, 2, 1, 1] Y) { Y = GlobalAveragePool (X) })",
       "averages 31 x 37 values, but both are prime"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    onnx::ModelProto model = ParseModelText(c.text);
    if (c.unknown_shapes) testing::ClearShapes(model);
    ExpectPassChangesNothing("split_large_kernel_pool", model);
    onnx::ModelProto copy = model;
    const PassReport report = RunPassOk("split_large_kernel_pool", copy);
    ASSERT_EQ(report.notes.size(), 1U);
    EXPECT_NE(report.notes[0].find(c.note), std::string::npos) << report.notes[0];
  }
}

}  // namespace
}  // namespace onnxq
