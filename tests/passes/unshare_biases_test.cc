// unshare_biases: which biases get copies, and that the function stays the same.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "pass_test_util.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ExpectSameFunction;
using testing::ParseModelText;
using testing::RandomSamples;
using testing::RunPassOk;

TEST(UnshareBiasesTest, EachLayerAfterTheFirstGetsACopy) {
  auto before = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[2,3] X) => (float[2,3] Y, float[2,3] Z)
<float[3,3] W, float[3,3] W2, float[3] B>
{
  a = Gemm (X, W, B)
  b = Gemm (a, W2, B)
  c = Gemm (b, W, B)
  Y = Add (c, B)
  Z = Relu (a)
}
)");
  testing::SetRandomInitializer(before, "W", {3, 3}, 1, -1.0F, 1.0F);
  testing::SetRandomInitializer(before, "W2", {3, 3}, 2, -1.0F, 1.0F);
  testing::SetRandomInitializer(before, "B", {3}, 3, -1.0F, 1.0F);
  auto after = before;
  const auto report = RunPassOk("unshare_biases", after);
  EXPECT_EQ(report.changes, 2);
  ASSERT_EQ(report.notes.size(), 1U);
  EXPECT_EQ(report.notes[0], "bias 'B' copied for 2 more layers");
  const auto& g = after.graph();
  EXPECT_EQ(g.node(0).input(2), "B");
  std::set<std::string> biases = {g.node(0).input(2), g.node(1).input(2), g.node(2).input(2)};
  EXPECT_EQ(biases.size(), 3U);
  EXPECT_EQ(g.node(3).input(1), "B");  // not a bias: the Add keeps reading B
  // The weight W is shared too, and stays shared: its quantization does not depend on the reader.
  EXPECT_EQ(g.node(0).input(1), "W");
  EXPECT_EQ(g.node(2).input(1), "W");
  for (const auto& name : biases) {
    const auto* copy = testing::FindInitializer(g, name);
    ASSERT_NE(copy, nullptr) << name;
    EXPECT_EQ(copy->raw_data(), testing::FindInitializer(g, "B")->raw_data());
  }
  EXPECT_EQ(g.initializer_size(), 5);
  ExpectSameFunction(before, after, RandomSamples("X", {2, 3}, 2, 5));
}

TEST(UnshareBiasesTest, ABiasReadOnceOrFedAsAnInputStays) {
  // IR 3: B is a graph input too, so its value may be fed at run time: a copy would not follow it.
  auto model = ParseModelText(R"(
<ir_version: 3, opset_import: ["" : 13]>
g (float[1,2,4,4] X, float[3] B) => (float[1,3,4,4] Y, float[1,3,4,4] Y2)
<float[3,2,1,1] W, float[3] B, float[3] B2>
{
  Y = Conv (X, W, B)
  Y2 = Conv (X, W, B)
  c = Conv (X, W, B2)
}
)");
  EXPECT_EQ(RunPassOk("unshare_biases", model).changes, 0);
}

}  // namespace
}  // namespace onnxq
