// CompareLatency on the fake backend: which runs it makes, over which samples, and its refusals.
#include "evaluation/compare_latency.h"

#include <gtest/gtest.h>

#include <vector>

#include "testing/fake_backend.h"
#include "testing/model_text.h"
#include "testing/vector_reader.h"

namespace onnxq {
namespace {

onnx::ModelProto OneOpModel(const std::string& op) {
  return testing::ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,2] X) => (float[N,2] Y)
{
  Y = )" + op + R"((X)
}
)");
}

std::vector<Feeds> ThreeSamplesInTwoBatches() {
  const std::vector<float> two = {1, -2, 3, -4};
  const std::vector<float> one = {5, -6};
  return {{Tensor::FromFloats("X", {2, 2}, two)}, {Tensor::FromFloats("X", {1, 2}, one)}};
}

// Per model: one untimed pass over both batches, then 3 timed ones, each after an untimed run of the
// first batch: 2 x (2 + 3 x (1 + 2)) runs in all.
TEST(CompareLatencyTest, TimesEveryBatchOfBothModelsAfterAnUntimedPass) {
  const testing::FakeBackend backend;
  testing::VectorReader reader(ThreeSamplesInTwoBatches());
  auto latency = CompareLatency(backend, OneOpModel("Relu"), OneOpModel("Neg"), reader, {.repeats = 3});
  ASSERT_TRUE(latency.ok()) << latency.status().message();
  EXPECT_EQ(latency->samples, 3);
  EXPECT_EQ(latency->runs, 2);
  EXPECT_EQ(backend.runs(), 22);
  EXPECT_EQ(backend.session_options().size(), 2U);
}

TEST(CompareLatencyTest, RefusesNoSamplesNoPassesAndModelsThatDoNotRun) {
  const testing::FakeBackend backend;
  testing::VectorReader empty(std::vector<Feeds>{});
  EXPECT_EQ(CompareLatency(backend, OneOpModel("Relu"), OneOpModel("Neg"), empty, {}).status().code(),
            StatusCode::kInvalidArgument);
  testing::VectorReader reader(ThreeSamplesInTwoBatches());
  EXPECT_EQ(CompareLatency(backend, OneOpModel("Relu"), OneOpModel("Neg"), reader, {.repeats = 0}).status().code(),
            StatusCode::kInvalidArgument);
  testing::VectorReader again(ThreeSamplesInTwoBatches());
  const auto refused = CompareLatency(backend, OneOpModel("Relu"), OneOpModel("Erf"), again, {});
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("Erf"), std::string::npos) << refused.status().message();
}

}  // namespace
}  // namespace onnxq
