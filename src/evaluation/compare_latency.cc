#include "evaluation/compare_latency.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "calibration/onnxruntime_backend.h"

namespace onnxq {
namespace {

using Clock = std::chrono::steady_clock;

// ONNX Runtime's intra-op threads keep spinning for a while after a run, waiting for the next one; a
// session run meanwhile shares the cores with the other session's spinning threads. Measured on
// mobilenet_v3_small (2 cores, passes of 16 samples alternating without a pause), both models took
// twice their time in a process of their own (2.2-2.6 ms against 1.3), and the float model against
// itself came out at 0.92-1.08x. A pause before each timed pass lets the other pool fall asleep.
constexpr std::chrono::milliseconds kSettle{100};

Status RunPass(InferenceSession& session, const std::vector<Feeds>& batches) {
  for (const Feeds& batch : batches) ONNXQ_RETURN_IF_ERROR(session.Run(batch, {}).status());
  return Status::Ok();
}

// Seconds one pass over `batches` takes, after the other session's threads have settled and one
// untimed run of the first batch has woken this session's threads and brought its weights into the
// caches.
Result<double> TimePass(InferenceSession& session, const std::vector<Feeds>& batches) {
  std::this_thread::sleep_for(kSettle);
  ONNXQ_RETURN_IF_ERROR(session.Run(batches.front(), {}).status());
  const auto start = Clock::now();
  ONNXQ_RETURN_IF_ERROR(RunPass(session, batches));
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double Median(std::vector<double> values) {
  std::ranges::sort(values);
  const size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

}  // namespace

Result<LatencyComparison> CompareLatency(const InferenceBackend& backend, const onnx::ModelProto& float_model,
                                         const onnx::ModelProto& quantized_model, CalibrationDataReader& reader,
                                         const LatencyOptions& options) {
  if (options.repeats < 1) return InvalidArgument("the latency needs at least 1 timed pass");
  LatencyComparison comparison;
  std::vector<Feeds> batches;
  while (true) {
    ONNXQ_ASSIGN_OR_RETURN(std::optional<Feeds> batch, reader.GetNext());
    if (!batch) break;
    comparison.samples += SamplesIn(*batch);
    batches.push_back(std::move(*batch));
  }
  if (batches.empty()) return InvalidArgument("no samples to measure the latency on");
  comparison.runs = static_cast<int64_t>(batches.size());
  const SessionOptions session_options{.intra_op_threads = options.intra_op_threads};
  std::vector<std::unique_ptr<InferenceSession>> sessions;
  for (const onnx::ModelProto* model : {&float_model, &quantized_model}) {
    ONNXQ_ASSIGN_OR_RETURN(auto session, backend.CreateSession(*model, session_options));
    ONNXQ_RETURN_IF_ERROR(RunPass(*session, batches));  // untimed: first-run allocations
    sessions.push_back(std::move(session));
  }
  std::vector<double> float_passes;
  std::vector<double> quantized_passes;
  for (int repeat = 0; repeat < options.repeats; ++repeat) {
    ONNXQ_ASSIGN_OR_RETURN(const double float_pass, TimePass(*sessions[0], batches));
    ONNXQ_ASSIGN_OR_RETURN(const double quantized_pass, TimePass(*sessions[1], batches));
    float_passes.push_back(float_pass);
    quantized_passes.push_back(quantized_pass);
  }
  const auto samples = static_cast<double>(comparison.samples);
  comparison.float_seconds = Median(float_passes) / samples;
  comparison.quantized_seconds = Median(quantized_passes) / samples;
  return comparison;
}

Result<LatencyComparison> CompareLatency(const onnx::ModelProto& float_model, const onnx::ModelProto& quantized_model,
                                         CalibrationDataReader& reader, const LatencyOptions& options) {
  return CompareLatency(OnnxRuntimeBackend(), float_model, quantized_model, reader, options);
}

}  // namespace onnxq
