// fold_weight_casts: Cast(to=FLOAT) of float16 / bfloat16 / double weights becomes a float32
// initializer named after the Cast's output; the graph computes the same.
#include <gtest/gtest.h>

#include <cstring>

#include "ir/tensor_util.h"
#include "pass_test_util.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ExpectPassChangesNothing;
using testing::ExpectSameFunction;
using testing::FindInitializer;
using testing::InitializerValues;
using testing::OpCounts;
using testing::ParseModelText;
using testing::RandomSamples;
using testing::RunPassOk;

// Values exact in float16 and bfloat16 (a few mantissa bits), so the folded float32 weights are known.
const std::vector<float> kWeights = {0.5F, -0.25F, 0.125F, 1.5F, -2.0F, 0.75F};
const std::vector<float> kBias = {0.25F, -1.0F, 3.0F};

void AddInitializer(onnx::ModelProto& model, onnx::TensorProto tensor) {
  *model.mutable_graph()->add_initializer() = std::move(tensor);
}

onnx::TensorProto BFloat16Tensor(const std::string& name, std::vector<int64_t> dims, const std::vector<float>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::BFLOAT16);
  for (const int64_t d : dims) t.add_dims(d);
  for (const float v : values) t.add_int32_data(FloatToBFloat16(v));
  return t;
}

onnx::TensorProto DoubleTensor(const std::string& name, std::vector<int64_t> dims, const std::vector<float>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::DOUBLE);
  for (const int64_t d : dims) t.add_dims(d);
  for (const float v : values) t.add_double_data(v);
  return t;
}

constexpr const char* kConv = R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[1,2,3,3] X) => (float[1,3,3,3] Y)
{
  Wf = Cast <to = 1> (W)
  Bf = Cast <to = 1> (B)
  Y = Conv (X, Wf, Bf)
}
)";

TEST(FoldWeightCastsTest, Float16WeightAndBiasBecomeFloat32Initializers) {
  auto before = ParseModelText(kConv);
  const std::vector<int64_t> w_dims = {3, 2, 1, 1};
  const std::vector<int64_t> b_dims = {3};
  AddInitializer(before, MakeFloat16Tensor("W", w_dims, kWeights));
  AddInitializer(before, MakeFloat16Tensor("B", b_dims, kBias));
  auto after = before;
  const PassReport report = RunPassOk("fold_weight_casts", after);
  EXPECT_EQ(report.changes, 2);
  EXPECT_EQ(OpCounts(after), (std::map<std::string, int>{{"Conv", 1}}));
  // The float32 weights carry the Cast outputs' names; the float16 sources are gone.
  ASSERT_EQ(after.graph().initializer_size(), 2);
  ASSERT_NE(FindInitializer(after, "Wf"), nullptr);
  EXPECT_EQ(FindInitializer(after, "Wf")->data_type(), onnx::TensorProto::FLOAT);
  EXPECT_EQ(Dims(*FindInitializer(after, "Wf")), w_dims);
  EXPECT_EQ(InitializerValues(after, "Wf"), kWeights);
  EXPECT_EQ(InitializerValues(after, "Bf"), kBias);
  EXPECT_EQ(FindInitializer(after, "W"), nullptr);
  EXPECT_EQ(FindInitializer(after, "B"), nullptr);
  const auto& conv = after.graph().node(0);
  EXPECT_EQ(conv.input(1), "Wf");
  EXPECT_EQ(conv.input(2), "Bf");
  ExpectSameFunction(before, after, RandomSamples("X", {1, 2, 3, 3}, 2, 7), 1e-6);
}

TEST(FoldWeightCastsTest, BFloat16AndDoubleSources) {
  auto before = ParseModelText(kConv);
  AddInitializer(before, BFloat16Tensor("W", {3, 2, 1, 1}, kWeights));
  AddInitializer(before, DoubleTensor("B", {3}, {0.1F, -1.0F, 3.0F}));
  auto after = before;
  EXPECT_EQ(RunPassOk("fold_weight_casts", after).changes, 2);
  EXPECT_EQ(InitializerValues(after, "Wf"), kWeights);
  // A double rounds to the nearest float, as Cast does.
  EXPECT_EQ(InitializerValues(after, "Bf"), (std::vector<float>{0.1F, -1.0F, 3.0F}));
  ExpectSameFunction(before, after, RandomSamples("X", {1, 2, 3, 3}, 2, 8), 1e-6);
}

TEST(FoldWeightCastsTest, ConstantNodeSource) {
  auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[2,3] X) => (float[2,3] Y)
{
  C = Constant <value = float[3] {0.0, 0.0, 0.0}> ()
  Cf = Cast <to = 1> (C)
  Y = Add (X, Cf)
}
)");
  const std::vector<int64_t> dims = {3};
  *before.mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_t() = MakeFloat16Tensor("", dims, kBias);
  auto after = before;
  EXPECT_EQ(RunPassOk("fold_weight_casts", after).changes, 1);
  EXPECT_EQ(OpCounts(after), (std::map<std::string, int>{{"Add", 1}}));
  EXPECT_EQ(InitializerValues(after, "Cf"), kBias);
  ExpectSameFunction(before, after, RandomSamples("X", {2, 3}, 2, 9), 1e-6);
}

TEST(FoldWeightCastsTest, SourceReadElsewhereStays) {
  auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[3] X) => (float[3] Y, float16[3] H)
{
  Wf = Cast <to = 1> (W)
  Y = Add (X, Wf)
  H = Neg (W)
}
)");
  const std::vector<int64_t> dims = {3};
  AddInitializer(before, MakeFloat16Tensor("W", dims, kBias));
  auto after = before;
  EXPECT_EQ(RunPassOk("fold_weight_casts", after).changes, 1);
  ASSERT_NE(FindInitializer(after, "W"), nullptr);  // Neg still reads the float16 weight
  EXPECT_EQ(FindInitializer(after, "W")->data_type(), onnx::TensorProto::FLOAT16);
  EXPECT_EQ(InitializerValues(after, "Wf"), kBias);
  ExpectSameFunction(before, after, RandomSamples("X", {3}, 2, 10), 1e-6);
}

TEST(FoldWeightCastsTest, CastsThatAreNotWeightsStay) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[3] X, float16[3] P) => (float[3] Y, float[3] O, float[3] Q)
{
  Pf = Cast <to = 1> (P)
  O = Cast <to = 1> (K)
  Kh = Cast <to = 10> (K)
  Kf = Cast <to = 1> (Kh)
  Q = Cast <to = 1> (O)
  S = Add (X, Pf)
  Y = Add (S, Kf)
}
)");
  const std::vector<int64_t> dims = {3};
  AddInitializer(model, MakeFloat16Tensor("K", dims, kBias));
  // P is a graph input (fed at run time); O is a graph output; Kh is cast to float16, not float; Kf
  // reads a computed tensor; Q reads a graph output that is computed.
  ExpectPassChangesNothing("fold_weight_casts", model);
}

TEST(FoldWeightCastsTest, InitializerThatIsAlsoAGraphInputStays) {
  auto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float[3] X, float16[3] W) => (float[3] Y)
{
  Wf = Cast <to = 1> (W)
  Y = Add (X, Wf)
}
)");
  const std::vector<int64_t> dims = {3};
  AddInitializer(model, MakeFloat16Tensor("W", dims, kBias));  // a default the caller may override
  EXPECT_EQ(RunPassOk("fold_weight_casts", model).changes, 0);
  EXPECT_EQ(OpCounts(model).at("Cast"), 1);
}

}  // namespace
}  // namespace onnxq
