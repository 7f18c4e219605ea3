// From statistics to the table and back: ranges computed from collected statistics (in parallel
// over tensors), ranges recomputed from a stored table for the settings asked now, and the merge of
// tables computed on shards (declared in onnxq/calibrate.h).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "calibration/calibrator.h"

namespace onnxq {

// What a calibration table holds beyond the ranges.
enum class TableContent {
  kRangesAndStatistics,  // for a table written to disk, which other settings and merges reuse
  kRanges,               // for a quantization that uses the ranges at once
};

// The table of the collected statistics; empty statistics (tensors that were not float at run
// time) go to table.non_float. `model_inputs`: which tensors are inputs of the model
// (Calibrator::ComputeModelInputRange). `threads` <= 0: one per core.
Result<CalibrationTable> BuildCalibrationTable(
    const std::map<std::string, std::unique_ptr<TensorStatistic>>& statistics, int64_t samples,
    const Calibrator& calibrator, const CalibrationSettings& settings, const std::set<std::string>& model_inputs,
    int threads = 0, TableContent content = TableContent::kRangesAndStatistics);

struct TableRanges {
  std::map<std::string, TensorRange> ranges;
  std::vector<std::string> warnings;
};

// Ranges of `tensors` for `settings`, recomputed from the table's statistics (tensors listed as not
// float are left out). Fails naming the tensors the table lacks, and when its statistics cannot give
// settings' method. A table without statistics serves only the settings it was computed with.
Result<TableRanges> RangesFromTable(const CalibrationTable& table, const std::vector<std::string>& tensors,
                                    const CalibrationSettings& settings);

}  // namespace onnxq
