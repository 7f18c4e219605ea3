// Streaming collection: runs are cut to keep large activations in cache, except for statistics that
// are defined per batch of the reader (moving averages, and MostCommon votes with a given batch size),
// which see whole batches.
#include "calibration/collect_statistics.h"

#include <gtest/gtest.h>

#include <random>

#include "calibration/onnxruntime_backend.h"
#include "calibration/pos_votes_statistic.h"
#include "testing/random_data.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;
using testing::VectorReader;

// 400,000 floats a sample in X and in Y: 3.2 MB, so automatic runs hold a single sample.
constexpr int64_t kWidth = 400000;

onnx::ModelProto WideModel() {
  return ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,400000] X) => (float[N,400000] Y)
{
  Y = Relu(X)
}
)");
}

// `batches` batches of 4 samples, values uniform in [-1, 1).
std::vector<Feeds> Batches(int batches) {
  std::mt19937 rng(5);
  std::vector<Feeds> all;
  for (int b = 0; b < batches; ++b) {
    all.push_back({Tensor::FromFloats("X", {4, kWidth}, testing::RandomVector(4 * kWidth, -1.0F, 1.0F, rng))});
  }
  return all;
}

CalibrationSettings Settings(CalibrationMethod method) {
  CalibrationSettings settings;
  settings.calibration.method = method;
  settings.calibration.threads = 2;
  return settings;
}

TEST(SumOfTest, EqualsTheSumInDouble) {
  // Lengths around the vector width, and values whose float sum would lose the small ones.
  for (const size_t n : {0U, 1U, 7U, 8U, 9U, 1000U, 1003U}) {
    std::vector<float> values;
    double expected = 0;
    for (size_t i = 0; i < n; ++i) {
      values.push_back(i % 2 == 0 ? 1e8F : 0.25F + static_cast<float>(i));
      expected += values.back();
    }
    EXPECT_DOUBLE_EQ(SumOf(values), expected) << n;
  }
}

TEST(CollectStatisticsTest, MostCommonVotesOncePerRunOrPerGivenBatch) {
  CalibrationSettings settings = Settings(CalibrationMethod::kMinMSE);
  settings.calibration.minmse_mode = MinMseMode::kMostCommon;
  // Automatic batch size: one vote per run, and runs of this model hold one sample (3.2 MB).
  // A given batch size: one vote per batch of the reader, however large.
  for (const int64_t batch_size : {int64_t{0}, int64_t{4}}) {
    settings.calibration.batch_size = batch_size;
    auto calibrator = MakeCalibrator(settings);
    ASSERT_TRUE(calibrator.ok());
    VectorReader reader(Batches(3));
    auto collected = CollectStatistics(OnnxRuntimeBackend(), WideModel(), {"X", "Y"}, reader, **calibrator,
                                       settings.calibration, {});
    ASSERT_TRUE(collected.ok()) << collected.status().message();
    EXPECT_EQ(collected->samples, 12);
    for (const char* tensor : {"X", "Y"}) {
      const auto* votes = dynamic_cast<const PosVotesStatistic*>(collected->statistics.at(tensor).get());
      ASSERT_NE(votes, nullptr);
      EXPECT_EQ(votes->batches(), batch_size > 0 ? 3 : 12) << tensor << ", batch size " << batch_size;
    }
  }
}

TEST(CollectStatisticsTest, MovingAverageFollowsReaderBatches) {
  CalibrationSettings settings = Settings(CalibrationMethod::kMinMax);
  settings.calibration.moving_average = true;
  auto calibrator = MakeCalibrator(settings);
  ASSERT_TRUE(calibrator.ok());
  VectorReader reader(Batches(2));
  auto collected =
      CollectStatistics(OnnxRuntimeBackend(), WideModel(), {"Y"}, reader, **calibrator, settings.calibration, {});
  ASSERT_TRUE(collected.ok()) << collected.status().message();
  const auto* minmax = dynamic_cast<const MinMaxStatistic*>(collected->statistics.at("Y").get());
  ASSERT_NE(minmax, nullptr);
  EXPECT_EQ(minmax->batches(), 2);
}

