// Threads that cannot start (a limit on processes, threads or memory: std::thread throws
// std::system_error) are never fatal: every place onnxq starts a thread goes on with those it has,
// down to the calling thread alone, and gives the same result. This executable replaces
// pthread_create, which std::thread calls, with one that fails on demand; on the fake backend, so that
// no ONNX Runtime thread pool is in the process.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <future>
#include <numeric>
#include <string>
#include <vector>

#include "calibration/collect_statistics.h"
#include "calibration/inference_backend.h"
#include "common/worker_pool.h"
#include "testing/fake_backend.h"
#include "testing/model_text.h"
#include "testing/random_data.h"
#include "testing/vector_reader.h"

namespace {

// Thread starts still allowed before pthread_create fails with EAGAIN; negative: no limit.
std::atomic<int> starts_left{-1};

}  // namespace

using PthreadCreate = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);

// A sanitizer runtime linked into the executable (clang's) defines pthread_create as a weak alias of
// its interceptor, which this definition replaces: the interceptor is called by its own name then.
extern "C" int __interceptor_pthread_create(pthread_t*, const pthread_attr_t*, void* (*)(void*),  // NOLINT
                                            void*) __attribute__((weak));

extern "C" int pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*), void* arg) {
  for (int left = starts_left.load(); left >= 0;) {
    if (left == 0) return EAGAIN;
    if (starts_left.compare_exchange_weak(left, left - 1)) break;
  }
  static const PthreadCreate next = [] {
    if (__interceptor_pthread_create != nullptr) return &__interceptor_pthread_create;
    return reinterpret_cast<PthreadCreate>(dlsym(RTLD_NEXT, "pthread_create"));  // NOLINT
  }();
  return next(thread, attr, start, arg);
}

namespace onnxq {
namespace {

using testing::FakeBackend;
using testing::ParseModelText;
using testing::VectorReader;

// Lets `starts` more threads start for as long as it lives.
class ThreadStartLimit {
 public:
  explicit ThreadStartLimit(int starts) { starts_left = starts; }
  ~ThreadStartLimit() { starts_left = -1; }
  ThreadStartLimit(const ThreadStartLimit&) = delete;
  ThreadStartLimit& operator=(const ThreadStartLimit&) = delete;
};

TEST(ThreadStartFailureTest, TheLimitFailsStdThreadWithSystemError) {
  const ThreadStartLimit limit(0);
  EXPECT_THROW(std::thread([] {}), std::system_error);
}

TEST(ThreadStartFailureTest, AWorkerPoolWorksWithTheThreadsItGot) {
  for (const int starts : {0, 2}) {
    const ThreadStartLimit limit(starts);
    WorkerPool pool(8);
    EXPECT_EQ(pool.size(), starts + 1);
    std::vector<int64_t> squares(1000);
    pool.ParallelFor(static_cast<int64_t>(squares.size()), [&](int64_t i) { squares[i] = i * i; });
    int64_t sum = std::accumulate(squares.begin(), squares.end(), int64_t{0});
    EXPECT_EQ(sum, 332833500);  // sum of i^2 for i < 1000
  }                             // the pool joins what it started
}

TEST(ThreadStartFailureTest, ALoadInBackgroundLoadsOnTheCallingThread) {
  const FakeBackend backend;
  const ThreadStartLimit limit(0);
  const std::shared_future<void> loading = LoadInBackground(backend);
  EXPECT_EQ(backend.loads(), 1);  // done before it returned
  loading.wait();
}

// Z = Relu(X) + 0.5, with a symbolic batch or a fixed batch of 1.
onnx::ModelProto ReluAddModel(const std::string& batch) {
  return ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[)" + batch + R"(,8] X) => (float[)" +
                        batch + R"(,8] Z) <float[)" + batch + R"(,8] Y, float[1] b = {0.5}>
{
  Y = Relu(X)
  Z = Add(Y, b)
}
)");
}

std::vector<Feeds> Batches(int batches, int64_t batch) {
  std::vector<Feeds> all;
  for (int b = 0; b < batches; ++b) {
    const auto values = testing::LcgUniform(static_cast<size_t>(batch * 8), 5U + static_cast<uint32_t>(b), -1.0F, 1.0F);
    all.push_back({Tensor::FromFloats("X", {batch, 8}, values)});
  }
  return all;
}

// The statistics of X, Y and Z as JSON, collected with `threads` workers of which `starts` can start.
std::vector<std::string> Statistics(const onnx::ModelProto& model, int64_t batch, int threads, int starts) {
  const FakeBackend backend({.run_time = std::chrono::microseconds(200)});
  VectorReader reader(Batches(12, batch));
  CalibrationSettings settings;
  settings.calibration.method = CalibrationMethod::kPercentile;
  settings.calibration.threads = threads;
  auto calibrator = MakeCalibrator(settings);
  EXPECT_TRUE(calibrator.ok());
  const std::vector<std::string> tensors = {"X", "Y", "Z"};
  const ThreadStartLimit limit(starts);
  auto collected = CollectStatistics(backend, model, tensors, reader, **calibrator, settings.calibration, {}, {});
  EXPECT_TRUE(collected.ok()) << collected.status().message();
  std::vector<std::string> json;
  if (!collected.ok()) return json;
  EXPECT_EQ(collected->samples, 12 * batch);
  for (const auto& tensor : tensors) json.push_back(collected->statistics.at(tensor)->ToJson().dump());
  return json;
}

TEST(ThreadStartFailureTest, CalibrationWorkersThatCannotStartLeaveTheStatisticsAsOneWorkerGives) {
  const auto one = Statistics(ReluAddModel("N"), 4, 1, -1);
  ASSERT_EQ(one.size(), 3U);
  EXPECT_EQ(Statistics(ReluAddModel("N"), 4, 8, 0), one);
  EXPECT_EQ(Statistics(ReluAddModel("N"), 4, 8, 2), one);
}

TEST(ThreadStartFailureTest, TheCheckOfAFixedBatchOfOneRunsWithoutASecondThread) {
  // The check runs a batch whole and its first samples one by one, concurrently when it can.
  const auto one = Statistics(ReluAddModel("1"), 8, 1, -1);
  ASSERT_EQ(one.size(), 3U);
  EXPECT_EQ(Statistics(ReluAddModel("1"), 8, 2, 0), one);
}

}  // namespace
}  // namespace onnxq
