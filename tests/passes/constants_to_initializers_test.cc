#include "passes/constants_to_initializers.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ir/graph_view.h"
#include "ir/tensor_util.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;
using testing::RunFirstOutput;

// Every Constant form feeds the computation:
//   x = [[0,1,2],[3,4,5]]
//   a = x + [1,2,3]             = [[1,3,5],[4,6,8]]
//   b = a * 0.5                 = [[0.5,1.5,2.5],[2,3,4]]
//   c = b - [1,-1,2]            = [[-0.5,2.5,0.5],[1,4,2]]
//   d = Reshape(c, [3,2])       = [[-0.5,2.5],[0.5,1],[4,2]]
//   out = Gather(d, 1, axis=0)  = [0.5, 1]
constexpr const char* kModel = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] x) => (float[2] out)
{
  ct = Constant <value = float[3] {1.0, 2.0, 3.0}> ()
  cf = Constant <value_float = 0.5> ()
  cfs = Constant <value_floats = [1.0, -1.0, 2.0]> ()
  ci = Constant <value_int = 1> ()
  cis = Constant <value_ints = [3, 2]> ()
  cs = Constant <value_string = "kept"> ()
  a = Add(x, ct)
  b = Mul(a, cf)
  c = Sub(b, cfs)
  d = Reshape(c, cis)
  out = Gather <axis = 0> (d, ci)
}
)";

Tensor Input() { return Tensor::FromFloats("x", {2, 3}, std::vector<float>{0, 1, 2, 3, 4, 5}); }

std::vector<float> Floats(const onnx::TensorProto& t) {
  auto values = ToFloats(t);
  EXPECT_TRUE(values.ok()) << values.status().message();
  return values.ok() ? *values : std::vector<float>{};
}

std::vector<int64_t> Ints(const onnx::TensorProto& t) {
  auto values = ToInt64s(t);
  EXPECT_TRUE(values.ok()) << values.status().message();
  return values.ok() ? *values : std::vector<int64_t>{};
}

TEST(ConstantsToInitializersTest, EveryValueFormBecomesAnInitializer) {
  onnx::ModelProto model = ParseModelText(kModel);
  ASSERT_EQ(model.graph().node_size(), 11);
  ASSERT_EQ(model.graph().initializer_size(), 0);

  const ConstantsToInitializersPass pass;
  EXPECT_EQ(pass.name(), "constants_to_initializers");
  PassContext context;
  auto report = pass.Run(model, context);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->changes, 5);
  ASSERT_EQ(report->notes.size(), 1U);
  EXPECT_NE(report->notes[0].find('5'), std::string::npos) << report->notes[0];

  // The five converted Constant nodes are gone; the string constant and the compute nodes stay, in order.
  std::vector<std::string> ops;
  for (const auto& node : model.graph().node()) ops.push_back(node.op_type());
  EXPECT_EQ(ops, (std::vector<std::string>{"Constant", "Add", "Mul", "Sub", "Reshape", "Gather"}));
  EXPECT_EQ(model.graph().node(0).output(0), "cs");

  GraphView graph(model.mutable_graph());
  const auto* ct = graph.Initializer("ct");
  ASSERT_NE(ct, nullptr);
  EXPECT_EQ(ct->data_type(), onnx::TensorProto::FLOAT);
  EXPECT_EQ(Dims(*ct), std::vector<int64_t>{3});
  EXPECT_EQ(Floats(*ct), (std::vector<float>{1, 2, 3}));

  const auto* cf = graph.Initializer("cf");
  ASSERT_NE(cf, nullptr);
  EXPECT_EQ(cf->data_type(), onnx::TensorProto::FLOAT);
  EXPECT_EQ(cf->dims_size(), 0);  // scalar
  EXPECT_EQ(Floats(*cf), std::vector<float>{0.5F});

  const auto* cfs = graph.Initializer("cfs");
  ASSERT_NE(cfs, nullptr);
  EXPECT_EQ(cfs->data_type(), onnx::TensorProto::FLOAT);
  EXPECT_EQ(Dims(*cfs), std::vector<int64_t>{3});
  EXPECT_EQ(Floats(*cfs), (std::vector<float>{1, -1, 2}));

  const auto* ci = graph.Initializer("ci");
  ASSERT_NE(ci, nullptr);
  EXPECT_EQ(ci->data_type(), onnx::TensorProto::INT64);
  EXPECT_EQ(ci->dims_size(), 0);
  EXPECT_EQ(Ints(*ci), std::vector<int64_t>{1});

  const auto* cis = graph.Initializer("cis");
  ASSERT_NE(cis, nullptr);
  EXPECT_EQ(cis->data_type(), onnx::TensorProto::INT64);
  EXPECT_EQ(Dims(*cis), std::vector<int64_t>{2});
  EXPECT_EQ(Ints(*cis), (std::vector<int64_t>{3, 2}));

  EXPECT_FALSE(graph.IsInitializer("cs"));
  EXPECT_EQ(graph.Producer("cs"), 0);
  EXPECT_EQ(graph.Consumers("ct"), std::vector<int>{1});  // the Add reads the initializer now

  // Nothing left to do the second time.
  auto again = pass.Run(model, context);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->changes, 0);
  EXPECT_TRUE(again->notes.empty());
}

TEST(ConstantsToInitializersTest, TheModelComputesTheSameOutput) {
  const onnx::ModelProto before = ParseModelText(kModel);
  const std::vector<float> expected = {0.5F, 1.0F};
  EXPECT_EQ(RunFirstOutput(before, {Input()}), expected);

  onnx::ModelProto after = before;
  PassContext context;
  auto report = ConstantsToInitializersPass().Run(after, context);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(RunFirstOutput(after, {Input()}), expected);
}

TEST(ConstantsToInitializersTest, LeavesOtherConstantsAlone) {
  onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13, "custom.domain" : 1]>
g (float[2] x) => (float[2] out)
{
  foreign = custom.domain.Constant <value_float = 2.0> ()
  two = Constant <value_floats = [1.0, 1.0], value_float = 1.0> ()
  out = Add(x, two)
}
)");
  ASSERT_EQ(model.graph().node_size(), 3);
  PassContext context;
  auto report = ConstantsToInitializersPass().Run(model, context);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->changes, 0);
  EXPECT_EQ(model.graph().node_size(), 3);
  EXPECT_EQ(model.graph().initializer_size(), 0);
}

}  // namespace
}  // namespace onnxq
