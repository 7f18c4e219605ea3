#include "calibration/parallel_batches.h"

#include <exception>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace onnxq {

ParallelBatches::ParallelBatches(Source source, ParallelBatchesOptions options)
    : source_(std::move(source)),
      options_(std::move(options)),
      samples_taken_(options_.samples_before),
      samples_done_(options_.samples_before) {}

std::optional<TakenBatch> ParallelBatches::Take() {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (ended_ || !first_error_.ok()) return std::nullopt;
  if (options_.max_samples >= 0 && samples_taken_ >= options_.max_samples) return std::nullopt;
  Result<std::optional<Feeds>> next = source_();
  if (!next.ok()) {
    first_error_ = next.status();
    return std::nullopt;
  }
  if (!next->has_value()) {
    ended_ = true;
    return std::nullopt;
  }
  TakenBatch batch{.feeds = std::move(**next), .first_sample = samples_taken_};
  samples_taken_ += SamplesIn(batch.feeds);
  return batch;
}

void ParallelBatches::Finish(const Result<int64_t>& done) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (!done.ok()) {
    if (first_error_.ok()) first_error_ = done.status();
    return;
  }
  samples_done_ += *done;
  if (options_.progress) options_.progress(options_.stage, samples_done_, options_.total);
}

Status ParallelBatches::Run(int workers, const Work& work, int64_t max_batches) {
  const auto loop = [&](size_t worker) {
    for (int64_t b = 0; max_batches < 0 || b < max_batches; ++b) {
      std::optional<TakenBatch> batch = Take();
      if (!batch) return;
      Result<int64_t> done = Internal("no result");
      try {
        done = work(worker, std::move(*batch));
      } catch (const std::exception& e) {
        // On a thread of its own an escaping exception would end the process.
        done = Internal(std::string("a worker stopped on an exception: ") + e.what());
      }
      Finish(done);
      if (!done.ok()) return;
    }
  };
  std::vector<std::thread> threads;
  for (int w = 1; w < workers; ++w) {
    try {
      threads.emplace_back(loop, static_cast<size_t>(w));
    } catch (const std::system_error&) {
      break;  // no more threads to be had: the workers started do the work
    }
  }
  loop(0);
  for (auto& thread : threads) thread.join();
  const std::lock_guard<std::mutex> lock(mutex_);
  return first_error_;
}

}  // namespace onnxq
