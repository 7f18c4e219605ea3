// The result of calibration: one real range per tensor (and, for power-of-two methods, the chosen
// position pos with scale = 2^-pos), plus the statistics behind it so tables computed on disjoint
// shards of the data can be merged. Written as JSON with floats that round-trip exactly.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "onnxq/status.h"

namespace onnxq {

struct TensorRange {
  float rmin = 0.0F;
  float rmax = 0.0F;
  std::optional<int> pos;  // power-of-two methods: scale = 2^-pos
};

struct CalibrationTable {
  std::string method;
  int64_t samples = 0;
  std::map<std::string, TensorRange> ranges;
  std::map<std::string, nlohmann::json> statistics;  // per tensor, method-specific
};

nlohmann::json ToJson(const CalibrationTable& table);
Result<CalibrationTable> CalibrationTableFromJson(const nlohmann::json& json, const std::string& origin);

Status SaveCalibrationTable(const CalibrationTable& table, const std::filesystem::path& path);
Result<CalibrationTable> LoadCalibrationTable(const std::filesystem::path& path);

}  // namespace onnxq
