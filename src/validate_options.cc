// Range checks of every number in QuantizeOptions, wherever the options came from (the CLI, extra
// options, a program filling the struct): a value outside its range is an error naming the option,
// never a clamp, a huge allocation or an overflow further down.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "onnxq/extra_options.h"
#include "onnxq/options.h"

namespace onnxq {
namespace {

// Whole numbers in full (2000000000, not 2e+09), others as the shortest text that reads back.
std::string Text(double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e18) return std::to_string(static_cast<int64_t>(value));
  char text[32];
  auto* const end = std::to_chars(text, text + sizeof(text), value).ptr;
  return std::string(text, end);
}

Status OutOfRange(const std::string& option, double value, const std::string& expected) {
  return InvalidArgument(option + "=" + Text(value) + ": expected " + expected);
}

// Whether `value` lies in [low, high] (false for NaN).
bool Within(double value, double low, double high) { return value >= low && value <= high; }

}  // namespace

Status ValidateCalibrationOptions(const CalibrationOptions& options) {
  if (!Within(static_cast<double>(options.batch_size), 0, static_cast<double>(kMaxCalibrationBatch))) {
    return OutOfRange("calibration batch size (--calib-batch-size)", static_cast<double>(options.batch_size),
                      "0 (automatic) to " + std::to_string(kMaxCalibrationBatch) + " samples");
  }
  if (options.max_samples != -1 && options.max_samples < 1) {
    return OutOfRange("calibration sample count (--calib-data-size, CalibDataSize)",
                      static_cast<double>(options.max_samples), "-1 (all samples) or at least 1");
  }
  if (!Within(options.threads, 0, kMaxCalibrationWorkers)) {
    return OutOfRange("CalibWorkerNum", options.threads,
                      "0 (one per core) to " + std::to_string(kMaxCalibrationWorkers));
  }
  if (!Within(options.percentile, 0, 100) || options.percentile == 0) {
    return OutOfRange("Percentile", options.percentile, "a percentage in (0, 100]");
  }
  if (!Within(options.moving_average_constant, 0, 1) || options.moving_average_constant == 0) {
    return OutOfRange("CalibMovingAverageConstant", options.moving_average_constant, "a weight in (0, 1]");
  }
  if (options.num_bins && !Within(*options.num_bins, kMinHistogramBins, kMaxHistogramBins)) {
    return OutOfRange("NumBins", *options.num_bins,
                      std::to_string(kMinHistogramBins) + " to " + std::to_string(kMaxHistogramBins));
  }
  if (!Within(options.num_quantized_bins, kMinHistogramBins, kMaxHistogramBins)) {
    return OutOfRange("NumQuantizedBins", options.num_quantized_bins,
                      std::to_string(kMinHistogramBins) + " to " + std::to_string(kMaxHistogramBins));
  }
  if (options.method == CalibrationMethod::kEntropy) {
    const int bins = options.num_bins.value_or(kEntropyDefaultBins);
    if (options.num_quantized_bins > bins) {
      return OutOfRange("NumQuantizedBins", options.num_quantized_bins,
                        "at most NumBins (" + std::to_string(bins) + (options.num_bins ? "" : ", the Entropy default") +
                            "): the thresholds searched run from NumQuantizedBins to NumBins bins");
    }
  }
  return Status::Ok();
}