TEST(CollectStatisticsTest, SplitRunsGiveTheWholeBatchRange) {
  const CalibrationSettings settings = Settings(CalibrationMethod::kMinMax);
  auto calibrator = MakeCalibrator(settings);
  ASSERT_TRUE(calibrator.ok());
  const std::vector<Feeds> batches = Batches(2);
  float lo = 1.0F;
  float hi = -1.0F;
  for (const auto& batch : batches) {
    for (const float v : batch[0].floats()) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  VectorReader reader(batches);
  auto collected =
      CollectStatistics(OnnxRuntimeBackend(), WideModel(), {"X", "Y"}, reader, **calibrator, settings.calibration, {});
  ASSERT_TRUE(collected.ok()) << collected.status().message();
  const auto* x = dynamic_cast<const MinMaxStatistic*>(collected->statistics.at("X").get());
  const auto* y = dynamic_cast<const MinMaxStatistic*>(collected->statistics.at("Y").get());
  ASSERT_TRUE(x != nullptr && y != nullptr);
  EXPECT_EQ(x->min(), lo);
  EXPECT_EQ(x->max(), hi);
  EXPECT_EQ(y->min(), 0.0F);
  EXPECT_EQ(y->max(), hi);
  EXPECT_EQ(x->batches(), 8);  // one run a sample: 3.2 MB each
}

// `batches` batches of 4 samples of 4 values, Y = Relu(X) with X [N, 4] or [1, 4].
onnx::ModelProto SmallRelu(const char* batch) {
  return ParseModelText(std::string(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[)") + batch + R"(,4] X) => (float[)" +
                        batch + R"(,4] Y)
{
  Y = Relu(X)
}
)");
}

std::vector<Feeds> SmallBatches(int batches) {
  std::mt19937 rng(7);
  std::vector<Feeds> all;
  for (int b = 0; b < batches; ++b) {
    all.push_back({Tensor::FromFloats("X", {4, 4}, testing::RandomVector(16, -1.0F, 1.0F, rng))});
  }
  return all;
}

TEST(CollectStatisticsTest, KeepsTheRunsOfTheFirstSamplesWithTheirOutputs) {
  const CalibrationSettings settings = Settings(CalibrationMethod::kMinMax);
  auto calibrator = MakeCalibrator(settings);
  ASSERT_TRUE(calibrator.ok());
  const std::vector<Feeds> batches = SmallBatches(3);
  // 6 samples: the first run of 4 whole, and the second cut after its first 2, each with Relu(X).
  ReferenceRuns runs;
  VectorReader reader(batches);
  auto collected = CollectStatistics(OnnxRuntimeBackend(), SmallRelu("N"), {"X", "Y"}, reader, **calibrator,
                                     settings.calibration, {}, {}, {}, {.samples = 6, .runs = &runs});
  ASSERT_TRUE(collected.ok()) << collected.status().message();
  EXPECT_EQ(collected->samples, 12);
  EXPECT_TRUE(runs.with_outputs);
  EXPECT_EQ(runs.outputs, std::vector<std::string>{"Y"});
  ASSERT_EQ(runs.runs.size(), 2U);
  for (size_t r = 0; r < 2; ++r) {
    const int64_t samples = r == 0 ? 4 : 2;
    const auto x = batches[r][0].floats().first(static_cast<size_t>(4 * samples));
    EXPECT_EQ(std::vector<float>(runs.runs[r].feeds[0].floats().begin(), runs.runs[r].feeds[0].floats().end()),
              std::vector<float>(x.begin(), x.end()));
    ASSERT_EQ(runs.runs[r].values.size(), 1U);
    EXPECT_EQ(runs.runs[r].shapes[0], (std::vector<int64_t>{samples, 4}));
    ASSERT_EQ(runs.runs[r].values[0].size(), x.size());
    for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(runs.runs[r].values[0][i], std::max(x[i], 0.0F));
  }
  // 16 bytes a sample: 40 bytes hold 2 samples, the first run cut after them.
  VectorReader again(batches);
  ASSERT_TRUE(CollectStatistics(OnnxRuntimeBackend(), SmallRelu("N"), {"X"}, again, **calibrator, settings.calibration,
                                {}, {}, {}, {.samples = 6, .input_bytes = 40, .runs = &runs})
                  .ok());
  ASSERT_EQ(runs.runs.size(), 1U);
  EXPECT_EQ(runs.runs[0].feeds[0].shape, (std::vector<int64_t>{2, 4}));
  // ... but never fewer than min_samples.
  VectorReader third(batches);
  ASSERT_TRUE(CollectStatistics(OnnxRuntimeBackend(), SmallRelu("N"), {"X"}, third, **calibrator, settings.calibration,
                                {}, {}, {}, {.samples = 6, .input_bytes = 10, .min_samples = 3, .runs = &runs})
                  .ok());
  ASSERT_EQ(runs.runs.size(), 1U);
  EXPECT_EQ(runs.runs[0].feeds[0].shape, (std::vector<int64_t>{3, 4}));
}

TEST(CollectStatisticsTest, KeepsSamplesOfARewrittenModelAsRunsOfTheModelAsGiven) {
  // A fixed batch of 1 read 4 samples at a time runs with a symbolic batch: each of the first 3
  // samples is kept as a run of batch 1, with its row of the run's output.
  const CalibrationSettings settings = Settings(CalibrationMethod::kMinMax);
  auto calibrator = MakeCalibrator(settings);
  ASSERT_TRUE(calibrator.ok());
  const std::vector<Feeds> batches = SmallBatches(2);
  ReferenceRuns runs;
  VectorReader reader(batches);
  ASSERT_TRUE(CollectStatistics(OnnxRuntimeBackend(), SmallRelu("1"), {"X", "Y"}, reader, **calibrator,
                                settings.calibration, {}, {}, {}, {.samples = 3, .runs = &runs})
                  .ok());
  EXPECT_TRUE(runs.with_outputs);
  EXPECT_EQ(runs.outputs, std::vector<std::string>{"Y"});
  ASSERT_EQ(runs.runs.size(), 3U);
  for (size_t r = 0; r < 3; ++r) {
    const auto x = batches[0][0].floats().subspan(4 * r, 4);
    EXPECT_EQ(runs.runs[r].feeds[0].shape, (std::vector<int64_t>{1, 4}));
    EXPECT_EQ(runs.runs[r].feeds[0].floats()[0], x[0]);
    ASSERT_EQ(runs.runs[r].values.size(), 1U);
    EXPECT_EQ(runs.runs[r].shapes[0], (std::vector<int64_t>{1, 4}));
    ASSERT_EQ(runs.runs[r].values[0].size(), 4U);
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(runs.runs[r].values[0][i], std::max(x[i], 0.0F));
  }
  // An output not declared with a batch of 1 cannot be cut by sample: only the inputs are kept.
  onnx::ModelProto undeclared = SmallRelu("1");
  undeclared.mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->clear_shape();
  VectorReader again(batches);
  ASSERT_TRUE(CollectStatistics(OnnxRuntimeBackend(), undeclared, {"X", "Y"}, again, **calibrator, settings.calibration,
                                {}, {}, {}, {.samples = 3, .runs = &runs})
                  .ok());
  EXPECT_FALSE(runs.with_outputs);
  EXPECT_TRUE(runs.outputs.empty());
  ASSERT_EQ(runs.runs.size(), 1U);
  EXPECT_EQ(runs.runs[0].feeds[0].shape, (std::vector<int64_t>{3, 4}));
  EXPECT_TRUE(runs.runs[0].values.empty());
}

}  // namespace
}  // namespace onnxq

