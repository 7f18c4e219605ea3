// Workers that share one data reader: calibration (collect_statistics.h) and bias correction
// (quantizer/correct_bias.h) run the batches of their data this way.
//
// Each worker takes the next batch under a lock, runs it outside the lock into state of its own
// (indexed by the worker), and reports the samples it did; the caller merges the workers' state after
// Run. The first error, of the reader or of a run, is the result: every worker stops before its next
// batch, so none waits on another. Progress is reported under the lock after each batch, so the
// callback sees the samples done in increasing order and never from two threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "onnxq/quantize.h"
#include "onnxq/status.h"
#include "onnxq/tensor.h"

namespace onnxq {

struct ParallelBatchesOptions {
  int64_t max_samples = -1;    // no batch is taken once this many samples were taken (-1: no limit)
  int64_t samples_before = 0;  // samples taken and done before: numbering and progress go on from there
  std::string stage;           // the progress callback's stage
  int64_t total = -1;          // the progress callback's total (-1: unknown)
  ProgressCallback progress;   // none: no reports
};

// A batch as a worker gets it.
struct TakenBatch {
  Feeds feeds;
  int64_t first_sample = 0;  // index in the data of its first sample
};

class ParallelBatches {
 public:
  // The next batch of the data (nullopt: the data ended); called under the lock.
  using Source = std::function<Result<std::optional<Feeds>>()>;
  // Runs a batch on worker `worker` (0 .. workers - 1) and returns the samples it did.
  using Work = std::function<Result<int64_t>(size_t worker, TakenBatch batch)>;

  ParallelBatches(Source source, ParallelBatchesOptions options);

  // Runs batches on `workers` workers, the calling thread as worker 0 (fewer when the system starts
  // fewer threads), until the data ends, max_samples are taken, an error, or each worker took
  // `max_batches` batches (-1: no limit). Later calls go on where the last one stopped. Returns the
  // first error of this call or an earlier one.
  Status Run(int workers, const Work& work, int64_t max_batches = -1);

  // Samples done in all, samples_before included (read between calls to Run, not during one).
  int64_t samples_done() const { return samples_done_; }

 private:
  std::optional<TakenBatch> Take();
  void Finish(const Result<int64_t>& done);

  Source source_;
  ParallelBatchesOptions options_;
  std::mutex mutex_;  // guards everything below and the calls to source_ and options_.progress
  int64_t samples_taken_ = 0;
  int64_t samples_done_ = 0;
  bool ended_ = false;
  Status first_error_;
};

}  // namespace onnxq
