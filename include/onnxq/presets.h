// Named configurations (--config NAME, Quark's custom_config.py) and the settings they are made of.
//
// A setting is a KEY=VALUE as users already write it: the arguments of quantize_static in snake_case
// (calibrate_method, activation_type, weight_type, quant_format, per_channel, reduce_range,
// enable_npu_cnn and its aliases enable_dpu / enable_ipu_cnn, enable_npu_transformer /
// enable_ipu_transformer, include_cle, convert_nchw_to_nhwc) or an extra option in CamelCase (ActivationSymmetric,
// ...). Every front end resolves options in the same order:
//
//   defaults -> the NPU mode's defaults -> the preset's settings -> the explicit settings -> ValidateOptions
//
// The mode is the last one that the preset or the explicit settings name, so an explicit option
// always wins and a mode's rules are checked on the result.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "onnxq/options.h"
#include "onnxq/status.h"

namespace onnxq {

struct Setting {
  std::string key;
  std::string value;
};

struct Preset {
  std::string name;
  std::string summary;
  std::vector<Setting> settings;
  // What of the vendor's definition onnxq does not apply, and why ("" when it applies all of it).
  std::string differences;
};

// Every preset, in the order `--config list` prints them.
std::span<const Preset> Presets();

// The preset called `name` (case ignored), nullptr if none.
const Preset* FindPreset(std::string_view name);

// Sets each setting in order, without checking the result against the other options.
Status ApplySettings(std::span<const Setting> settings, QuantizeOptions* options);

// The defaults a mode brings (NPU-CNN: power-of-two MinMSE, symmetric activations with the NPU's uint8
// zero point 128, int8 power-of-two biases, SimulateDPU and the graph forms the NPU compiler expects,
// every quantizable op quantized; NPU-transformer: MinMax, int8 activations, MatMul with a constant B
// only, int32 biases).
void ApplyNpuModeDefaults(NpuMode mode, QuantizeOptions* options);

// Options from `base`, the preset (empty: none) and the explicit settings, in the order above.
Result<QuantizeOptions> ResolveOptions(std::string_view preset, std::span<const Setting> explicit_settings,
                                       const QuantizeOptions& base = {});

}  // namespace onnxq
