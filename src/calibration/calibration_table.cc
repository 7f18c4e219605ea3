#include "calibration/calibration_table.h"

#include <fstream>

#include "onnxq/model_io.h"

namespace onnxq {

nlohmann::json ToJson(const CalibrationTable& table) {
  nlohmann::json json;
  json["format"] = "onnxq-calibration-table";
  json["version"] = 1;
  json["method"] = table.method;
  json["samples"] = table.samples;
  auto& tensors = json["tensors"];
  tensors = nlohmann::json::object();
  for (const auto& [name, range] : table.ranges) {
    nlohmann::json entry{{"rmin", range.rmin}, {"rmax", range.rmax}};
    if (range.pos) entry["pos"] = *range.pos;
    if (const auto it = table.statistics.find(name); it != table.statistics.end()) entry["statistic"] = it->second;
    tensors[name] = std::move(entry);
  }
  return json;
}

Result<CalibrationTable> CalibrationTableFromJson(const nlohmann::json& json, const std::string& origin) {
  try {
    if (json.value("format", "") != "onnxq-calibration-table") {
      return InvalidArgument("'" + origin + "' is not an onnxq calibration table (missing format field)");
    }
    CalibrationTable table;
    table.method = json.at("method").get<std::string>();
    table.samples = json.at("samples").get<int64_t>();
    for (const auto& [name, entry] : json.at("tensors").items()) {
      TensorRange range{entry.at("rmin").get<float>(), entry.at("rmax").get<float>(), std::nullopt};
      if (entry.contains("pos")) range.pos = entry.at("pos").get<int>();
      table.ranges[name] = range;
      if (entry.contains("statistic")) table.statistics[name] = entry.at("statistic");
    }
    return table;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument("calibration table '" + origin + "' is malformed: " + e.what());
  }
}

Status SaveCalibrationTable(const CalibrationTable& table, const std::filesystem::path& path) {
  // nlohmann::json prints floats with the shortest representation that round-trips.
  return WriteFileAtomically(path, ToJson(table).dump(1) + "\n");
}

Result<CalibrationTable> LoadCalibrationTable(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot open calibration table '" + path.string() + "'");
  nlohmann::json json;
  try {
    in >> json;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument("calibration table '" + path.string() + "' is not valid JSON: " + e.what());
  }
  return CalibrationTableFromJson(json, path.string());
}

}  // namespace onnxq
