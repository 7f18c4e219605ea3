// CollectStatistics' threads on the fake backend (no ONNX Runtime in the process, so ThreadSanitizer
// sees every thread): workers that share a reader and a session and fold statistics of their own,
// merged into what one worker computes; observers called on the thread of each run; the concurrent
// check of a fixed batch of 1; the probe of a first batch; errors that stop every worker; and the
// backend loading on a thread of its own while calibration starts.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <string>
#include <utility>
#include <vector>

#include "calibration/collect_statistics.h"
#include "calibration/tensor_statistic.h"
#include "testing/fake_backend.h"
#include "testing/model_text.h"
#include "testing/random_data.h"
#include "testing/vector_reader.h"

namespace onnxq {
namespace {

using testing::FakeBackend;
using testing::ParseModelText;
using testing::VectorReader;

constexpr int64_t kWidth = 8;
constexpr int64_t kBatch = 4;
constexpr int kBatches = 48;
constexpr int64_t kSamples = kBatch * kBatches;

// Z = Relu(X) + 0.5, every shape known.
onnx::ModelProto ShapedModel() {
  return ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,8] X) => (float[N,8] Z) <float[N,8] Y, float[1] b = {0.5}>
{
  Y = Relu(X)
  Z = Add(Y, b)
}
)");
}

// The same without Y's shape: what one sample of the tensors takes is unknown.
onnx::ModelProto UnshapedModel() {
  return ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,8] X) => (float[N,8] Z) <float[1] b = {0.5}>
{
  Y = Relu(X)
  Z = Add(Y, b)
}
)");
}

// The same exported with a fixed batch of 1.
onnx::ModelProto BatchOfOneModel() {
  return ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,8] X) => (float[1,8] Z) <float[1,8] Y, float[1] b = {0.5}>
{
  Y = Relu(X)
  Z = Add(Y, b)
}
)");
}

const std::vector<std::string> kTensors = {"X", "Y", "Z"};

// `batches` batches of `batch` samples, values in [-1, 1).
std::vector<Feeds> Batches(int batches, int64_t batch) {
  std::vector<Feeds> all;
  for (int b = 0; b < batches; ++b) {
    const auto values =
        testing::LcgUniform(static_cast<size_t>(batch * kWidth), 17U + static_cast<uint32_t>(b), -1.0F, 1.0F);
    all.push_back({Tensor::FromFloats("X", {batch, kWidth}, values)});
  }
  return all;
}

struct Expected {
  float min = 0;
  float max = 0;
};

