// Streaming calibration: run the float model on each batch and fold each tensor to calibrate into its
// statistic as soon as the engine has computed it (parallel over batches, one worker a core). Memory
// holds one run's activations, whatever the number of samples.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/relative_error.h"
#include "calibration/calibration_table.h"
#include "calibration/calibrator.h"
#include "calibration/inference_backend.h"
#include "calibration/table_ranges.h"
#include "onnxq/data_reader.h"
#include "onnxq/quantize.h"

namespace onnxq {

struct CollectedStatistics {
  std::map<std::string, std::unique_ptr<TensorStatistic>> statistics;
  std::map<std::string, MagnitudeHistogram> magnitudes;     // the tensors asked for
  std::map<std::string, std::vector<float>> channel_means;  // the tensors asked for, when computed
  int64_t samples = 0;
};

// Where a tensor keeps its channels: axis 1 (a convolution's input, N C spatial...) or its last axis
// (a matrix product's input rows).
enum class ChannelAxis { kSecond, kLast };

// Tensors whose magnitudes to count by binary exponent besides their statistic (relative_error.h),
// each with its row size, and where to put the histograms. Row size 0: every value, judged on
// average (before Log); 1: every value, judged by the least resolved (a divisor); n > 1: the standard
// deviation of each run of n values, judged by the least resolved (LayerNormalization's rows).
struct MagnitudeRequest {
  std::map<std::string, size_t> tensors;
  std::map<std::string, MagnitudeHistogram>* histograms = nullptr;
};

// Tensors whose mean per channel to measure besides their statistic, over all samples and positions
// (weight_error_bias.h). The observer that summarizes a tensor also sums its channels, in the layout
// the engine hands it over in (algorithms/channel_sums.h): no node is added to the run, and a tensor
// of rank under 2 gets no mean.
struct ChannelMeanRequest {
  std::map<std::string, ChannelAxis> tensors;
};

// One run of a model, kept with the float graph outputs it gave (copied out of the engine).
struct ReferenceRun {
  Feeds feeds;
  std::vector<std::vector<int64_t>> shapes;  // one per ReferenceRuns::outputs
  std::vector<std::vector<float>> values;
};

// Runs to compare another model with (the pipeline's output check, pipeline/check_outputs.h).
struct ReferenceRuns {
  bool with_outputs = false;         // false: only the runs' inputs are kept
  std::vector<std::string> outputs;  // the model's float graph outputs, in graph order
  std::vector<ReferenceRun> runs;    // in sample order
};

// Which calibration runs to keep: those holding the first `samples` samples (0: none), as far as
// `input_bytes` of inputs hold them (the first `min_samples` always). A run of a dynamic batch that straddles
// the limit is cut there; runs of a fixed batch, and whole reader batches for per-batch statistics,
// are kept whole. When calibration runs a rewrite (a fixed batch of 1 made symbolic, to run several
// samples at once), each sample is kept as a run of the model as given, its outputs cut from the
// run's along axis 0; where that cannot be done (an output not declared [1, ...]), only the inputs are
// kept (ReferenceRuns::with_outputs false).
struct RunCapture {
  int64_t samples = 0;
  int64_t input_bytes = std::numeric_limits<int64_t>::max();
  int64_t min_samples = 1;
  ReferenceRuns* runs = nullptr;  // where they go
};

// Runs the model in sessions of `backend`, on CalibrationOptions::threads workers (parallel_batches.h),
// each folding the tensors it observes into statistics of its own, merged at the end.
Result<CollectedStatistics> CollectStatistics(const InferenceBackend& backend, const onnx::ModelProto& model,
                                              const std::vector<std::string>& tensors, CalibrationDataReader& reader,
                                              const Calibrator& calibrator, const CalibrationOptions& options,
                                              const ProgressCallback& progress,
                                              const std::map<std::string, size_t>& magnitude_tensors = {},
                                              const ChannelMeanRequest& means = {}, const RunCapture& capture = {});

// CollectStatistics, then the table of ranges (table_ranges.h), with the channel means asked for.
Result<CalibrationTable> Calibrate(const InferenceBackend& backend, const onnx::ModelProto& model,
                                   const std::vector<std::string>& tensors, CalibrationDataReader& reader,
                                   const CalibrationSettings& settings, const ProgressCallback& progress = {},
                                   TableContent content = TableContent::kRangesAndStatistics,
                                   const MagnitudeRequest& magnitudes = {}, const ChannelMeanRequest& means = {},
                                   const RunCapture& capture = {});

// Batch size to use for calibration of `model` (its fixed batch dimension, or options.batch_size /
// an automatic choice when the batch axis is dynamic).
int64_t ChooseBatchSize(const onnx::ModelProto& model, const CalibrationOptions& options);

}  // namespace onnxq
