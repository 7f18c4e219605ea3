// Streaming calibration: run the float model on each batch and fold each tensor to calibrate into its
// statistic as soon as the engine has computed it (parallel over batches, one worker a core). Memory
// holds one run's activations, whatever the number of samples.
#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/relative_error.h"
#include "calibration/calibration_table.h"
#include "calibration/calibrator.h"
#include "calibration/table_ranges.h"
#include "onnxq/data_reader.h"
#include "onnxq/quantize.h"

namespace onnxq {

struct CollectedStatistics {
  std::map<std::string, std::unique_ptr<TensorStatistic>> statistics;
  std::map<std::string, MagnitudeHistogram> magnitudes;  // the tensors asked for
  int64_t samples = 0;
};

// Tensors whose magnitudes to count by binary exponent besides their statistic (relative_error.h),
// each with its row size, and where to put the histograms. Row size 0: every value, judged on
// average (before Log); 1: every value, judged by the least resolved (a divisor); n > 1: the standard
// deviation of each run of n values, judged by the least resolved (LayerNormalization's rows).
struct MagnitudeRequest {
  std::map<std::string, size_t> tensors;
  std::map<std::string, MagnitudeHistogram>* histograms = nullptr;
};

Result<CollectedStatistics> CollectStatistics(const onnx::ModelProto& model, const std::vector<std::string>& tensors,
                                              CalibrationDataReader& reader, const Calibrator& calibrator,
                                              const CalibrationOptions& options, const ProgressCallback& progress,
                                              const std::map<std::string, size_t>& magnitude_tensors = {});

// CollectStatistics, then the table of ranges (table_ranges.h).
Result<CalibrationTable> Calibrate(const onnx::ModelProto& model, const std::vector<std::string>& tensors,
                                   CalibrationDataReader& reader, const CalibrationSettings& settings,
                                   const ProgressCallback& progress = {},
                                   TableContent content = TableContent::kRangesAndStatistics,
                                   const MagnitudeRequest& magnitudes = {});

// Batch size to use for calibration of `model` (its fixed batch dimension, or options.batch_size /
// an automatic choice when the batch axis is dynamic).
int64_t ChooseBatchSize(const onnx::ModelProto& model, const CalibrationOptions& options);

}  // namespace onnxq
