// ParallelBatches on the fake backend: every batch runs once whatever the workers, the first error
// (of the reader or of a run) stops every worker and is the result, max_samples and max_batches stop
// the taking, progress comes in order.
#include "calibration/parallel_batches.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

#include "calibration/split_batch.h"
#include "testing/fake_backend.h"
#include "testing/model_text.h"
#include "testing/random_data.h"
#include "testing/vector_reader.h"

namespace onnxq {
namespace {

using testing::FakeBackend;
using testing::VectorReader;

constexpr int64_t kBatch = 4;
constexpr int kBatches = 40;

onnx::ModelProto ReluModel() {
  return testing::ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,2] X) => (float[N,2] Y)
{
  Y = Relu(X)
}
)");
}

std::vector<Feeds> Batches(int batches) {
  std::vector<Feeds> all;
  for (int b = 0; b < batches; ++b) {
    all.push_back(
        {Tensor::FromFloats("X", {kBatch, 2}, testing::LcgUniform(kBatch * 2, 7U + static_cast<uint32_t>(b), -1, 1))});
  }
  return all;
}

// Runs each batch in a session of `backend` and sums its outputs per worker; records the batches'
// first samples (under the lock of `seen_mutex`).
struct SummingWork {
  InferenceSession& session;
  std::vector<double>& sums;
  std::mutex& seen_mutex;
  std::vector<int64_t>& first_samples;

  Result<int64_t> operator()(size_t worker, TakenBatch batch) const {
    ONNXQ_ASSIGN_OR_RETURN(const RunOutputs run, session.Run(batch.feeds, {}));
    for (const float v : run[0].data) sums[worker] += v;
    const std::lock_guard<std::mutex> lock(seen_mutex);
    first_samples.push_back(batch.first_sample);
    return SamplesIn(batch.feeds);
  }
};

double SumOfRelu(const std::vector<Feeds>& batches) {
  double sum = 0;
  for (const Feeds& batch : batches) {
    for (const float v : batch[0].floats()) sum += std::max(v, 0.0F);
  }
  return sum;
}

TEST(ParallelBatchesTest, EveryBatchRunsOnceOnOverlappingWorkers) {
  const FakeBackend backend({.run_time = std::chrono::microseconds(500)});
  auto session = backend.CreateSession(ReluModel(), {});
  ASSERT_TRUE(session.ok()) << session.status().message();
  const auto data = Batches(kBatches);
  VectorReader reader(data);
  std::vector<double> sums(4, 0.0);
  std::mutex seen_mutex;
  std::vector<int64_t> first_samples;
  ParallelBatches batches([&] { return reader.GetNext(); }, {});
  ASSERT_TRUE(batches.Run(4, SummingWork{**session, sums, seen_mutex, first_samples}).ok());
  EXPECT_EQ(batches.samples_done(), kBatch * kBatches);
  EXPECT_EQ(backend.runs(), kBatches);
  EXPECT_GT(backend.most_concurrent_runs(), 1);
  std::sort(first_samples.begin(), first_samples.end());
  for (int b = 0; b < kBatches; ++b) EXPECT_EQ(first_samples[static_cast<size_t>(b)], kBatch * b);
  double total = 0;
  for (const double s : sums) total += s;
  EXPECT_NEAR(total, SumOfRelu(data), 1e-6);
}

TEST(ParallelBatchesTest, AFailingRunStopsEveryWorkerWithItsError) {
  const FakeBackend backend({.run_time = std::chrono::microseconds(200), .failing_run = 10});
  auto session = backend.CreateSession(ReluModel(), {});
  ASSERT_TRUE(session.ok());
  VectorReader reader(Batches(kBatches));
  std::vector<double> sums(4, 0.0);
  std::mutex seen_mutex;
  std::vector<int64_t> first_samples;
  ParallelBatches batches([&] { return reader.GetNext(); }, {});
  const Status status = batches.Run(4, SummingWork{**session, sums, seen_mutex, first_samples});
  EXPECT_EQ(status.code(), StatusCode::kRuntimeError);
  EXPECT_EQ(status.message(), "fake backend: run 10 fails");
  // Each worker stops before its next batch: the data is left unread.
  EXPECT_LT(reader.batches_read(), kBatches);
}

