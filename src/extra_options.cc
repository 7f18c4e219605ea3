#include "onnxq/extra_options.h"

#include "onnxq/presets.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <limits>
#include <utility>

namespace onnxq {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Result<bool> ParseBool(const std::string& key, const std::string& value) {
  const std::string v = Lower(value);
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  return InvalidArgument("extra option " + key + "=" + value + ": expected True or False");
}

// A finite number ("nan" and "inf" are refused).
Result<double> ParseNumber(const std::string& key, const std::string& value) {
  try {
    size_t used = 0;
    const double d = std::stod(value, &used);
    if (used == value.size() && std::isfinite(d)) return d;
  } catch (const std::exception&) {
  }
  return InvalidArgument("extra option " + key + "=" + value + ": expected a number");
}

// A number that a float holds (finite, at most FLT_MAX in magnitude), for float options.
Result<float> ParseFloat(const std::string& key, const std::string& value) {
  ONNXQ_ASSIGN_OR_RETURN(const double d, ParseNumber(key, value));
  if (!(std::fabs(d) <= static_cast<double>(std::numeric_limits<float>::max()))) {
    return InvalidArgument("extra option " + key + "=" + value + ": expected a finite number a float32 holds");
  }
  return static_cast<float>(d);
}

// A whole number that fits T; its range is checked with the other options (ValidateOptions).
template <typename T>
Result<T> ParseWhole(const std::string& key, const std::string& value) {
  ONNXQ_ASSIGN_OR_RETURN(const double d, ParseNumber(key, value));
  // Doubles hold every whole number up to 2^53 exactly, which bounds int64 options well enough.
  constexpr double kExact = 9007199254740992.0;
  const double low = std::max<double>(static_cast<double>(std::numeric_limits<T>::min()), -kExact);
  const double high = std::min<double>(static_cast<double>(std::numeric_limits<T>::max()), kExact);
  if (!(d >= low && d <= high) || d != std::floor(d)) {
    return InvalidArgument("extra option " + key + "=" + value + ": expected a whole number from " +
                           std::to_string(static_cast<int64_t>(low)) + " to " +
                           std::to_string(static_cast<int64_t>(high)));
  }
  return static_cast<T>(d);
}

// `text` without brackets, parentheses and spaces: "[-1, 1]" -> "-1,1".
std::string WithoutBrackets(const std::string& text) {
  std::string kept;
  for (const char c : text) {
    if (c != '[' && c != ']' && c != '(' && c != ')' && c != ' ') kept += c;
  }
  return kept;
}

std::string Trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// "NAME:LOW,HIGH;NAME2:LOW,HIGH" (a range may be bracketed, "NAME:[LOW, HIGH]"). The name ends at the
// last colon, so names such as "input:0" work. Whether the model has the inputs is checked where the
// model is known.
Result<std::map<std::string, RandomValueRange>> ParseInputRanges(const std::string& key, const std::string& value) {
  std::map<std::string, RandomValueRange> ranges;
  const auto bad = [&](const std::string& entry, const std::string& why) {
    return InvalidArgument("extra option " + key + "=" + value + ": '" + entry + "' " + why);
  };
  size_t begin = 0;
  while (begin <= value.size()) {
    const size_t end = std::min(value.find(';', begin), value.size());
    const std::string entry = Trim(value.substr(begin, end - begin));
    begin = end + 1;
    if (entry.empty()) continue;
    const auto colon = entry.rfind(':');
    if (colon == std::string::npos || colon == 0) return bad(entry, "must look like NAME:LOW,HIGH");
    const std::string numbers = WithoutBrackets(entry.substr(colon + 1));
    const auto comma = numbers.find(',');
    if (comma == std::string::npos || numbers.find(',', comma + 1) != std::string::npos) {
      return bad(entry, "must look like NAME:LOW,HIGH");
    }
    ONNXQ_ASSIGN_OR_RETURN(const double low, ParseNumber(key, numbers.substr(0, comma)));
    ONNXQ_ASSIGN_OR_RETURN(const double high, ParseNumber(key, numbers.substr(comma + 1)));
    if (!std::isfinite(low) || !std::isfinite(high)) return bad(entry, "needs finite numbers");
    if (!(low <= high)) return bad(entry, "has LOW above HIGH");
    ranges[Trim(entry.substr(0, colon))] = {.low = low, .high = high};
  }
  if (ranges.empty()) return InvalidArgument("extra option " + key + "=" + value + ": expected NAME:LOW,HIGH");
  return ranges;
}

// "[low, high]" or "low,high" (one range for every input).
Result<std::pair<float, float>> ParseDataRange(const std::string& key, const std::string& value) {
  const std::string text = WithoutBrackets(value);
  const auto comma = text.find(',');
  if (comma == std::string::npos)
    return InvalidArgument("extra option " + key + "=" + value + ": expected [low, high]");
  ONNXQ_ASSIGN_OR_RETURN(const float low, ParseFloat(key, text.substr(0, comma)));
  ONNXQ_ASSIGN_OR_RETURN(const float high, ParseFloat(key, text.substr(comma + 1)));
  return std::pair{low, high};
}

Result<MinMseMode> ParseMinMseMode(const std::string& key, const std::string& value) {
  const std::string m = Lower(value);
  if (m == "all") return MinMseMode::kAll;
  if (m == "mostcommon") return MinMseMode::kMostCommon;
  return InvalidArgument("extra option " + key + "=" + value + ": expected All or MostCommon");
}

Result<WeightCalibrationMethod> ParseWeightCalibrationMethod(const std::string& key, const std::string& value) {
  std::string m = Lower(value);
  for (const char* prefix : {"calibrationmethod.", "extendedcalibrationmethod.", "poweroftwomethod."}) {
    if (m.starts_with(prefix)) m = m.substr(std::string(prefix).size());
  }
  if (m == "minmax" || m == "none") return WeightCalibrationMethod::kMinMax;
  if (m == "minmse") return WeightCalibrationMethod::kMinMSE;
  return InvalidArgument("extra option " + key + "=" + value + ": expected MinMax or MinMSE");
}

Result<UnsignedSymmetricZeroPoint> ParseUnsignedSymmetricZeroPoint(const std::string& key, const std::string& value) {
  if (value == "127") return UnsignedSymmetricZeroPoint::kOnnxRuntime;
  if (value == "128") return UnsignedSymmetricZeroPoint::kNpu;
  return InvalidArgument("extra option " + key + "=" + value + ": expected 127 (ONNX Runtime) or 128 (NPU)");
}

Result<QdqPlacement> ParseQdqPlacement(const std::string& key, const std::string& value) {
  const std::string m = Lower(value);
  if (m == "runtimefused") return QdqPlacement::kRuntimeFused;
  if (m == "allquantizable") return QdqPlacement::kAllQuantizable;
  return InvalidArgument("extra option " + key + "=" + value + ": expected RuntimeFused or AllQuantizable");
}

// Sets one option from its KEY=VALUE text (the key as given, for errors); the value is checked on its
// own here, and with the other options by ValidateOptions.
using Setter = std::function<Status(const std::string& key, const std::string& value)>;
using Setters = std::map<std::string, Setter>;

// A setter that stores what `parse` makes of the value in `*target`.
template <typename Target, typename Parsed>
Setter Assign(Target* target, Result<Parsed> (*parse)(const std::string&, const std::string&)) {
  return [target, parse](const std::string& key, const std::string& value) {
    ONNXQ_ASSIGN_OR_RETURN(*target, parse(key, value));
    return Status::Ok();
  };
}

// QuantizeOptions' own fields: symmetry, bias, how weights are calibrated, the unsigned zero point,
// where Q/DQ go, the per-tensor overrides.
Setters QuantizationSetters(QuantizeOptions* options) {
  return {
      {"ActivationSymmetric", Assign(&options->activation_symmetric, ParseBool)},
      {"WeightSymmetric", Assign(&options->weight_symmetric, ParseBool)},
      {"QuantizeBias", Assign(&options->quantize_bias, ParseBool)},
      {"WeightCalibrateMethod", Assign(&options->weight_calibrate_method, ParseWeightCalibrationMethod)},
      {"UInt8SymmetricZeroPoint", Assign(&options->unsigned_symmetric_zero_point, ParseUnsignedSymmetricZeroPoint)},
      {"QdqPlacement", Assign(&options->placement, ParseQdqPlacement)},
      {"TensorQuantOverrides",
       [options](const std::string& /*key*/, const std::string& value) {
         ONNXQ_ASSIGN_OR_RETURN(options->tensor_overrides, ReadTensorQuantOverrides(value));
         return Status::Ok();
       }},
  };
}

// Graph passes and accuracy algorithms (PassOptions, CleOptions).
Setters PassSetters(PassOptions* passes) {
  return {
      {"ConvertBNToConv", Assign(&passes->convert_bn_to_conv, ParseBool)},
      {"FoldBatchNorm", Assign(&passes->fold_batch_norm, ParseBool)},
      {"ConvertReduceMeanToGlobalAvgPool", Assign(&passes->convert_reduce_mean_to_gap, ParseBool)},
      {"SplitLargeKernelPool", Assign(&passes->split_large_kernel_pool, ParseBool)},
      {"ConvertSplitToSlice", Assign(&passes->convert_split_to_slice, ParseBool)},
      {"ReplaceClip6Relu", Assign(&passes->replace_clip6_relu, ParseBool)},
      {"IncludeCLE", Assign(&passes->include_cle, ParseBool)},
      {"CLEScaleAppendBias", Assign(&passes->cle.scale_append_bias, ParseBool)},
      {"CLEScaleUseThreshold", Assign(&passes->cle.use_small_range_threshold, ParseBool)},
      {"HighBiasAbsorption", Assign(&passes->high_bias_absorption, ParseBool)},
      {"SimulateDPU", Assign(&passes->simulate_dpu, ParseBool)},
      {"ConvertLeakyReluToDPUVersion", Assign(&passes->dpu.leaky_relu, ParseBool)},
      {"ConvertAvgPoolToDPUVersion", Assign(&passes->dpu.avg_pool, ParseBool)},
      {"ConvertReduceMeanToDPUVersion", Assign(&passes->dpu.reduce_mean, ParseBool)},
      {"ConvertSigmoidToHardSigmoid", Assign(&passes->dpu.sigmoid, ParseBool)},
      {"ConvertHardSigmoidToDPUVersion", Assign(&passes->dpu.hard_sigmoid, ParseBool)},
      {"BiasCorrection", Assign(&passes->bias_correction, ParseBool)},
      {"MeanBiasCorrection", Assign(&passes->mean_bias_correction, ParseBool)},
      {"CLESteps", Assign(&passes->cle.steps, ParseWhole<int>)},
      {"CLETotalLayerDiffThreshold", Assign(&passes->cle.total_layer_diff_threshold, ParseNumber)},
      {"CLEWeightThreshold", Assign(&passes->cle.small_range_threshold, ParseFloat)},
  };
}

// How activations are calibrated (CalibrationOptions).
Setters CalibrationSetters(CalibrationOptions* cal) {
  return {
      {"CalibMovingAverage", Assign(&cal->moving_average, ParseBool)},
      {"CalibTensorRangeSymmetric", Assign(&cal->range_symmetric, ParseBool)},
      {"CalibMovingAverageConstant", Assign(&cal->moving_average_constant, ParseFloat)},
      {"Percentile", Assign(&cal->percentile, ParseNumber)},
      {"NumBins", Assign(&cal->num_bins, ParseWhole<int>)},
      {"NumQuantizedBins", Assign(&cal->num_quantized_bins, ParseWhole<int>)},
      {"CalibWorkerNum", Assign(&cal->threads, ParseWhole<int>)},
      {"CalibDataSize", Assign(&cal->max_samples, ParseWhole<int64_t>)},
      {"MinMSEMode", Assign(&cal->minmse_mode, ParseMinMseMode)},
  };
}

// The values the random data reader draws (RandomDataOptions).
Setters RandomDataSetters(RandomDataOptions* random_data) {
  return {
      {"RandomDataReaderInputDataRange",
       [random_data](const std::string& key, const std::string& value) {
         ONNXQ_ASSIGN_OR_RETURN(const auto range, ParseDataRange(key, value));
         random_data->low = range.first;
         random_data->high = range.second;
         return Status::Ok();
       }},
      {"RandomDataReaderInputRange",
       [random_data](const std::string& key, const std::string& value) {
         ONNXQ_ASSIGN_OR_RETURN(const auto ranges, ParseInputRanges(key, value));
         for (const auto& [name, range] : ranges) random_data->input_ranges[name] = range;
         return Status::Ok();
       }},
  };
}

// The check of the quantized model's outputs (OutputCheckOptions).
Setters OutputCheckSetters(OutputCheckOptions* output_check) {
  return {
      {"OutputCheckSamples", Assign(&output_check->samples, ParseWhole<int64_t>)},
      {"OutputCheckSqnrThreshold", Assign(&output_check->sqnr_threshold_db, ParseNumber)},
      {"RangeFallback", Assign(&output_check->range_fallback, ParseBool)},
      {"RangeFallbackSqnrThreshold", Assign(&output_check->range_fallback_sqnr_db, ParseNumber)},
  };
}

// The NPU modes' rules: bias type, MatMul selection, fused activations and the position refinement.
Setters NpuSetters(QuantizeOptions* options) {
  NpuLimitationOptions* limits = &options->npu_limitation;
  FusedActivationOptions* fused = &options->fused_activation;
  return {
      {"Int32Bias", Assign(&options->int32_bias, ParseBool)},
      {"MatMulConstBOnly", Assign(&options->matmul_const_b_only, ParseBool)},
      {"NPULimitationCheck", Assign(&limits->enabled, ParseBool)},
      {"IPULimitationCheck", Assign(&limits->enabled, ParseBool)},
      {"MaxLoopNum", Assign(&limits->max_loops, ParseWhole<int>)},
      {"AdjustShiftCut", Assign(&limits->shift_cut, ParseBool)},
      {"AdjustShiftBias", Assign(&limits->shift_bias, ParseBool)},
      {"AdjustShiftRead", Assign(&limits->shift_read, ParseBool)},
      {"AdjustShiftWrite", Assign(&limits->shift_write, ParseBool)},
      {"AdjustHardSigmoid", Assign(&limits->hard_sigmoid, ParseBool)},
      {"AdjustShiftSwish", Assign(&limits->shift_swish, ParseBool)},
      {"AlignConcat",
       [limits, options](const std::string& key, const std::string& value) {
         ONNXQ_ASSIGN_OR_RETURN(const bool align, ParseBool(key, value));
         limits->align_concat = align;
         options->align_concat_scales = align;
         return Status::Ok();
       }},
      {"AlignPool", Assign(&limits->align_pool, ParseBool)},
      {"AlignPad", Assign(&limits->align_pad, ParseBool)},
      {"AlignSlice", Assign(&limits->align_slice, ParseBool)},
      {"RemoveQDQConvRelu", Assign(&fused->relu, ParseBool)},
      {"RemoveQDQConvClip", Assign(&fused->clip, ParseBool)},
      {"RemoveQDQConvLeakyRelu", Assign(&fused->leaky_relu, ParseBool)},
      {"RemoveQDQConvPRelu", Assign(&fused->prelu, ParseBool)},
  };
}

// Every extra option, by key, setting its field of `*options`.
Setters OptionSetters(QuantizeOptions* options) {
  Setters setters = QuantizationSetters(options);
  setters.merge(NpuSetters(options));
  setters.merge(PassSetters(&options->passes));
  setters.merge(CalibrationSetters(&options->calibration));
  setters.merge(RandomDataSetters(&options->random_data));
  setters.merge(OutputCheckSetters(&options->output_check));
  return setters;
}

Status UnknownOption(const std::string& key, const Setters& setters) {
  std::string known;
  for (const auto& [name, setter] : setters) known += (known.empty() ? "" : ", ") + name;
  return InvalidArgument("unknown extra option '" + key + "'; known: " + known);
}

}  // namespace

