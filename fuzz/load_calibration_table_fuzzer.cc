// Calibration table JSON -> ParseCalibrationTable (what `quantize --calib-table` and `calib-merge`
// load), then what they do with a table: ranges for every tensor with the table's own settings and,
// recomputed from its statistics, with each other method (`--calibrate-method`); a merge of the table
// with itself; the table as JSON and read back.
#include <string>
#include <vector>

#include "calibration/calibration_table.h"
#include "calibration/table_ranges.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto table = onnxq::ParseCalibrationTable(onnxq::fuzz::AsText(data, size), "fuzz.json");
  if (!table.ok()) return 0;
  std::vector<std::string> tensors;
  for (const auto& [name, range] : table->ranges) tensors.push_back(name);
  onnxq::CalibrationSettings settings = table->settings;
  settings.calibration.threads = 1;
  (void)onnxq::RangesFromTable(*table, tensors, settings);
  for (const auto method :
       {onnxq::CalibrationMethod::kMinMax, onnxq::CalibrationMethod::kPercentile, onnxq::CalibrationMethod::kEntropy,
        onnxq::CalibrationMethod::kNonOverflow, onnxq::CalibrationMethod::kMinMSE}) {
    if (method == table->settings.calibration.method) continue;
    settings.calibration.method = method;
    (void)onnxq::RangesFromTable(*table, tensors, settings);
  }
  const onnxq::CalibrationTable twice[] = {*table, *table};
  (void)onnxq::MergeCalibrationTables(twice);
  (void)onnxq::CalibrationTableFromJson(onnxq::ToJson(*table), "fuzz.json");
  return 0;
}
