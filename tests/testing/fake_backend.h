// An inference backend for tests without ONNX Runtime: a small interpreter of float graphs that keeps
// the engine's contract (calibration/inference_backend.h) and counts what it is asked to do, so that
// tests see the workers of calibration and bias correction at work, and ThreadSanitizer watches them
// with no uninstrumented engine threads in between.
//
// Ops: Identity, Relu, Neg; Add, Sub, Mul (the second operand has the first's element count or a
// single value); Gemm (A [M, K] times B [K, N], or B [N, K] with transB = 1, plus an optional C of N
// values or one; alpha and beta 1); DequantizeLinear (an integer initializer, a scale and zero point
// of one value, or one per channel of `axis`). Values are float32 (integer initializers are read as
// floats). A run computes the nodes in graph order on the calling thread and hands each observed
// tensor to the observer as soon as it exists (graph inputs first), the whole run at a time, sample
// after sample.
#pragma once

#include <onnx/onnx_pb.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "calibration/inference_backend.h"

namespace onnxq::testing {

struct FakeBackendOptions {
  // Each run takes at least this long, so that runs on several workers overlap.
  std::chrono::microseconds run_time{0};
  // The run (counted from 0 over every session of the backend) that fails; -1: none.
  int64_t failing_run = -1;
};

class FakeBackend final : public InferenceBackend {
 public:
  explicit FakeBackend(FakeBackendOptions options = {}) : options_(options) {}

  // Registers the ops once; sessions wait for it (as the runtime's first session registers its kernels).
  void Load() const override;
  // Fails, naming the op, on an op it cannot compute. Sessions must not outlive the backend.
  Result<std::unique_ptr<InferenceSession>> CreateSession(const onnx::ModelProto& model,
                                                          const SessionOptions& options) const override;

  int loads() const { return loads_.load(); }           // times the ops were registered
  std::vector<SessionOptions> session_options() const;  // of every session created, in order
  int64_t runs() const { return runs_.load(); }         // runs started, failed ones included
  int most_concurrent_runs() const { return most_concurrent_.load(); }

  // For the sessions: a run starts (an error for the failing run) and ends.
  Status BeginRun() const;
  void EndRun() const;
  bool Knows(const std::string& op) const;

 private:
  FakeBackendOptions options_;
  mutable std::once_flag loaded_;
  mutable std::vector<std::string> ops_;  // written once, under loaded_
  mutable std::atomic<int> loads_{0};
  mutable std::mutex mutex_;  // guards sessions_
  mutable std::vector<SessionOptions> sessions_;
  mutable std::atomic<int64_t> runs_{0};
  mutable std::atomic<int> running_{0};
  mutable std::atomic<int> most_concurrent_{0};
};

}  // namespace onnxq::testing
