#include "onnxq/extra_options.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <limits>

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
                           std::to_string(static_cast<int64_t>(low)) + " to " + std::to_string(static_cast<int64_t>(high)));
  }
  return static_cast<T>(d);
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
    std::string numbers;
    for (const char c : entry.substr(colon + 1)) {
      if (c != '[' && c != ']' && c != '(' && c != ')' && c != ' ') numbers += c;
    }
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

Result<QuantFormat> ParseQuantFormat(const std::string& name) {
  std::string key = Lower(name);
  for (const char* prefix : {"quantformat.", "vitisquantformat.", "extendedquantformat."}) {
    if (key.starts_with(prefix)) key = key.substr(std::string(prefix).size());
  }
  if (key == "qdq") return QuantFormat::kQDQ;
  if (key == "qoperator") return QuantFormat::kQOperator;
  return InvalidArgument("unknown quantization format '" + name + "'; expected QDQ or QOperator");
}

Status ApplyExtraOptions(const std::map<std::string, std::string>& extra, QuantizeOptions* result) {
  // Applied to a copy, which replaces `result` only when every value parses and the whole is in range.
  QuantizeOptions copy = *result;
  QuantizeOptions* options = &copy;
  using Setter = std::function<Status(const std::string&, const std::string&)>;
  auto flag = [](bool* target) -> Setter {
    return [target](const std::string& k, const std::string& v) {
      ONNXQ_ASSIGN_OR_RETURN(*target, ParseBool(k, v));
      return Status::Ok();
    };
  };
  CalibrationOptions& cal = options->calibration;
  const std::map<std::string, Setter> setters = {
      {"ActivationSymmetric", flag(&options->activation_symmetric)},
      {"WeightSymmetric", flag(&options->weight_symmetric)},
      {"QuantizeBias", flag(&options->quantize_bias)},
      // Graph passes and accuracy algorithms (PassOptions).
      {"ConvertBNToConv", flag(&options->passes.convert_bn_to_conv)},
      {"ReplaceClip6Relu", flag(&options->passes.replace_clip6_relu)},
      {"IncludeCLE", flag(&options->passes.include_cle)},
      {"CLEScaleAppendBias", flag(&options->passes.cle.scale_append_bias)},
      {"CLEScaleUseThreshold", flag(&options->passes.cle.use_small_range_threshold)},
      {"HighBiasAbsorption", flag(&options->passes.high_bias_absorption)},
      {"BiasCorrection", flag(&options->passes.bias_correction)},
      {"MeanBiasCorrection", flag(&options->passes.mean_bias_correction)},
      {"CLESteps",
       [options](const std::string& k, const std::string& v) {
         ONNXQ_ASSIGN_OR_RETURN(options->passes.cle.steps, ParseWhole<int>(k, v));
         return Status::Ok();
       }},
      {"CLETotalLayerDiffThreshold",
       [options](const std::string& k, const std::string& v) {
         ONNXQ_ASSIGN_OR_RETURN(options->passes.cle.total_layer_diff_threshold, ParseNumber(k, v));
         return Status::Ok();
       }},
      {"CLEWeightThreshold",
       [options](const std::string& k, const std::string& v) {
         ONNXQ_ASSIGN_OR_RETURN(options->passes.cle.small_range_threshold, ParseFloat(k, v));
         return Status::Ok();
       }},
      {"CalibMovingAverage", flag(&cal.moving_average)},
      {"CalibTensorRangeSymmetric",
       [&cal](const std::string& k, const std::string& v) {
         ONNXQ_ASSIGN_OR_RETURN(const bool b, ParseBool(k, v));
         cal.range_symmetric = b;
         return Status::Ok();
       }},
      {"CalibMovingAverageConstant",
       [&cal](const std::string& k, const std::string& v) {
         ONNXQ_ASSIGN_OR_RETURN(cal.moving_average_constant, ParseFloat(k, v));
         return Status::Ok();
       }},
      {"Percentile",
       [&cal](const std::string& k, const std::string& v) {
         ONNXQ_ASSIGN_OR_RETURN(cal.percentile, ParseNumber(k, v));
         return Status::Ok();
       }},
      {"NumBins",
       [&cal](const std::string& k, const std::string& v) {
         ONNXQ_ASSIGN_OR_RETURN(cal.num_bins, ParseWhole<int>(k, v));
         return Status::Ok();
       }},
      {"NumQuantizedBins",
       [&cal](const std::string& k, const std::string& v) {
         ONNXQ_ASSIGN_OR_RETURN(cal.num_quantized_bins, ParseWhole<int>(k, v));
         return Status::Ok();
       }},
      {"CalibWorkerNum",
       [&cal](const std::string& k, const std::string& v) {
         ONNXQ_ASSIGN_OR_RETURN(cal.threads, ParseWhole<int>(k, v));
         return Status::Ok();
       }},
      {"CalibDataSize",
       [&cal](const std::string& k, const std::string& v) {
         ONNXQ_ASSIGN_OR_RETURN(cal.max_samples, ParseWhole<int64_t>(k, v));
         return Status::Ok();
       }},
      {"MinMSEMode",
       [&cal](const std::string& k, const std::string& v) {
         const std::string m = Lower(v);
         if (m == "all") {
           cal.minmse_mode = MinMseMode::kAll;
         } else if (m == "mostcommon") {
           cal.minmse_mode = MinMseMode::kMostCommon;
         } else {
           return InvalidArgument("extra option " + k + "=" + v + ": expected All or MostCommon");
         }
         return Status::Ok();
       }},
      {"WeightCalibrateMethod",
       [options](const std::string& k, const std::string& v) {
         std::string m = Lower(v);
         for (const char* prefix : {"calibrationmethod.", "extendedcalibrationmethod.", "poweroftwomethod."}) {
           if (m.starts_with(prefix)) m = m.substr(std::string(prefix).size());
         }
         if (m == "minmax" || m == "none") {
           options->weight_calibrate_method = WeightCalibrationMethod::kMinMax;
         } else if (m == "minmse") {
           options->weight_calibrate_method = WeightCalibrationMethod::kMinMSE;
         } else {
           return InvalidArgument("extra option " + k + "=" + v + ": expected MinMax or MinMSE");
         }
         return Status::Ok();
       }},
      {"RandomDataReaderInputDataRange",
       [options](const std::string& k, const std::string& v) {
         // "[low, high]" or "low,high" (one range for every input).
         std::string text;
         for (const char c : v) {
           if (c != '[' && c != ']' && c != '(' && c != ')' && c != ' ') text += c;
         }
         const auto comma = text.find(',');
         if (comma == std::string::npos)
           return InvalidArgument("extra option " + k + "=" + v + ": expected [low, high]");
         ONNXQ_ASSIGN_OR_RETURN(options->random_data.low, ParseFloat(k, text.substr(0, comma)));
         ONNXQ_ASSIGN_OR_RETURN(options->random_data.high, ParseFloat(k, text.substr(comma + 1)));
         return Status::Ok();
       }},
      {"RandomDataReaderInputRange",
       [options](const std::string& k, const std::string& v) {
         ONNXQ_ASSIGN_OR_RETURN(const auto ranges, ParseInputRanges(k, v));
         for (const auto& [name, range] : ranges) options->random_data.input_ranges[name] = range;
         return Status::Ok();
       }},
      {"OutputCheckSamples",
       [options](const std::string& k, const std::string& v) {
         ONNXQ_ASSIGN_OR_RETURN(options->output_check.samples, ParseWhole<int64_t>(k, v));
         return Status::Ok();
       }},
      {"OutputCheckSqnrThreshold",
       [options](const std::string& k, const std::string& v) {
         ONNXQ_ASSIGN_OR_RETURN(options->output_check.sqnr_threshold_db, ParseNumber(k, v));
         return Status::Ok();
       }},
      {"UInt8SymmetricZeroPoint",
       [options](const std::string& k, const std::string& v) {
         if (v == "127") {
           options->unsigned_symmetric_zero_point = UnsignedSymmetricZeroPoint::kOnnxRuntime;
         } else if (v == "128") {
           options->unsigned_symmetric_zero_point = UnsignedSymmetricZeroPoint::kNpu;
         } else {
           return InvalidArgument("extra option " + k + "=" + v + ": expected 127 (ONNX Runtime) or 128 (NPU)");
         }
         return Status::Ok();
       }},
  };
  for (const auto& [key, value] : extra) {
    const std::string canonical = key == "MinMSEModePof2Scale" ? "MinMSEMode" : key;
    const auto it = setters.find(canonical);
    if (it == setters.end()) {
      std::string known;
      for (const auto& [name, setter] : setters) known += (known.empty() ? "" : ", ") + name;
      return InvalidArgument("unknown extra option '" + key + "'; known: " + known);
    }
    ONNXQ_RETURN_IF_ERROR(it->second(key, value));
  }
  ONNXQ_RETURN_IF_ERROR(ValidateOptions(copy));
  *result = std::move(copy);
  return Status::Ok();
}

}  // namespace onnxq
