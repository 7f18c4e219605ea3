#include "calibration/calibration_table.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "algorithms/qparams.h"
#include "calibration/calibrator.h"
#include "calibration/json_numbers.h"
#include "io/file_safety.h"
#include "onnxq/extra_options.h"
#include "onnxq/model_io.h"

namespace onnxq {
namespace {

constexpr const char* kFormat = "onnxq-calibration-table";
constexpr int kVersion = 1;
// Power-of-two positions a table may hold (scale 2^-pos): float32 scales span 2^-149 to 2^127.
constexpr int64_t kMinTablePos = -127;
constexpr int64_t kMaxTablePos = 149;

nlohmann::json RangeToJson(const TensorRange& range) {
  nlohmann::json entry{{"rmin", range.rmin}, {"rmax", range.rmax}};
  if (range.pos) entry["pos"] = *range.pos;
  return entry;
}

}  // namespace

nlohmann::json ToJson(const CalibrationSettings& settings) {
  const CalibrationOptions& c = settings.calibration;
  nlohmann::json json{{"method", CalibrationMethodName(c.method)},
                      {"range_symmetric", c.range_symmetric.value_or(DefaultRangeSymmetric(c.method))},
                      {"moving_average", c.moving_average},
                      {"moving_average_constant", c.moving_average_constant},
                      {"percentile", c.percentile},
                      {"num_bins", NumBins(c)},
                      {"num_quantized_bins", c.num_quantized_bins},
                      {"minmse_mode", c.minmse_mode == MinMseMode::kAll ? "All" : "MostCommon"},
                      {"activation_type", std::string(QuantTypeName(settings.activation_type))},
                      {"activation_symmetric", settings.activation_symmetric},
                      {"unsigned_symmetric_zero_point",
                       settings.unsigned_symmetric_zero_point == UnsignedSymmetricZeroPoint::kNpu ? 128 : 127}};
  return json;
}

Result<CalibrationSettings> CalibrationSettingsFromJson(const nlohmann::json& json, const std::string& origin) {
  try {
    CalibrationSettings s;
    CalibrationOptions& c = s.calibration;
    ONNXQ_ASSIGN_OR_RETURN(c.method, ParseCalibrationMethod(json.at("method").get<std::string>()));
    c.range_symmetric = json.at("range_symmetric").get<bool>();
    c.moving_average = json.at("moving_average").get<bool>();
    const std::string at = "calibration table '" + origin + "': settings.";
    ONNXQ_ASSIGN_OR_RETURN(c.moving_average_constant,
                           JsonFloat(json.at("moving_average_constant"), at + "moving_average_constant"));
    ONNXQ_ASSIGN_OR_RETURN(c.percentile, JsonFiniteNumber(json.at("percentile"), at + "percentile"));
    ONNXQ_ASSIGN_OR_RETURN(c.num_bins,
                           JsonInteger(json.at("num_bins"), kMinHistogramBins, kMaxHistogramBins, at + "num_bins"));
    ONNXQ_ASSIGN_OR_RETURN(c.num_quantized_bins, JsonInteger(json.at("num_quantized_bins"), kMinHistogramBins,
                                                             kMaxHistogramBins, at + "num_quantized_bins"));
    const auto mode = json.at("minmse_mode").get<std::string>();
    if (mode != "All" && mode != "MostCommon") {
      return InvalidArgument("calibration table '" + origin + "': unknown minmse_mode '" + mode + "'");
    }
    c.minmse_mode = mode == "All" ? MinMseMode::kAll : MinMseMode::kMostCommon;
    ONNXQ_ASSIGN_OR_RETURN(s.activation_type, ParseQuantType(json.at("activation_type").get<std::string>()));
    s.activation_symmetric = json.at("activation_symmetric").get<bool>();
    ONNXQ_ASSIGN_OR_RETURN(const int64_t zp, JsonInteger(json.at("unsigned_symmetric_zero_point"), 0, 255,
                                                         at + "unsigned_symmetric_zero_point"));
    if (zp != 127 && zp != 128) {
      return InvalidArgument("calibration table '" + origin + "': unsigned_symmetric_zero_point must be 127 or 128");
    }
    s.unsigned_symmetric_zero_point =
        zp == 128 ? UnsignedSymmetricZeroPoint::kNpu : UnsignedSymmetricZeroPoint::kOnnxRuntime;
    if (Status valid = ValidateCalibrationOptions(c); !valid.ok()) {
      return InvalidArgument("calibration table '" + origin + "' has settings out of range: " + valid.message());
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument("calibration table '" + origin + "' has malformed settings: " + e.what());
  }
}

nlohmann::json ToJson(const CalibrationTable& table) {
  nlohmann::json json;
  json["format"] = kFormat;
  json["version"] = kVersion;
  json["settings"] = ToJson(table.settings);
  json["samples"] = table.samples;
  json["non_float"] = table.non_float;
  json["model_inputs"] = table.model_inputs;
  if (!table.model_fingerprint.empty()) json["model_fingerprint"] = table.model_fingerprint;
  if (!table.channel_means.empty()) json["channel_means"] = table.channel_means;
  auto& tensors = json["tensors"];
  tensors = nlohmann::json::object();
  for (const auto& [name, range] : table.ranges) {
    nlohmann::json entry = RangeToJson(range);
    if (const auto it = table.statistics.find(name); it != table.statistics.end()) {
      entry["statistic"] = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
    }
    tensors[name] = std::move(entry);
  }
  return json;
}

Result<CalibrationTable> CalibrationTableFromJson(const nlohmann::json& json, const std::string& origin) {
  try {
    if (!json.is_object() || json.value("format", "") != kFormat) {
      return InvalidArgument("'" + origin + "' is not an onnxq calibration table (missing format field)");
    }
    if (json.at("version") != kVersion) {
      return InvalidArgument("calibration table '" + origin + "' has version " + json.at("version").dump() +
                             "; this onnxq reads version " + std::to_string(kVersion));
    }
    CalibrationTable table;
    ONNXQ_ASSIGN_OR_RETURN(table.settings, CalibrationSettingsFromJson(json.at("settings"), origin));
    const std::string at = "calibration table '" + origin + "': ";
    ONNXQ_ASSIGN_OR_RETURN(table.samples,
                           JsonInteger(json.at("samples"), 0, std::numeric_limits<int64_t>::max(), at + "samples"));
    if (json.contains("non_float")) table.non_float = json.at("non_float").get<std::set<std::string>>();
    if (json.contains("model_inputs")) table.model_inputs = json.at("model_inputs").get<std::set<std::string>>();
    if (json.contains("model_fingerprint")) table.model_fingerprint = json.at("model_fingerprint").get<std::string>();
    if (json.contains("channel_means")) {
      for (const auto& [name, values] : json.at("channel_means").items()) {
        ONNXQ_ASSIGN_OR_RETURN(auto means, JsonFloats(values, at + "channel_means of '" + name + "'"));
        if (means.empty() || !std::all_of(means.begin(), means.end(), [](float m) { return std::isfinite(m); })) {
          return InvalidArgument("calibration table '" + origin + "': channel_means of '" + name +
                                 "' must be a non-empty list of finite numbers");
        }
        table.channel_means[name] = std::move(means);
      }
    }
    for (const auto& [name, entry] : json.at("tensors").items()) {
      const std::string tensor = at + "tensor '" + name + "' ";
      TensorRange range;
      ONNXQ_ASSIGN_OR_RETURN(range.rmin, JsonFloat(entry.at("rmin"), tensor + "rmin"));
      ONNXQ_ASSIGN_OR_RETURN(range.rmax, JsonFloat(entry.at("rmax"), tensor + "rmax"));
      // A non-finite range (null) is kept as such: the tensor then stays float, with a note.
      if (range.rmin > range.rmax) {
        return InvalidArgument(tensor + "has rmin " + entry.at("rmin").dump() + " above rmax " +
                               entry.at("rmax").dump() + ": recalibrate, or correct the table");
      }
      if (entry.contains("pos")) {
        ONNXQ_ASSIGN_OR_RETURN(range.pos, JsonInteger(entry.at("pos"), kMinTablePos, kMaxTablePos, tensor + "pos"));
      }
      table.ranges[name] = range;
      if (entry.contains("statistic")) table.statistics[name] = entry.at("statistic").dump();
    }
    if (table.ranges.empty()) return InvalidArgument(at + "holds no tensors: recalibrate");
    return table;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument("calibration table '" + origin + "' is malformed: " + e.what());
  }
}

Status SaveCalibrationTable(const CalibrationTable& table, const std::filesystem::path& path,
                            std::span<const InputFile> inputs) {
  // One line per tensor keeps large histograms readable and diffs small. nlohmann::json prints
  // numbers with the shortest text that reads back to the same double, and every float is exactly a
  // double, so rmin / rmax / min / max round-trip bit for bit.
  std::ostringstream out;
  out << "{\n";
  out << " \"format\": " << nlohmann::json(kFormat).dump() << ",\n";
  out << " \"version\": " << kVersion << ",\n";
  out << " \"settings\": " << ToJson(table.settings).dump() << ",\n";
  out << " \"samples\": " << table.samples << ",\n";
  out << " \"non_float\": " << nlohmann::json(table.non_float).dump() << ",\n";
  out << " \"model_inputs\": " << nlohmann::json(table.model_inputs).dump() << ",\n";
  if (!table.model_fingerprint.empty()) {
    out << " \"model_fingerprint\": " << nlohmann::json(table.model_fingerprint).dump() << ",\n";
  }
  if (!table.channel_means.empty()) {
    out << " \"channel_means\": {";
    bool first_mean = true;
    for (const auto& [name, means] : table.channel_means) {
      out << (first_mean ? "\n  " : ",\n  ") << nlohmann::json(name).dump() << ": " << nlohmann::json(means).dump();
      first_mean = false;
    }
    out << "\n },\n";
  }
  out << " \"tensors\": {";
  bool first = true;
  for (const auto& [name, range] : table.ranges) {
    nlohmann::json entry = RangeToJson(range);
    if (const auto it = table.statistics.find(name); it != table.statistics.end()) {
      ONNXQ_ASSIGN_OR_RETURN(entry["statistic"], ParseStatistic(it->second, name));
    }
    out << (first ? "\n  " : ",\n  ") << nlohmann::json(name).dump() << ": " << entry.dump();
    first = false;
  }
  out << (first ? "}\n" : "\n }\n") << "}\n";
  return WriteFileAtomically(path, out.str(), inputs);
}

Result<nlohmann::json> ParseStatistic(const std::string& text, const std::string& tensor) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return InvalidArgument("the statistic of tensor '" + tensor + "' is not valid JSON");
  return json;
}

Result<CalibrationTable> LoadCalibrationTable(const std::filesystem::path& path) {
  ONNXQ_ASSIGN_OR_RETURN(const std::string text, ReadWholeFile(path, "calibration table"));
  return ParseCalibrationTable(text, path.string());
}

Result<CalibrationTable> ParseCalibrationTable(std::string_view text, const std::string& origin) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument("calibration table '" + origin + "' is not valid JSON: " + e.what());
  }
  return CalibrationTableFromJson(json, origin);
}

}  // namespace onnxq