Result<QuantType> ParseQuantType(const std::string& name) {
  std::string key = Lower(name);
  for (const char* prefix : {"quanttype.", "vitisquanttype.", "extendedquanttype."}) {
    if (key.starts_with(prefix)) key = key.substr(std::string(prefix).size());
  }
  if (key == "qint8" || key == "int8") return QuantType::kInt8;
  if (key == "quint8" || key == "uint8") return QuantType::kUInt8;
  if (key == "qint16" || key == "int16") return QuantType::kInt16;
  if (key == "quint16" || key == "uint16") return QuantType::kUInt16;
  if (key == "qint32" || key == "int32") return QuantType::kInt32;
  if (key == "quint32" || key == "uint32") return QuantType::kUInt32;
  if (key == "qfloat16" || key == "float16") return QuantType::kFloat16;
  if (key == "qbfloat16" || key == "bfloat16") return QuantType::kBFloat16;
  return InvalidArgument("unknown quantization type '" + name +
                         "'; expected QInt8, QUInt8, QInt16, QUInt16, QInt32, QUInt32, QFloat16 or QBFloat16");
}

std::string CalibrationMethodName(CalibrationMethod method) {
  switch (method) {
    case CalibrationMethod::kMinMax:
      return "MinMax";
    case CalibrationMethod::kPercentile:
      return "Percentile";
    case CalibrationMethod::kEntropy:
      return "Entropy";
    case CalibrationMethod::kNonOverflow:
      return "NonOverflow";
    case CalibrationMethod::kMinMSE:
      return "MinMSE";
  }
  return "?";
}

