// Numbers read from JSON that a user may have written or edited (calibration tables). Each read
// checks the value's kind and range before converting it: nlohmann's get<float>() of 1e300 or
// get<int>() of 1e10 is an unchecked conversion, undefined behaviour. Errors name `what`.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "onnxq/status.h"

namespace onnxq {

// A whole number in [low, high] (written as an integer, or as a float with no fraction).
Result<int64_t> JsonInteger(const nlohmann::json& value, int64_t low, int64_t high, const std::string& what);

// A float32 value: a number within float range, or null, which the table writer puts for inf and NaN
// (read back as NaN: a non-finite range).
Result<float> JsonFloat(const nlohmann::json& value, const std::string& what);

// A finite double.
Result<double> JsonFiniteNumber(const nlohmann::json& value, const std::string& what);

// A list of JsonFloat values.
Result<std::vector<float>> JsonFloats(const nlohmann::json& value, const std::string& what);

}  // namespace onnxq
