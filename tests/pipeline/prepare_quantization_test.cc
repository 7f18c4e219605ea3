// What runs before calibration, without the runtime: the checks, the graph passes and node marking.
#include "pipeline/prepare_quantization.h"

#include <gtest/gtest.h>

#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;

TEST(PrepareQuantizationTest, PreparesAValidModel) {
  const onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,3] X) => (float[1,2] Y)
<float[3,2] W = {1, 2, 3, 4, 5, 6}>
{
  Y = MatMul (X, W)
}
)");
  auto prepared = PrepareQuantization(model, {});
  ASSERT_TRUE(prepared.ok()) << prepared.status().message();
  EXPECT_EQ(prepared->plan.marks.size(), 1U);
  EXPECT_EQ(prepared->tensors, std::vector<std::string>({"X", "Y"}));
}

}  // namespace
}  // namespace onnxq