Result<CalibrationMethod> ParseCalibrationMethod(const std::string& name) {
  std::string key;
  for (const char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0)
      key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  // Accept "PowerOfTwoMethod.MinMSE", "CalibrationMethod.MinMax" and plain names.
  for (const char* prefix : {"poweroftwomethod", "calibrationmethod"}) {
    if (key.starts_with(prefix)) key = key.substr(std::string(prefix).size());
  }
  if (key == "minmax") return CalibrationMethod::kMinMax;
  if (key == "percentile") return CalibrationMethod::kPercentile;
  if (key == "entropy" || key == "kl") return CalibrationMethod::kEntropy;
  if (key == "nonoverflow") return CalibrationMethod::kNonOverflow;
  if (key == "minmse") return CalibrationMethod::kMinMSE;
  return InvalidArgument("unknown calibration method '" + name +
                         "'; expected MinMax, Percentile, Entropy, NonOverflow or MinMSE");
}

Result<QuantFormat> ParseQuantFormat(const std::string& name) {
  std::string key = Lower(name);
  for (const char* prefix : {"quantformat.", "vitisquantformat.", "extendedquantformat."}) {
    if (key.starts_with(prefix)) key = key.substr(std::string(prefix).size());
  }
  if (key == "qdq") return QuantFormat::kQDQ;
  if (key == "qoperator") return QuantFormat::kQOperator;
  return InvalidArgument("unknown quantization format '" + name + "'; expected QDQ or QOperator");
}