namespace {

Status CheckRandomData(const RandomDataOptions& r) {
  const double float_max = std::numeric_limits<float>::max();
  if (!Within(r.low, -float_max, float_max) || !Within(r.high, -float_max, float_max) || !(r.low < r.high)) {
    return InvalidArgument("random data range (--random-data-range, RandomDataReaderInputDataRange) [" + Text(r.low) +
                           ", " + Text(r.high) + "]: expected finite LOW below HIGH");
  }
  for (const auto& [name, range] : r.input_ranges) {
    if (!Within(range.low, -float_max, float_max) || !Within(range.high, -float_max, float_max) ||
        !(range.low <= range.high)) {
      return InvalidArgument("random data range of input '" + name + "' [" + Text(range.low) + ", " + Text(range.high) +
                             "]: expected finite LOW at most HIGH");
    }
  }
  for (const auto& [name, shape] : r.input_shapes) {
    int64_t elements = 1;
    for (const int64_t d : shape) {
      if (d < 1 || d > kMaxRandomDataElements || elements > kMaxRandomDataElements / d) {
        return InvalidArgument("shape of input '" + name +
                               "' for random data: every dimension must be at least 1, "
                               "and the sample at most " +
                               std::to_string(kMaxRandomDataElements) + " elements");
      }
      elements *= d;
    }
  }
  if (!Within(static_cast<double>(r.samples), 1, static_cast<double>(kMaxRandomDataSamples))) {
    return OutOfRange("random data samples", static_cast<double>(r.samples),
                      "1 to " + std::to_string(kMaxRandomDataSamples));
  }
  return Status::Ok();
}

Status CheckPasses(const PassOptions& p) {
  const CleOptions& cle = p.cle;
  if (cle.steps != -1 && !Within(cle.steps, 1, kMaxCleSteps)) {
    return OutOfRange("CLESteps", cle.steps, "1 to " + std::to_string(kMaxCleSteps) + ", or -1 (adaptive)");
  }
  if (!std::isfinite(cle.total_layer_diff_threshold) || cle.total_layer_diff_threshold < 0) {
    return OutOfRange("CLETotalLayerDiffThreshold", cle.total_layer_diff_threshold, "a finite number >= 0");
  }
  if (!std::isfinite(cle.small_range_threshold) || cle.small_range_threshold < 0) {
    return OutOfRange("CLEWeightThreshold", cle.small_range_threshold, "a finite number >= 0");
  }
  return Status::Ok();
}

Status Contradicts(const std::string& what, const std::string& mode, const std::string& why, const std::string& fix) {
  return InvalidArgument(what + " contradicts " + mode + " (" + why + "): " + fix);
}

bool PowerOfTwo(CalibrationMethod method) {
  return method == CalibrationMethod::kMinMSE || method == CalibrationMethod::kNonOverflow;
}

// The rules of NPU-CNN mode that no other option may break (the NPU's integer arithmetic), each error
// naming the option and the fix.
Status CheckNpuCnn(const QuantizeOptions& o) {
  const std::string mode = "enable_npu_cnn";
  if (o.per_channel) {
    return Contradicts("per_channel (--per-channel)", mode, "the NPU takes one scale per weight tensor",
                       "drop --per-channel");
  }
  if (o.reduce_range) {
    return Contradicts("reduce_range (--reduce-range)", mode, "the NPU uses full 8-bit weights", "drop --reduce-range");
  }
  if (!o.activation_symmetric) {
    return Contradicts("ActivationSymmetric=False", mode, "the NPU's activations are symmetric",
                       "drop it or set ActivationSymmetric=True");
  }
  if (!o.weight_symmetric) {
    return Contradicts("WeightSymmetric=False", mode, "the NPU's weights are symmetric",
                       "drop it or set WeightSymmetric=True");
  }
  if (!PowerOfTwo(o.calibration.method)) {
    return Contradicts("calibrate_method " + CalibrationMethodName(o.calibration.method), mode,
                       "a float-scale method; the NPU shifts by powers of two",
                       "use --calibrate-method MinMSE or NonOverflow (PowerOfTwoMethod)");
  }
  if (o.weight_type != QuantType::kInt8) {
    return Contradicts("weight_type " + std::string(QuantTypeName(o.weight_type)), mode, "the NPU's weights are int8",
                       "use --weight-type QInt8");
  }
  if (o.activation_type != QuantType::kInt8 && o.activation_type != QuantType::kUInt8) {
    return Contradicts("activation_type " + std::string(QuantTypeName(o.activation_type)), mode,
                       "the NPU's activations are 8-bit", "use --activation-type QUInt8 or QInt8");
  }
  if (o.quant_format != QuantFormat::kQDQ) {
    return Contradicts("quant_format QOperator", mode, "the NPU compiler reads QDQ models", "use --quant-format QDQ");
  }
  if (o.activation_type == QuantType::kUInt8 && o.unsigned_symmetric_zero_point != UnsignedSymmetricZeroPoint::kNpu) {
    return Contradicts("UInt8SymmetricZeroPoint=127", mode, "the NPU reads uint8 as int8 shifted by 128",
                       "drop it or set UInt8SymmetricZeroPoint=128");
  }
  return Status::Ok();
}

Status CheckNpuLimitation(const NpuLimitationOptions& n) {
  if (!Within(n.max_loops, 1, kMaxNpuLoops)) {
    return OutOfRange("MaxLoopNum", n.max_loops, "1 to " + std::to_string(kMaxNpuLoops));
  }
  return Status::Ok();
}

}  // namespace