namespace onnxq {
namespace {

// The graph input of `model_text` with its dims replaced by `dims`.
onnx::ModelProto WithInputDims(const std::string& model_text, const std::vector<int64_t>& dims) {
  onnx::ModelProto model = testing::ParseModelText(model_text);
  auto* shape = model.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  shape->clear_dim();
  for (const int64_t d : dims) shape->add_dim()->set_dim_value(d);
  return model;
}

constexpr char kRelu[] = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,4] X) => (float[N,4] Y)
{
  Y = Relu(X)
}
)";

TEST(ChooseBatchSizeTest, ReadsLargeSamplesAFewAtATime) {
  // 3 x 224 x 224 floats (588 KiB): 16 a batch; 3 x 1024 x 1024 (12 MiB): 1 a batch.
  EXPECT_EQ(ChooseBatchSize(WithInputDims(kRelu, {1, 3, 224, 224}), {}), 16);
  EXPECT_EQ(ChooseBatchSize(WithInputDims(kRelu, {1, 3, 1024, 1024}), {}), 1);
  // A batch size given is kept.
  EXPECT_EQ(ChooseBatchSize(WithInputDims(kRelu, {1, 3, 1024, 1024}), {.batch_size = 4}), 4);
}

TEST(ChooseBatchSizeTest, DimensionsWhoseProductOverflowsGiveOneSampleABatch) {
  const int64_t huge = int64_t{1} << 40;
  EXPECT_EQ(ChooseBatchSize(WithInputDims(kRelu, {1, huge, huge, huge}), {}), 1);
  EXPECT_EQ(ChooseBatchSize(WithInputDims(kRelu, {1, -5, 0}), {}), 16);
}

}  // namespace
}  // namespace onnxq
