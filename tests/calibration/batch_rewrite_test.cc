// A model exported with a fixed batch of 1 is calibrated in whole batches only when its first batch
// gives what single samples give; otherwise the batches are split, and the ranges are those of
// single-sample runs either way.
#include <gtest/gtest.h>

#include "calibration/batch_rewrite.h"
#include "onnxq/calibrate.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;
using testing::VectorReader;

// Four samples of [1, 4] in one batch of [4, 4]: sample i holds i, i+1, i+2, i+3.
Feeds FourSamples() {
  std::vector<float> x;
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) x.push_back(static_cast<float>(i + j));
  }
  return {Tensor::FromFloats("X", {4, 4}, x)};
}

// Each sample on its own: A = X + bias, then a Sigmoid.
// Every op quantized: these tests read the ranges of tensors that the default placement leaves float
// (an Add of a constant bias, a MatMul's output that only the graph's output reads), and how the
// samples of a batch run does not depend on where the Q/DQ go.
QuantizeOptions EveryOpQuantized() {
  QuantizeOptions options;
  options.placement = QdqPlacement::kAllQuantizable;
  return options;
}

onnx::ModelProto BatchIndependentModel() {
  return ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] X) => (float[1,4] Y)
<float[4] bias = {-1, 0, 1, 2}>
{
  A = Add(X, bias)
  Y = Sigmoid(A)
}
)");
}

TEST(BatchRewriteTest, SymbolicBatchKeepsOtherDimsAndDropsIntermediateShapes) {
  onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] X) => (float[1,4] Y)
{
  Y = Relu(X)
}
)");
  model.mutable_graph()->add_value_info()->set_name("unused");
  EXPECT_TRUE(HasFixedBatchOfOne(model));
  const onnx::ModelProto symbolic = WithSymbolicBatch(model);
  EXPECT_FALSE(HasFixedBatchOfOne(symbolic));
  const auto& dims = symbolic.graph().input(0).type().tensor_type().shape().dim();
  EXPECT_FALSE(dims.Get(0).has_dim_value());
  EXPECT_EQ(dims.Get(1).dim_value(), 4);
  EXPECT_EQ(symbolic.graph().value_info_size(), 0);
}

TEST(BatchRewriteTest, BatchIndependentGraphGivesTheRangesOfSingleSamples) {
  const onnx::ModelProto model = BatchIndependentModel();
  VectorReader reader({FourSamples()});
  auto table = CalibrateModel(model, &reader, EveryOpQuantized());
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ(table->samples, 4);
  EXPECT_FLOAT_EQ(table->ranges.at("A").rmin, -1.0F);  // sample 0: 0 + (-1)
  EXPECT_FLOAT_EQ(table->ranges.at("A").rmax, 8.0F);   // sample 3: 6 + 2
}

TEST(BatchRewriteTest, BatchIndependentGraphRunsTheBatchWhole) {
  // A moving average over runs tells how the samples ran: one run of four gives the batch's range;
  // runs of one sample would give (with constant 0.5) min -1 -> -0.5 -> 0.25 -> 1.125.
  const onnx::ModelProto model = BatchIndependentModel();
  VectorReader reader({FourSamples()});
  QuantizeOptions options = EveryOpQuantized();
  options.calibration.moving_average = true;
  options.calibration.moving_average_constant = 0.5F;
  auto table = CalibrateModel(model, &reader, options);
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_FLOAT_EQ(table->ranges.at("A").rmin, -1.0F);
  EXPECT_FLOAT_EQ(table->ranges.at("A").rmax, 8.0F);
}

TEST(BatchRewriteTest, GraphThatMixesSamplesFallsBackToSingleSamples) {
  // Softmax over axis 0 mixes the samples of a batch; with a batch of 1 it is always 1.
  const onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] X) => (float[1,4] Y)
{
  S = Softmax<axis = 0>(X)
  Y = Sigmoid(S)
}
)");
  VectorReader reader({FourSamples()});
  auto table = CalibrateModel(model, &reader, {});
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ(table->samples, 4);
  // A whole batch would have spread each column over four samples (every value < 1).
  EXPECT_FLOAT_EQ(table->ranges.at("S").rmin, 1.0F);
  EXPECT_FLOAT_EQ(table->ranges.at("S").rmax, 1.0F);
}

TEST(BatchRewriteTest, GraphWithAFixedReshapeFallsBackToSingleSamples) {
  // Reshape to [1, -1] would turn a batch of 4 into one row of 16, which the MatMul refuses.
  const onnx::ModelProto model = ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,4] X) => (float[1,2] Y)
<int64[2] shape = {1, -1}, float[4,2] W = {1, 0, 0, 1, 1, 0, 0, 1}>
{
  R = Reshape(X, shape)
  Y = MatMul(R, W)
}
)");
  VectorReader reader({FourSamples()});
  auto table = CalibrateModel(model, &reader, EveryOpQuantized());
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ(table->samples, 4);
  EXPECT_FLOAT_EQ(table->ranges.at("Y").rmin, 2.0F);   // sample 0: [0 + 2, 1 + 3]
  EXPECT_FLOAT_EQ(table->ranges.at("Y").rmax, 10.0F);  // sample 3: [3 + 5, 4 + 6]
}

}  // namespace
}  // namespace onnxq
