// The named configurations of AMD Quark's custom_config.py (its legacy quantize_static definitions)
// and the layering of options: onnxq/presets.h.
#include "onnxq/presets.h"

#include <algorithm>
#include <cctype>

#include "onnxq/extra_options.h"

namespace onnxq {
namespace {

constexpr const char* kExtendedQdq =
    "ExtendedQuantFormat.QDQ is written as standard QuantizeLinear / DequantizeLinear (16-bit types in the "
    "com.microsoft domain, which ONNX Runtime runs)";

std::vector<Preset> MakePresets() {
  return {
      {.name = "XINT8",
       .summary = "AMD NPU CNN: power-of-two MinMSE, QUInt8 symmetric activations (zero point 128), QInt8 weights",
       .settings = {{"calibrate_method", "PowerOfTwoMethod.MinMSE"},
                    {"activation_type", "QUInt8"},
                    {"weight_type", "QInt8"},
                    {"enable_npu_cnn", "True"},
                    {"ActivationSymmetric", "True"}}},
      {.name = "VINT8",
       .summary = "power-of-two MinMSE, QInt8 symmetric activations and weights, Clip(0, 6) as Relu, no NPU mode",
       .settings = {{"calibrate_method", "PowerOfTwoMethod.MinMSE"},
                    {"activation_type", "QInt8"},
                    {"weight_type", "QInt8"},
                    {"ActivationSymmetric", "True"},
                    {"ConvertBNToConv", "True"},
                    {"ConvertSigmoidToHardSigmoid", "False"},
                    {"ConvertSplitToSlice", "True"},
                    {"SplitLargeKernelPool", "False"},
                    {"ReplaceClip6Relu", "True"},
                    {"ConvertReduceMeanToGlobalAvgPool", "False"},
                    {"RemoveQDQConvClip", "False"},
                    {"RemoveQDQConvPRelu", "False"},
                    {"RemoveQDQConvRelu", "False"},
                    {"RemoveQDQConvLeakyRelu", "False"}},
       .differences = "optimize_model=False is not set: batch norms are folded (the same function, and none left "
                      "float between Q/DQ pairs); --extra-option FoldBatchNorm=False sets it; "
                      "UseRandomData=True is what onnxq does without calibration data; ConvertClipToRelu "
                      "(Clip with only a lower bound of 0 -> Relu) is not applied"},
      {.name = "A8W8",
       .summary = "MinMax, QInt8 symmetric activations, QInt8 weights",
       .settings = {{"calibrate_method", "MinMax"},
                    {"activation_type", "QInt8"},
                    {"weight_type", "QInt8"},
                    {"ActivationSymmetric", "True"},
                    {"AlignSlice", "False"},
                    {"AlignConcat", "True"}},
       .differences =
           std::string(
               "Quark's QConfig API defines A8W8 with Int8Spec, whose calibration is Percentile; this "
               "is the quantize_static definition (MinMax). FoldRelu: onnxq folds a Relu / Clip "
               "into its producer wherever that is exact. AlignConcat gives every Concat input its output's scale "
               "and zero point. ") +
           kExtendedQdq},
      {.name = "A16W8",
       .summary = "MinMax, QInt16 symmetric activations, QInt8 weights",
       .settings = {{"calibrate_method", "MinMax"},
                    {"activation_type", "QInt16"},
                    {"weight_type", "QInt8"},
                    {"ActivationSymmetric", "True"},
                    {"AlignSlice", "False"},
                    {"AlignConcat", "True"}},
       .differences = std::string("as A8W8; AlignEltwiseQuantType is not applied (every activation has the one "
                                  "activation type). ") +
                      kExtendedQdq},
      {.name = "U8S8_AAWS",
       .summary = "Percentile, QUInt8 asymmetric activations, QInt8 symmetric weights",
       .settings = {{"calibrate_method", "Percentile"},
                    {"quant_format", "QDQ"},
                    {"activation_type", "QUInt8"},
                    {"weight_type", "QInt8"}}},
      {.name = "S8S8_AAWS",
       .summary = "Percentile 99.9999, QInt8 asymmetric activations, QInt8 symmetric weights",
       .settings = {{"calibrate_method", "Percentile"},
                    {"quant_format", "QDQ"},
                    {"activation_type", "QInt8"},
                    {"weight_type", "QInt8"},
                    {"Percentile", "99.9999"}}},
      {.name = "U8U8_AAWA",
       .summary = "Percentile, QUInt8 asymmetric activations and weights",
       .settings = {{"calibrate_method", "Percentile"},
                    {"quant_format", "QDQ"},
                    {"activation_type", "QUInt8"},
                    {"weight_type", "QUInt8"},
                    {"ActivationSymmetric", "False"},
                    {"WeightSymmetric", "False"}}},
      {.name = "U16S8_AAWS",
       .summary = "Percentile, QUInt16 asymmetric activations, QInt8 symmetric weights",
       .settings = {{"calibrate_method", "Percentile"},
                    {"quant_format", "QDQ"},
                    {"activation_type", "QUInt16"},
                    {"weight_type", "QInt8"}},
       .differences = kExtendedQdq},
      {.name = "S16S8_ASWS",
       .summary = "Percentile, QInt16 symmetric activations, QInt8 symmetric weights",
       .settings = {{"calibrate_method", "Percentile"},
                    {"quant_format", "QDQ"},
                    {"activation_type", "QInt16"},
                    {"weight_type", "QInt8"},
                    {"ActivationSymmetric", "True"}},
       .differences = kExtendedQdq},
      {.name = "INT8_CNN_DEFAULT",
       .summary = "MinMax, QUInt8 activations, QInt8 weights (the CPU default)",
       .settings = {{"calibrate_method", "MinMax"},
                    {"quant_format", "QDQ"},
                    {"activation_type", "QUInt8"},
                    {"weight_type", "QInt8"}}},
      {.name = "INT16_CNN_DEFAULT",
       .summary = "MinMax, QUInt16 activations, QInt16 weights",
       .settings = {{"calibrate_method", "MinMax"},
                    {"quant_format", "QDQ"},
                    {"activation_type", "QUInt16"},
                    {"weight_type", "QInt16"}},
       .differences = kExtendedQdq},
      {.name = "INT8_TRANSFORMER_DEFAULT",
       .summary = "NPU transformer: MinMax with moving average, QUInt8 activations, QInt8 weights, MatMul with a "
                  "constant B only",
       .settings = {{"calibrate_method", "MinMax"},
                    {"quant_format", "QDQ"},
                    {"activation_type", "QUInt8"},
                    {"weight_type", "QInt8"},
                    {"enable_npu_transformer", "True"},
                    {"CalibMovingAverage", "True"}}},
      {.name = "INT16_TRANSFORMER_DEFAULT",
       .summary = "NPU transformer: MinMax with moving average, QUInt16 activations, QInt16 weights",
       .settings = {{"calibrate_method", "MinMax"},
                    {"quant_format", "QDQ"},
                    {"activation_type", "QUInt16"},
                    {"weight_type", "QInt16"},
                    {"enable_npu_transformer", "True"},
                    {"CalibMovingAverage", "True"}},
       .differences = kExtendedQdq},
  };
}

std::string Upper(std::string_view s) {
  std::string upper(s);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return upper;
}

// The NPU mode the settings leave on, starting from `mode`.
NpuMode ModeAfter(std::span<const Setting> settings, NpuMode mode) {
  QuantizeOptions probe;
  probe.npu_mode = mode;
  for (const auto& setting : settings) {
    if (IsNpuCnnKey(setting.key) || IsNpuTransformerKey(setting.key)) {
      // A bad value is reported when the settings are applied.
      (void)ApplySettings(std::span<const Setting>(&setting, 1), &probe);
    }
  }
  return probe.npu_mode;
}

}  // namespace

std::span<const Preset> Presets() {
  static const std::vector<Preset> presets = MakePresets();
  return presets;
}

const Preset* FindPreset(std::string_view name) {
  const std::string wanted = Upper(name);
  for (const Preset& preset : Presets()) {
    if (preset.name == wanted) return &preset;
  }
  return nullptr;
}

void ApplyNpuModeDefaults(NpuMode mode, QuantizeOptions* options) {
  if (mode == NpuMode::kNone) return;
  options->npu_mode = mode;
  options->placement = QdqPlacement::kAllQuantizable;
  PassOptions& passes = options->passes;
  passes.convert_bn_to_conv = true;
  passes.convert_reduce_mean_to_gap = true;
  passes.split_large_kernel_pool = true;
  passes.convert_split_to_slice = true;
  if (mode == NpuMode::kCnn) {
    options->calibration.method = CalibrationMethod::kMinMSE;
    options->activation_type = QuantType::kUInt8;
    options->weight_type = QuantType::kInt8;
    options->activation_symmetric = true;
    options->weight_symmetric = true;
    options->unsigned_symmetric_zero_point = UnsignedSymmetricZeroPoint::kNpu;
    options->int32_bias = false;
    passes.simulate_dpu = true;
  } else {
    options->calibration.method = CalibrationMethod::kMinMax;
    options->activation_type = QuantType::kInt8;
    options->weight_type = QuantType::kInt8;
    options->activation_symmetric = false;
    options->int32_bias = true;
    options->matmul_const_b_only = true;
  }
}

Result<QuantizeOptions> ResolveOptions(std::string_view preset_name, std::span<const Setting> explicit_settings,
                                       const QuantizeOptions& base) {
  const Preset* preset = nullptr;
  if (!preset_name.empty()) {
    preset = FindPreset(preset_name);
    if (preset == nullptr) {
      std::string names;
      for (const Preset& p : Presets()) names += (names.empty() ? "" : ", ") + p.name;
      return InvalidArgument("unknown configuration '" + std::string(preset_name) + "'; known: " + names +
                             " (--config list prints them)");
    }
  }
  const std::span<const Setting> preset_settings =
      preset == nullptr ? std::span<const Setting>() : std::span<const Setting>(preset->settings);
  const NpuMode mode = ModeAfter(explicit_settings, ModeAfter(preset_settings, base.npu_mode));
  QuantizeOptions options = base;
  ApplyNpuModeDefaults(mode, &options);
  ONNXQ_RETURN_IF_ERROR(ApplySettings(preset_settings, &options));
  ONNXQ_RETURN_IF_ERROR(ApplySettings(explicit_settings, &options));
  ONNXQ_RETURN_IF_ERROR(ValidateOptions(options));
  return options;
}

}  // namespace onnxq