std::optional<std::string> TensorOverrideProblem(const TensorOverride& pinned) {
  if (pinned.scale.has_value() != pinned.zero_point.has_value()) {
    return "scale and zero_point go together: give both or neither";
  }
  if (pinned.scale && !(std::isfinite(*pinned.scale) && *pinned.scale > 0.0F)) {
    return "scale " + std::to_string(*pinned.scale) + " is not a finite number above 0";
  }
  for (const auto& bound : {pinned.rmin, pinned.rmax}) {
    if (bound && !std::isfinite(*bound)) return "rmin and rmax must be finite";
  }
  if (pinned.rmin && pinned.rmax && !(*pinned.rmin <= *pinned.rmax)) {
    return "rmin " + std::to_string(*pinned.rmin) + " is above rmax " + std::to_string(*pinned.rmax);
  }
  if (pinned.type && (*pinned.type == QuantType::kFloat16 || *pinned.type == QuantType::kBFloat16)) {
    return "quant_type " + std::string(QuantTypeName(*pinned.type)) + " is not an integer type";
  }
  return std::nullopt;
}

Status ValidateOptions(const QuantizeOptions& options) {
  for (const auto& [tensor, pinned] : options.tensor_overrides) {
    if (auto problem = TensorOverrideProblem(pinned)) {
      return InvalidArgument("TensorQuantOverrides: tensor '" + tensor + "': " + *problem);
    }
  }
  if (options.npu_mode == NpuMode::kCnn) ONNXQ_RETURN_IF_ERROR(CheckNpuCnn(options));
  ONNXQ_RETURN_IF_ERROR(CheckNpuLimitation(options.npu_limitation));
  ONNXQ_RETURN_IF_ERROR(ValidateCalibrationOptions(options.calibration));
  ONNXQ_RETURN_IF_ERROR(CheckRandomData(options.random_data));
  ONNXQ_RETURN_IF_ERROR(CheckPasses(options.passes));
  const OutputCheckOptions& check = options.output_check;
  if (check.samples && !Within(static_cast<double>(*check.samples), 0, static_cast<double>(kMaxOutputCheckSamples))) {
    return OutOfRange("OutputCheckSamples", static_cast<double>(*check.samples),
                      "0 (no check) to " + std::to_string(kMaxOutputCheckSamples));
  }
  if (!std::isfinite(check.sqnr_threshold_db)) {
    return OutOfRange("OutputCheckSqnrThreshold", check.sqnr_threshold_db, "a finite number of dB");
  }
  if (!std::isfinite(check.range_fallback_sqnr_db)) {
    return OutOfRange("RangeFallbackSqnrThreshold", check.range_fallback_sqnr_db, "a finite number of dB");
  }
  return Status::Ok();
}

}  // namespace onnxq