TEST(ParallelBatchesTest, AReaderErrorStopsEveryWorkerAfterTheBatchesBeforeIt) {
  const FakeBackend backend({.run_time = std::chrono::microseconds(200)});
  auto session = backend.CreateSession(ReluModel(), {});
  ASSERT_TRUE(session.ok());
  VectorReader reader(Batches(kBatches), {.failing_batch = 20});
  std::vector<double> sums(3, 0.0);
  std::mutex seen_mutex;
  std::vector<int64_t> first_samples;
  ParallelBatches batches([&] { return reader.GetNext(); }, {});
  const Status status = batches.Run(3, SummingWork{**session, sums, seen_mutex, first_samples});
  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_EQ(status.message(), "batch 20 is unreadable");
  EXPECT_EQ(backend.runs(), 20);  // the batches taken before it all ran
}

TEST(ParallelBatchesTest, AnExceptionInAWorkerIsAnError) {
  VectorReader reader(Batches(8));
  ParallelBatches batches([&] { return reader.GetNext(); }, {});
  const Status status = batches.Run(2, [](size_t worker, const TakenBatch& batch) -> Result<int64_t> {
    if (batch.first_sample == 3 * kBatch) throw std::runtime_error("worker " + std::to_string(worker) + " broke");
    return SamplesIn(batch.feeds);
  });
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_NE(status.message().find("broke"), std::string::npos) << status.message();
}

TEST(ParallelBatchesTest, MaxSamplesStopsTakingAfterTheBatchThatReachesIt) {
  VectorReader reader(Batches(kBatches));
  ParallelBatches batches([&] { return reader.GetNext(); }, {.max_samples = 10});
  ASSERT_TRUE(
      batches.Run(3, [](size_t, const TakenBatch& batch) -> Result<int64_t> { return SamplesIn(batch.feeds); }).ok());
  EXPECT_EQ(reader.batches_read(), 3);  // samples 0-3, 4-7, 8-11
  EXPECT_EQ(batches.samples_done(), 12);
}

TEST(ParallelBatchesTest, ALaterRunGoesOnWhereTheFirstStopped) {
  VectorReader reader(Batches(10));
  std::vector<std::pair<int64_t, int64_t>> reports;  // written under the loop's lock
  ParallelBatches batches([&] { return reader.GetNext(); },
                          {.samples_before = 6,
                           .stage = "measure",
                           .total = 46,
                           .progress = [&](const std::string& stage, int64_t done, int64_t total) {
                             EXPECT_EQ(stage, "measure");
                             reports.emplace_back(done, total);
                           }});
  std::mutex mutex;
  std::set<int64_t> firsts;
  const auto work = [&](size_t, const TakenBatch& batch) -> Result<int64_t> {
    const std::lock_guard<std::mutex> lock(mutex);
    firsts.insert(batch.first_sample);
    return SamplesIn(batch.feeds);
  };
  ASSERT_TRUE(batches.Run(1, work, 1).ok());
  EXPECT_EQ(firsts, (std::set<int64_t>{6}));
  EXPECT_EQ(batches.samples_done(), 10);
  ASSERT_TRUE(batches.Run(3, work).ok());
  EXPECT_EQ(batches.samples_done(), 46);
  EXPECT_EQ(firsts.size(), 10U);
  EXPECT_EQ(*firsts.rbegin(), 42);
  ASSERT_EQ(reports.size(), 10U);
  for (size_t i = 0; i < reports.size(); ++i) {
    EXPECT_EQ(reports[i].first, 6 + kBatch * static_cast<int64_t>(i + 1));
    EXPECT_EQ(reports[i].second, 46);
  }
}

}  // namespace
}  // namespace onnxq
