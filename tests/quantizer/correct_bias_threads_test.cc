// CorrectBias' measuring loop on the fake backend (no ONNX Runtime in the process): a Gemm quantized
// by hand, whose correction is worked out from the data; several workers give the bias one gives; a
// failing run stops every worker, and the model is left as it was.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "ir/graph_view.h"
#include "ir/tensor_util.h"
#include "quantizer/correct_bias.h"
#include "testing/fake_backend.h"
#include "testing/model_text.h"
#include "testing/random_data.h"
#include "testing/vector_reader.h"

namespace onnxq {
namespace {

using testing::FakeBackend;
using testing::VectorReader;

constexpr int64_t kBatch = 4;
constexpr int kBatches = 24;
constexpr float kBiasScale = 0.01F;
constexpr float kWeightError = 0.03F;  // W - DQ(W_q), the same for every weight

// The model of `text`, its last node (the Gemm) named "layer" in both models.
onnx::ModelProto Parse(const std::string& text) {
  onnx::ModelProto model = testing::ParseModelText(text);
  model.mutable_graph()->mutable_node(model.graph().node_size() - 1)->set_name("layer");
  return model;
}

// W = 0.1 * W_q + 0.03, B = 0.01 * B_q: the quantized model's weight is off by 0.03 everywhere.
onnx::ModelProto FloatModel() {
  return Parse(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,4] X) => (float[N,3] Y)
<float[3,4] W = {0.13, -0.17, 0.23, 0.03, -0.07, 0.33, 0.03, -0.27, 0.53, 0.13, -0.07, 0.03},
 float[3] B = {0.05, -0.02, 0.1}>
{
  Y = Gemm <transB = 1> (X, W, B)
}
)");
}

onnx::ModelProto QuantizedModel() {
  return Parse(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,4] X) => (float[N,3] Y)
<int8[3,4] Wq = {1, -2, 2, 0, -1, 3, 0, -3, 5, 1, -1, 0}, float Ws = {0.1}, int8 Wz = {0},
 int32[3] Bq = {5, -2, 10}, float Bs = {0.01}, int32 Bz = {0}>
{
  Wd = DequantizeLinear (Wq, Ws, Wz)
  Bd = DequantizeLinear (Bq, Bs, Bz)
  Y = Gemm <transB = 1> (X, Wd, Bd)
}
)");
}

std::vector<Feeds> Batches() {
  std::vector<Feeds> all;
  for (int b = 0; b < kBatches; ++b) {
    all.push_back({Tensor::FromFloats("X", {kBatch, 4},
                                      testing::LcgUniform(kBatch * 4, 31U + static_cast<uint32_t>(b), 0.0F, 1.0F))});
  }
  return all;
}

// The corrected int32 bias worked out from the data: every channel's output is off by
// 0.03 * sum_i x_i, so each gains 0.03 * mean(sum_i x_i) / 0.01 quantization steps.
std::vector<int64_t> ExpectedBias(const std::vector<Feeds>& batches) {
  double sum = 0;
  int64_t samples = 0;
  for (const Feeds& batch : batches) {
    for (const float x : batch[0].floats()) sum += x;
    samples += kBatch;
  }
  const double shift = kWeightError * sum / static_cast<double>(samples);
  std::vector<int64_t> bias;
  for (const int64_t q : {5, -2, 10}) {
    bias.push_back(static_cast<int64_t>(std::nearbyint((q * static_cast<double>(kBiasScale) + shift) / kBiasScale)));
  }
  return bias;
}

std::vector<int64_t> BiasOf(onnx::ModelProto& model) {
  GraphView view(model.mutable_graph());
  auto values = ToInt64s(*view.Initializer("Bq"));
  EXPECT_TRUE(values.ok());
  return values.ok() ? *values : std::vector<int64_t>();
}

TEST(CorrectBiasThreadsTest, WorkersMeasureTheShiftWorkedOutFromTheData) {
  const auto batches = Batches();
  const std::vector<int64_t> expected = ExpectedBias(batches);
  ASSERT_NE(expected, (std::vector<int64_t>{5, -2, 10}));  // the correction changes something
  for (const int threads : {1, 4}) {
    const FakeBackend backend({.run_time = std::chrono::microseconds(300)});
    onnx::ModelProto quantized = QuantizedModel();
    VectorReader reader(batches);
    auto report = CorrectBias(backend, FloatModel(), quantized, reader, {.threads = threads});
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_EQ(report->changes, 1);
    EXPECT_EQ(BiasOf(quantized), expected) << threads << " workers";
    EXPECT_EQ(backend.runs(), kBatches);
    ASSERT_EQ(backend.session_options().size(), 1U);
    EXPECT_EQ(backend.session_options()[0].intra_op_threads, threads > 1 ? 1 : 0);
    if (threads > 1) {
      EXPECT_GT(backend.most_concurrent_runs(), 1);
    }
    ASSERT_FALSE(report->notes.empty());
    EXPECT_EQ(report->notes[0].rfind("1 layer biases corrected over 96 samples", 0), 0U) << report->notes[0];
  }
}

TEST(CorrectBiasThreadsTest, MaxSamplesEndsTheDataAfterTheBatchThatReachesIt) {
  const auto batches = Batches();
  const FakeBackend backend;
  onnx::ModelProto quantized = QuantizedModel();
  VectorReader reader(batches);
  auto report = CorrectBias(backend, FloatModel(), quantized, reader, {.max_samples = 10, .threads = 3});
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(backend.runs(), 3);
  EXPECT_EQ(BiasOf(quantized), ExpectedBias({batches.begin(), batches.begin() + 3}));
}

TEST(CorrectBiasThreadsTest, AFailingRunStopsEveryWorkerAndLeavesTheModel) {
  const FakeBackend backend({.run_time = std::chrono::microseconds(200), .failing_run = 5});
  onnx::ModelProto quantized = QuantizedModel();
  const std::string before = quantized.SerializeAsString();
  VectorReader reader(Batches());
  auto report = CorrectBias(backend, FloatModel(), quantized, reader, {.threads = 4});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().message(), "fake backend: run 5 fails");
  EXPECT_LT(reader.batches_read(), kBatches);
  EXPECT_EQ(quantized.SerializeAsString(), before);
}

TEST(CorrectBiasThreadsTest, AReaderErrorIsTheResult) {
  const FakeBackend backend;
  onnx::ModelProto quantized = QuantizedModel();
  VectorReader reader(Batches(), {.failing_batch = 7});
  auto report = CorrectBias(backend, FloatModel(), quantized, reader, {.threads = 2});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().message(), "batch 7 is unreadable");
  EXPECT_EQ(backend.runs(), 7);
}

}  // namespace
}  // namespace onnxq