// The ranges of X, Y and Z over `batches`, computed directly.
std::vector<Expected> ExpectedRanges(const std::vector<Feeds>& batches) {
  float lo = 1.0F;
  float hi = -1.0F;
  for (const auto& batch : batches) {
    for (const float v : batch[0].floats()) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  const float relu_lo = std::max(lo, 0.0F);
  return {{lo, hi}, {relu_lo, hi}, {relu_lo + 0.5F, hi + 0.5F}};
}

CalibrationSettings Settings(int threads, CalibrationMethod method = CalibrationMethod::kMinMax) {
  CalibrationSettings settings;
  settings.calibration.method = method;
  settings.calibration.threads = threads;
  return settings;
}

Result<CollectedStatistics> Collect(const FakeBackend& backend, const onnx::ModelProto& model,
                                    CalibrationDataReader& reader, const CalibrationSettings& settings,
                                    const ProgressCallback& progress = {},
                                    const std::map<std::string, size_t>& magnitudes = {}) {
  ONNXQ_ASSIGN_OR_RETURN(auto calibrator, MakeCalibrator(settings));
  return CollectStatistics(backend, model, kTensors, reader, *calibrator, settings.calibration, progress, magnitudes);
}

// Fails the test unless each tensor's min/max statistic has `expected` and `runs` runs folded in.
void ExpectRanges(const CollectedStatistics& collected, const std::vector<Expected>& expected, int64_t runs) {
  for (size_t t = 0; t < kTensors.size(); ++t) {
    const auto* minmax = dynamic_cast<const MinMaxStatistic*>(collected.statistics.at(kTensors[t]).get());
    ASSERT_NE(minmax, nullptr) << kTensors[t];
    EXPECT_EQ(minmax->min(), expected[t].min) << kTensors[t];
    EXPECT_EQ(minmax->max(), expected[t].max) << kTensors[t];
    EXPECT_EQ(minmax->batches(), runs) << kTensors[t];
  }
}

TEST(CollectStatisticsThreadsTest, WorkersFoldEveryBatchOnceIntoStatisticsOfTheirOwn) {
  const FakeBackend backend({.run_time = std::chrono::microseconds(500)});
  const auto batches = Batches(kBatches, kBatch);
  VectorReader reader(batches);
  auto collected = Collect(backend, ShapedModel(), reader, Settings(4), {}, {{"Y", 0}});
  ASSERT_TRUE(collected.ok()) << collected.status().message();
  EXPECT_EQ(collected->samples, kSamples);
  ExpectRanges(*collected, ExpectedRanges(batches), kBatches);
  const MagnitudeHistogram& magnitudes = collected->magnitudes.at("Y");
  EXPECT_EQ(magnitudes.zeros + magnitudes.nonzero_finite(), kSamples * kWidth);
  // One session for every worker, one engine thread a run; the runs overlapped.
  const auto sessions = backend.session_options();
  ASSERT_EQ(sessions.size(), 1U);
  EXPECT_EQ(sessions[0].intra_op_threads, 1);
  EXPECT_FALSE(sessions[0].allow_spinning);
  EXPECT_EQ(sessions[0].observed, kTensors);
  EXPECT_EQ(backend.runs(), kBatches);
  EXPECT_GT(backend.most_concurrent_runs(), 1);
}

// Histograms, percentiles and power-of-two votes merge exactly: four workers end where one does.
TEST(CollectStatisticsThreadsTest, FourWorkersGiveTheStatisticsOfOne) {
  const auto batches = Batches(kBatches, kBatch);
  for (const CalibrationMethod method : {CalibrationMethod::kMinMax, CalibrationMethod::kPercentile,
                                         CalibrationMethod::kEntropy, CalibrationMethod::kMinMSE}) {
    const FakeBackend one_backend;
    VectorReader one_reader(batches);
    auto one = Collect(one_backend, ShapedModel(), one_reader, Settings(1, method), {}, {{"Z", 0}});
    const FakeBackend four_backend({.run_time = std::chrono::microseconds(300)});
    VectorReader four_reader(batches);
    auto four = Collect(four_backend, ShapedModel(), four_reader, Settings(4, method), {}, {{"Z", 0}});
    ASSERT_TRUE(one.ok()) << one.status().message();
    ASSERT_TRUE(four.ok()) << four.status().message();
    EXPECT_EQ(one_backend.most_concurrent_runs(), 1);
    EXPECT_GT(four_backend.most_concurrent_runs(), 1);
    EXPECT_EQ(four->samples, one->samples);
    for (const auto& tensor : kTensors) {
      EXPECT_EQ(four->statistics.at(tensor)->ToJson(), one->statistics.at(tensor)->ToJson())
          << tensor << ", method " << static_cast<int>(method);
    }
    const MagnitudeHistogram& m1 = one->magnitudes.at("Z");
    const MagnitudeHistogram& m4 = four->magnitudes.at("Z");
    EXPECT_EQ(m4.zeros, m1.zeros);
    EXPECT_EQ(m4.nonzero_finite(), m1.nonzero_finite());
  }
}

TEST(CollectStatisticsThreadsTest, ProgressCountsEverySampleOnceInOrder) {
  const FakeBackend backend({.run_time = std::chrono::microseconds(200)});
  VectorReader reader(Batches(kBatches, kBatch), {.tells_sample_count = true});
  std::vector<std::pair<int64_t, int64_t>> reports;  // written under CollectStatistics' lock
  const auto progress = [&](const std::string& stage, int64_t done, int64_t total) {
    EXPECT_EQ(stage, "calibrate");
    reports.emplace_back(done, total);
  };
  auto collected = Collect(backend, ShapedModel(), reader, Settings(3), progress);
  ASSERT_TRUE(collected.ok()) << collected.status().message();
  ASSERT_EQ(reports.size(), static_cast<size_t>(kBatches));
  for (size_t i = 0; i < reports.size(); ++i) {
    EXPECT_EQ(reports[i].first, kBatch * static_cast<int64_t>(i + 1));
    EXPECT_EQ(reports[i].second, kSamples);
  }
}

TEST(CollectStatisticsThreadsTest, AFailingRunStopsEveryWorkerWithItsError) {
  const FakeBackend backend({.run_time = std::chrono::microseconds(200), .failing_run = 10});
  VectorReader reader(Batches(kBatches, kBatch));
  auto collected = Collect(backend, ShapedModel(), reader, Settings(4));
  ASSERT_FALSE(collected.ok());
  EXPECT_EQ(collected.status().message(), "fake backend: run 10 fails");
  // The workers stopped before the data ended (each takes no batch once the error is known).
  EXPECT_LT(reader.batches_read(), kBatches);
}

TEST(CollectStatisticsThreadsTest, AReaderErrorStopsEveryWorker) {
  const FakeBackend backend({.run_time = std::chrono::microseconds(200)});
  VectorReader reader(Batches(kBatches, kBatch), {.failing_batch = 20});
  auto collected = Collect(backend, ShapedModel(), reader, Settings(4));
  ASSERT_FALSE(collected.ok());
  EXPECT_EQ(collected.status().message(), "batch 20 is unreadable");
  EXPECT_EQ(backend.runs(), 20);
}

TEST(CollectStatisticsThreadsTest, AMovingAverageRunsOnOneWorker) {
  const FakeBackend backend({.run_time = std::chrono::microseconds(200)});
  VectorReader reader(Batches(16, kBatch));
  CalibrationSettings settings = Settings(4);
  settings.calibration.moving_average = true;
  auto collected = Collect(backend, ShapedModel(), reader, settings);
  ASSERT_TRUE(collected.ok()) << collected.status().message();
  EXPECT_EQ(backend.most_concurrent_runs(), 1);
  EXPECT_EQ(backend.session_options().at(0).intra_op_threads, 0);  // its one run uses every core
}

TEST(CollectStatisticsThreadsTest, AFixedBatchOfOneRunsWholeAfterAConcurrentCheck) {
  // The first batch of 8 runs whole on the caller's thread while its first 4 samples run one by one
  // on another, on the same session; they agree, so every later batch runs whole too.
  const FakeBackend backend({.run_time = std::chrono::microseconds(500)});
  const auto batches = Batches(6, 8);
  VectorReader reader(batches);
  auto collected = Collect(backend, BatchOfOneModel(), reader, Settings(2));
  ASSERT_TRUE(collected.ok()) << collected.status().message();
  EXPECT_EQ(collected->samples, 48);
  ASSERT_EQ(backend.session_options().size(), 1U);  // the symbolic-batch session serves
  EXPECT_EQ(backend.runs(), 4 + 6);
  // The statistics keep the whole run of the check (not its single runs) and the 5 runs after it.
  ExpectRanges(*collected, ExpectedRanges(batches), 6);
}

TEST(CollectStatisticsThreadsTest, UnknownSizesProbeTheFirstBatchAloneThenRunWorkers) {
  const FakeBackend backend({.run_time = std::chrono::microseconds(500)});
  const auto batches = Batches(kBatches, kBatch);
  VectorReader reader(batches);
  auto collected = Collect(backend, UnshapedModel(), reader, Settings(4));
  ASSERT_TRUE(collected.ok()) << collected.status().message();
  ExpectRanges(*collected, ExpectedRanges(batches), kBatches);
  const auto sessions = backend.session_options();
  ASSERT_EQ(sessions.size(), 1U);
  EXPECT_EQ(sessions[0].intra_op_threads, 0);  // the probe's run may use every core
  EXPECT_FALSE(sessions[0].memory_pattern);
  EXPECT_GT(backend.most_concurrent_runs(), 1);  // small tensors: the workers started after it
}

TEST(CollectStatisticsThreadsTest, ALoadOnItsOwnThreadOverlapsTheFirstSession) {
  const FakeBackend backend({.run_time = std::chrono::microseconds(200)});
  const std::shared_future<void> loading = LoadInBackground(backend);
  VectorReader reader(Batches(8, kBatch));
  auto collected = Collect(backend, ShapedModel(), reader, Settings(2));
  loading.wait();
  ASSERT_TRUE(collected.ok()) << collected.status().message();
  EXPECT_EQ(backend.loads(), 1);
  EXPECT_EQ(collected->samples, 8 * kBatch);
}

}  // namespace
}  // namespace onnxq
