#include "calibration/json_numbers.h"

#include <cmath>
#include <limits>

namespace onnxq {

Result<int64_t> JsonInteger(const nlohmann::json& value, int64_t low, int64_t high, const std::string& what) {
  const auto out_of_range = [&] {
    return InvalidArgument(what + " is " + value.dump() + ": expected a whole number from " + std::to_string(low) +
                           " to " + std::to_string(high));
  };
  if (value.is_number_integer()) {
    // Unsigned values above int64's range fail the comparison through their own type.
    if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(high)) return out_of_range();
    const auto v = value.get<int64_t>();
    if (v < low || v > high) return out_of_range();
    return v;
  }
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (!(d >= static_cast<double>(low) && d <= static_cast<double>(high)) || d != std::floor(d)) return out_of_range();
    return static_cast<int64_t>(d);
  }
  return out_of_range();
}

Result<float> JsonFloat(const nlohmann::json& value, const std::string& what) {
  if (value.is_null()) return std::numeric_limits<float>::quiet_NaN();
  if (!value.is_number()) return InvalidArgument(what + " is " + value.dump() + ": expected a number");
  const double d = value.get<double>();
  if (!(std::fabs(d) <= static_cast<double>(std::numeric_limits<float>::max()))) {
    return InvalidArgument(what + " is " + value.dump() + ": beyond the range of float32");
  }
  return static_cast<float>(d);
}

Result<double> JsonFiniteNumber(const nlohmann::json& value, const std::string& what) {
  if (!value.is_number() || !std::isfinite(value.get<double>())) {
    return InvalidArgument(what + " is " + value.dump() + ": expected a finite number");
  }
  return value.get<double>();
}

Result<std::vector<float>> JsonFloats(const nlohmann::json& value, const std::string& what) {
  if (!value.is_array()) return InvalidArgument(what + " must be a list of numbers");
  std::vector<float> floats;
  floats.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    ONNXQ_ASSIGN_OR_RETURN(const float f, JsonFloat(value[i], what + "[" + std::to_string(i) + "]"));
    floats.push_back(f);
  }
  return floats;
}

}  // namespace onnxq