Status SetExtraOption(const std::string& key, const std::string& value, QuantizeOptions* options) {
  const Setters setters = OptionSetters(options);
  const std::string canonical = key == "MinMSEModePof2Scale" ? "MinMSEMode" : key;
  const auto it = setters.find(canonical);
  if (it == setters.end()) return UnknownOption(key, setters);
  return it->second(key, value);
}

namespace {

// quantize_static's arguments, by the names vai_q_onnx, Quark and ONNX Runtime give them.
Status SetArgument(const std::string& key, const std::string& value, QuantizeOptions* options, bool* known) {
  *known = true;
  const auto set_mode = [&](NpuMode mode) -> Status {
    ONNXQ_ASSIGN_OR_RETURN(const bool on, ParseBool(key, value));
    if (on) {
      options->npu_mode = mode;
    } else if (options->npu_mode == mode) {
      options->npu_mode = NpuMode::kNone;
    }
    return Status::Ok();
  };
  if (key == "quant_format") {
    ONNXQ_ASSIGN_OR_RETURN(options->quant_format, ParseQuantFormat(value));
  } else if (key == "calibrate_method") {
    ONNXQ_ASSIGN_OR_RETURN(options->calibration.method, ParseCalibrationMethod(value));
  } else if (key == "activation_type") {
    ONNXQ_ASSIGN_OR_RETURN(options->activation_type, ParseQuantType(value));
  } else if (key == "weight_type") {
    ONNXQ_ASSIGN_OR_RETURN(options->weight_type, ParseQuantType(value));
  } else if (key == "per_channel") {
    ONNXQ_ASSIGN_OR_RETURN(options->per_channel, ParseBool(key, value));
  } else if (key == "reduce_range") {
    ONNXQ_ASSIGN_OR_RETURN(options->reduce_range, ParseBool(key, value));
  } else if (key == "convert_nchw_to_nhwc") {
    ONNXQ_ASSIGN_OR_RETURN(options->passes.convert_nchw_to_nhwc, ParseBool(key, value));
  } else if (key == "include_cle") {
    ONNXQ_ASSIGN_OR_RETURN(options->passes.include_cle, ParseBool(key, value));
  } else if (IsNpuCnnKey(key)) {
    return set_mode(NpuMode::kCnn);
  } else if (IsNpuTransformerKey(key)) {
    return set_mode(NpuMode::kTransformer);
  } else {
    *known = false;
  }
  return Status::Ok();
}

}  // namespace

bool IsNpuCnnKey(const std::string& key) {
  return key == "enable_npu_cnn" || key == "enable_dpu" || key == "enable_ipu_cnn" || key == "use_dpu";
}

bool IsNpuTransformerKey(const std::string& key) {
  return key == "enable_npu_transformer" || key == "enable_ipu_transformer";
}

Status ApplySettings(std::span<const Setting> settings, QuantizeOptions* options) {
  for (const auto& [key, value] : settings) {
    bool known = false;
    ONNXQ_RETURN_IF_ERROR(SetArgument(key, value, options, &known));
    if (!known) ONNXQ_RETURN_IF_ERROR(SetExtraOption(key, value, options));
  }
  return Status::Ok();
}

Status ApplyExtraOptions(const std::map<std::string, std::string>& extra, QuantizeOptions* options) {
  // Applied to a copy, which replaces `options` only when every value parses and the whole is in range.
  QuantizeOptions copy = *options;
  for (const auto& [key, value] : extra) ONNXQ_RETURN_IF_ERROR(SetExtraOption(key, value, &copy));
  ONNXQ_RETURN_IF_ERROR(ValidateOptions(copy));
  *options = std::move(copy);
  return Status::Ok();
}

}  // namespace onnxq
