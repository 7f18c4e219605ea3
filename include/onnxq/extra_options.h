// vai_q_onnx / Quark / ONNX Runtime `extra_options` (string keys) parsed once, at the edge, into the
// typed QuantizeOptions. Unknown keys and bad values are errors that name the key.
#pragma once

#include <map>
#include <string>

#include "onnxq/options.h"
#include "onnxq/status.h"

namespace onnxq {

// Values are strings as a command line gives them ("True", "0.01", "MinMax", "[1,3,224,224]"). The
// options change only when every value parses and the result passes ValidateOptions.
Status ApplyExtraOptions(const std::map<std::string, std::string>& extra, QuantizeOptions* options);

Result<QuantType> ParseQuantType(const std::string& name);
Result<QuantFormat> ParseQuantFormat(const std::string& name);

}  // namespace onnxq
