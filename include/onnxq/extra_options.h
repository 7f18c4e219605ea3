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

// One KEY=VALUE, checked on its own but not with the other options: for a caller that sets several
// layers of options and validates the result once (ResolveOptions, onnxq/presets.h).
Status SetExtraOption(const std::string& key, const std::string& value, QuantizeOptions* options);

// enable_npu_cnn and its aliases (enable_dpu, enable_ipu_cnn, use_dpu); enable_npu_transformer and
// enable_ipu_transformer.
bool IsNpuCnnKey(const std::string& key);
bool IsNpuTransformerKey(const std::string& key);

Result<QuantType> ParseQuantType(const std::string& name);
Result<QuantFormat> ParseQuantFormat(const std::string& name);
// "MinMax", "PowerOfTwoMethod.MinMSE", "CalibrationMethod.Percentile" ... (case and punctuation ignored).
Result<CalibrationMethod> ParseCalibrationMethod(const std::string& name);
std::string CalibrationMethodName(CalibrationMethod method);

// TensorQuantOverrides=PATH: ONNX Runtime's JSON file of per-tensor overrides, by tensor name:
//   {"conv1_out": [{"quant_type": "QUInt16", "rmin": 0.0, "rmax": 6.0}],
//    "fc.weight": [{"scale": 0.01, "zero_point": 0}]}
// Each tensor takes a list of one object with the keys quant_type (QInt8, QUInt8, QInt16, QUInt16),
// symmetric, scale and zero_point (together), rmin and rmax (rmin <= rmax). A list of one object per
// channel, or any other key ("axis", "reduce_range", "convert"), is an error naming the file and the
// tensor.
Result<std::map<std::string, TensorOverride>> ReadTensorQuantOverrides(const std::string& path);

}  // namespace onnxq
