// Numbers of a calibration table file, read strictly. A table is a user's file, and nlohmann's get<>()
// trusts it: get<int>() of 1e300 is a cast with an undefined result, of 2.5 a silent truncation, of
// 10000000000 a wrap, and get<float>() of 1e300 is infinite. These throw nlohmann::json::type_error (not
// a whole number / not a number) or out_of_range (does not fit) instead, which the readers of the table
// turn into a malformed-table error, as for any other bad field.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>

namespace onnxq {

// A whole number, written without fraction or exponent, within [min, max].
int64_t JsonInteger(const nlohmann::json& value, int64_t min = std::numeric_limits<int64_t>::min(),
                    int64_t max = std::numeric_limits<int64_t>::max());

// JsonInteger within the range of int.
int JsonInt(const nlohmann::json& value);

// A number that a float holds as a finite value.
float JsonFloat(const nlohmann::json& value);

}  // namespace onnxq
