#include "calibration/json_numbers.h"

#include <cmath>
#include <string>
#include <utility>

namespace onnxq {

int64_t JsonInteger(const nlohmann::json& value, int64_t min, int64_t max) {
  if (!value.is_number_integer()) {
    throw nlohmann::json::type_error::create(302, "expected a whole number, found " + value.dump(), &value);
  }
  const bool fits = value.is_number_unsigned() ? std::cmp_less_equal(value.get<uint64_t>(), max)
                                               : value.get<int64_t>() >= min && value.get<int64_t>() <= max;
  if (!fits) {
    throw nlohmann::json::out_of_range::create(
        406, value.dump() + " is outside [" + std::to_string(min) + ", " + std::to_string(max) + "]", &value);
  }
  return value.get<int64_t>();
}

int JsonInt(const nlohmann::json& value) {
  return static_cast<int>(JsonInteger(value, std::numeric_limits<int>::min(), std::numeric_limits<int>::max()));
}

float JsonFloat(const nlohmann::json& value) {
  if (!value.is_number())
    throw nlohmann::json::type_error::create(302, "expected a number, found " + value.dump(), &value);
  const double number = value.get<double>();
  if (!(std::fabs(number) <= static_cast<double>(std::numeric_limits<float>::max()))) {
    throw nlohmann::json::out_of_range::create(406, value.dump() + " is outside the range of float", &value);
  }
  return static_cast<float>(number);
}

}  // namespace onnxq
