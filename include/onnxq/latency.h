// The float and the quantized model's latency in ONNX Runtime's CPU provider, measured on the same
// samples, for `onnxq inspect --benchmark`.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>

#include "onnxq/data_reader.h"
#include "onnxq/status.h"

namespace onnxq {

struct LatencyOptions {
  int repeats = 5;           // timed passes over the samples, per model
  int intra_op_threads = 0;  // 0: the engine's default (all cores)
};

struct LatencyComparison {
  int64_t samples = 0;       // per pass
  int64_t runs = 0;          // per pass (batches)
  double float_seconds = 0;  // per sample: the median pass time over the samples in it
  double quantized_seconds = 0;
};

// Reads every batch of `reader` once (kept in memory), builds a session of each model, runs one
// untimed pass of each, then `repeats` timed passes, float and quantized in turn, so that both see the
// same machine load; each timed pass starts 0.1 s after the last one, when the other session's threads
// no longer spin, with one untimed run. RuntimeError when a model does not load or run; InvalidArgument for a reader
// without samples.
Result<LatencyComparison> CompareLatency(const onnx::ModelProto& float_model, const onnx::ModelProto& quantized_model,
                                         CalibrationDataReader& reader, const LatencyOptions& options = {});

}  // namespace onnxq
