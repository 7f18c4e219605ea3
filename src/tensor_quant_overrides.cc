// TensorQuantOverrides: ONNX Runtime's JSON file of per-tensor quantization overrides, read into
// QuantizeOptions::tensor_overrides. Every value is checked for its kind and range before it is
// converted; every error is one line naming the file and, past the top level, the tensor.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "onnxq/extra_options.h"

namespace onnxq {
namespace {

// A file of overrides names tensors by the thousand at most; this bounds what is read, not its use.
constexpr std::uintmax_t kMaxOverridesFileBytes = std::uintmax_t{64} << 20;

constexpr const char* kKeys = "quant_type, symmetric, scale, zero_point, rmin, rmax";

// The error "TensorQuantOverrides PATH[: tensor 'NAME']: WHY".
Status OverridesError(const std::string& path, const std::string& tensor, const std::string& why) {
  return InvalidArgument("TensorQuantOverrides " + path + (tensor.empty() ? "" : ": tensor '" + tensor + "'") + ": " +
                         why);
}

// A finite number a float32 holds.
bool IsFloat(const nlohmann::json& value) {
  if (!value.is_number()) return false;
  const auto d = value.get<double>();
  return std::isfinite(d) && std::fabs(d) <= static_cast<double>(std::numeric_limits<float>::max());
}

// A whole number that an int32 holds (written as an integer, or as a float with no fraction).
bool IsInt32(const nlohmann::json& value) {
  if (!value.is_number()) return false;
  const auto d = value.get<double>();
  return d == std::floor(d) && d >= static_cast<double>(std::numeric_limits<int32_t>::min()) &&
         d <= static_cast<double>(std::numeric_limits<int32_t>::max());
}

// The quantized types a tensor can be overridden to: the integer types of activations and weights.
bool IsOverrideType(QuantType type) {
  return type == QuantType::kInt8 || type == QuantType::kUInt8 || type == QuantType::kInt16 ||
         type == QuantType::kUInt16;
}

// One tensor's dict ({"quant_type": "QInt8", "scale": 0.5, ...}); errors are the reason alone.
Result<TensorOverride> ParseOverride(const nlohmann::json& dict) {
  if (!dict.is_object()) return InvalidArgument("expected an object of " + std::string(kKeys));
  TensorOverride entry;
  for (const auto& item : dict.items()) {
    const std::string& key = item.key();
    const nlohmann::json& value = item.value();
    const auto bad = [&key](const std::string& expected) {
      return InvalidArgument("\"" + key + "\" must be " + expected);
    };
    if (key == "quant_type") {
      if (!value.is_string()) return bad("a type name such as \"QInt8\"");
      ONNXQ_ASSIGN_OR_RETURN(const QuantType type, ParseQuantType(value.get<std::string>()));
      if (!IsOverrideType(type)) return bad("QInt8, QUInt8, QInt16 or QUInt16");
      entry.type = type;
    } else if (key == "symmetric") {
      if (!value.is_boolean()) return bad("true or false");
      entry.symmetric = value.get<bool>();
    } else if (key == "scale") {
      if (!IsFloat(value) || !(value.get<double>() > 0.0)) return bad("a finite number above 0");
      entry.scale = value.get<float>();
      if (!(*entry.scale > 0.0F)) return bad("a finite number above 0 (as a float32)");
    } else if (key == "zero_point") {
      if (!IsInt32(value)) return bad("a whole number");
      entry.zero_point = static_cast<int32_t>(value.get<double>());
    } else if (key == "rmin" || key == "rmax") {
      if (!IsFloat(value)) return bad("a finite number");
      (key == "rmin" ? entry.rmin : entry.rmax) = value.get<float>();
    } else {
      return InvalidArgument("unknown key \"" + key + "\"; known: " + kKeys);
    }
  }
  if (auto problem = TensorOverrideProblem(entry)) return InvalidArgument(*problem);
  return entry;
}

}  // namespace

Result<std::map<std::string, TensorOverride>> ReadTensorQuantOverrides(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) return OverridesError(path, "", "not a file");
  const std::uintmax_t bytes = std::filesystem::file_size(path, error);
  if (error || bytes > kMaxOverridesFileBytes) {
    return OverridesError(path, "", error ? "cannot read its size" : "larger than 64 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return OverridesError(path, "", "cannot be read");
  const nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return OverridesError(path, "", "not valid JSON");
  if (!json.is_object()) {
    return OverridesError(path, "", R"(expected an object {"tensor": [{"scale": ..., ...}], ...})");
  }
  std::map<std::string, TensorOverride> overrides;
  for (const auto& [tensor, list] : json.items()) {
    if (!list.is_array() || list.empty()) {
      return OverridesError(path, tensor, "expected a list of one object, [{\"scale\": ..., ...}]");
    }
    if (list.size() > 1) {
      return OverridesError(
          path, tensor,
          std::to_string(list.size()) + " objects (one per channel) are not supported: give one object for the tensor");
    }
    auto entry = ParseOverride(list[0]);
    if (!entry.ok()) return OverridesError(path, tensor, entry.status().message());
    overrides[tensor] = std::move(entry).value();
  }
  return overrides;
}

}  // namespace onnxq
