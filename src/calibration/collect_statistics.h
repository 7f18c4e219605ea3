// Streaming calibration: run the float model on each batch and fold each tensor to calibrate into its
// statistic as soon as the engine has computed it (parallel over batches, one worker a core). Memory
// holds one run's activations, whatever the number of samples.
#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "calibration/calibration_table.h"
#include "calibration/calibrator.h"
#include "calibration/table_ranges.h"
#include "onnxq/data_reader.h"
#include "onnxq/quantize.h"

namespace onnxq {

struct CollectedStatistics {
  std::map<std::string, std::unique_ptr<TensorStatistic>> statistics;
  int64_t samples = 0;
};

Result<CollectedStatistics> CollectStatistics(const onnx::ModelProto& model, const std::vector<std::string>& tensors,
                                              CalibrationDataReader& reader, const Calibrator& calibrator,
                                              const CalibrationOptions& options, const ProgressCallback& progress);

// CollectStatistics, then the table of ranges (table_ranges.h).
Result<CalibrationTable> Calibrate(const onnx::ModelProto& model, const std::vector<std::string>& tensors,
                                   CalibrationDataReader& reader, const CalibrationSettings& settings,
                                   const ProgressCallback& progress = {},
                                   TableContent content = TableContent::kRangesAndStatistics);

// Batch size to use for calibration of `model` (its fixed batch dimension, or options.batch_size /
// an automatic choice when the batch axis is dynamic).
int64_t ChooseBatchSize(const onnx::ModelProto& model, const CalibrationOptions& options);

}  // namespace onnxq
