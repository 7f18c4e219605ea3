// The calibration table (types and file format in onnxq/calibrate.h): JSON of the settings that
// choose ranges, shared by the table file and by merge and reuse checks.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "onnxq/calibrate.h"
#include "onnxq/status.h"

namespace onnxq {

nlohmann::json ToJson(const CalibrationSettings& settings);
nlohmann::json ToJson(const CalibrationTable& table);
Result<CalibrationTable> CalibrationTableFromJson(const nlohmann::json& json, const std::string& origin);
// A tensor's statistic in a table (CalibrationTable::statistics holds JSON text).
Result<nlohmann::json> ParseStatistic(const std::string& text, const std::string& tensor);
Result<CalibrationSettings> CalibrationSettingsFromJson(const nlohmann::json& json, const std::string& origin);

}  // namespace onnxq
