#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "calibration/calibrator.h"
#include "calibration/collect_statistics.h"
#include "cli_common.h"
#include "commands.h"
#include "io/file_safety.h"
#include "onnxq/calibrate.h"
#include "onnxq/extra_options.h"
#include "onnxq/layer_report.h"
#include "onnxq/optimize.h"
#include "onnxq/presets.h"
#include "onnxq/quantize.h"
#include "pipeline/check_model.h"
#include "report_json.h"

namespace onnxq::cli {
namespace {

// quantize --benchmark: samples and timed passes.
constexpr int64_t kBenchmarkSamples = 16;
constexpr int kBenchmarkPasses = 5;

struct QuantizeArgs {
  std::string input;
  std::string output;
  std::string calib_table;
  DataArgs data;
  std::string random_data_range;                      // LOW,HIGH
  std::vector<std::string> random_data_input_ranges;  // NAME:LOW,HIGH
  const CLI::Option* method_option = nullptr;         // to tell whether --calibrate-method was given
  const CLI::Option* format_option = nullptr;         // ... --quant-format
  const CLI::Option* activation_type_option = nullptr;
  const CLI::Option* weight_type_option = nullptr;
  std::string config;  // --config NAME
  bool npu_cnn = false;
  bool npu_transformer = false;
  std::string quant_format = "QDQ";
  std::string calibrate_method = "MinMax";
  std::string activation_type = "QUInt8";
  std::string weight_type = "QInt8";
  bool per_channel = false;
  bool reduce_range = false;
  bool activation_symmetric = false;
  bool replace_clip6_relu = false;
  bool include_cle = false;
  bool convert_nchw_to_nhwc = false;
  bool high_bias_absorption = false;
  bool bias_correction = false;
  std::vector<std::string> nodes_to_exclude;
  std::vector<std::string> nodes_to_quantize;
  std::vector<std::string> op_types_to_quantize;
  std::vector<std::string> input_nodes;
  std::vector<std::string> output_nodes;
  bool external_data = false;
  std::vector<std::string> extra;      // KEY=VALUE
  std::string tensor_quant_overrides;  // PATH of a JSON file
  bool quiet = false;
  bool json = false;
  bool benchmark = false;
  std::string report;  // --report PATH
};

// The defaults again, for another parse; the registered options stay.
void Reset(QuantizeArgs& args) {
  QuantizeArgs fresh;
  fresh.method_option = args.method_option;
  fresh.format_option = args.format_option;
  fresh.activation_type_option = args.activation_type_option;
  fresh.weight_type_option = args.weight_type_option;
  args = std::move(fresh);
}

// The options the command line gives, as settings in the order presets.h resolves them: only what was
// given, so that a --config preset or an NPU mode keeps its values for the rest.
Result<std::vector<Setting>> ExplicitSettings(const QuantizeArgs& args) {
  std::vector<Setting> settings;
  const auto given = [](const CLI::Option* option) { return option != nullptr && option->count() > 0; };
  if (given(args.format_option)) settings.push_back({"quant_format", args.quant_format});
  if (given(args.method_option)) settings.push_back({"calibrate_method", args.calibrate_method});
  if (given(args.activation_type_option)) settings.push_back({"activation_type", args.activation_type});
  if (given(args.weight_type_option)) settings.push_back({"weight_type", args.weight_type});
  const std::pair<bool, const char*> flags[] = {
      {args.npu_cnn, "enable_npu_cnn"},
      {args.npu_transformer, "enable_npu_transformer"},
      {args.per_channel, "per_channel"},
      {args.reduce_range, "reduce_range"},
      {args.activation_symmetric, "ActivationSymmetric"},
      {args.replace_clip6_relu, "ReplaceClip6Relu"},
      {args.include_cle, "include_cle"},
      {args.convert_nchw_to_nhwc, "convert_nchw_to_nhwc"},
      {args.high_bias_absorption, "HighBiasAbsorption"},
      {args.bias_correction, "BiasCorrection"},
  };
  for (const auto& [on, key] : flags) {
    if (on) settings.push_back({key, "True"});
  }
  ONNXQ_ASSIGN_OR_RETURN(const auto extra, ParseKeyValues("--extra-option", args.extra));
  for (const auto& [key, value] : extra) settings.push_back({key, value});
  if (!args.tensor_quant_overrides.empty()) settings.push_back({"TensorQuantOverrides", args.tensor_quant_overrides});
  return settings;
}

Result<QuantizeOptions> BuildOptions(const QuantizeArgs& args) {
  QuantizeOptions options;
  options.nodes_to_exclude = args.nodes_to_exclude;
  options.nodes_to_quantize = args.nodes_to_quantize;
  options.op_types_to_quantize = args.op_types_to_quantize;
  options.input_nodes = args.input_nodes;
  options.output_nodes = args.output_nodes;
  options.calibration.batch_size = args.data.batch_size;
  options.calibration.max_samples = args.data.max_samples;
  if (args.external_data) options.save.external_data = ExternalData::kAlways;
  ONNXQ_ASSIGN_OR_RETURN(const auto settings, ExplicitSettings(args));
  ONNXQ_ASSIGN_OR_RETURN(options, ResolveOptions(args.config, settings, options));
  ONNXQ_ASSIGN_OR_RETURN(options.random_data.input_shapes, ParseInputShapes(args.data.input_shapes));
  if (!args.random_data_range.empty()) {
    ONNXQ_RETURN_IF_ERROR(ApplyExtraOptions({{"RandomDataReaderInputDataRange", args.random_data_range}}, &options));
  }
  if (!args.random_data_input_ranges.empty()) {
    std::string ranges;  // NAME:LOW,HIGH;NAME2:LOW,HIGH
    for (const auto& r : args.random_data_input_ranges) ranges += (ranges.empty() ? "" : ";") + r;
    ONNXQ_RETURN_IF_ERROR(ApplyExtraOptions({{"RandomDataReaderInputRange", ranges}}, &options));
  }
  ONNXQ_RETURN_IF_ERROR(ValidateOptions(options));
  return options;
}

bool ListsPresets(const QuantizeArgs& args) { return args.config == "list" || args.config == "LIST"; }

// --config list: each preset's name, summary, settings and what of the vendor's definition differs.
void PrintPresets() {
  for (const Preset& preset : Presets()) {
    std::cout << preset.name << "\n  " << preset.summary << "\n ";
    for (const auto& [key, value] : preset.settings) std::cout << " " << key << "=" << value;
    std::cout << "\n";
    if (!preset.differences.empty()) std::cout << "  note: " << preset.differences << "\n";
  }
}

std::string FormatDb(double db) {
  if (std::isinf(db)) return db > 0 ? "inf" : "-inf";
  std::ostringstream text;
  text << std::fixed << std::setprecision(1) << db;
  return text.str();
}

// The output check's lines of the summary: one per float graph output.
void PrintOutputCheck(const QuantizeReport& report, const QuantizeOptions& options) {
  if (options.output_check.samples == 0) {
    std::cout << "  output SQNR       not checked (OutputCheckSamples=0)\n";
    return;
  }
  if (report.output_check_samples == 0) return;
  std::cout << "  output SQNR       float vs quantized on " << report.output_check_samples
            << (report.output_check_data == CheckData::kRandom ? " random" : " calibration")
            << (report.output_check_samples == 1 ? " sample" : " samples") << "\n";
  if (report.outputs.empty()) std::cout << "    (no float output)\n";
  size_t width = 0;
  for (const auto& o : report.outputs) width = std::max(width, o.output.size());
  for (const auto& o : report.outputs) {
    std::cout << "    " << std::left << std::setw(static_cast<int>(width)) << o.output << std::right << "  "
              << FormatDb(o.sqnr_db) << " dB, cosine " << std::fixed << std::setprecision(4) << o.cosine;
    if (!o.warning.empty()) {
      std::ostringstream threshold;  // 10, 12.5
      threshold << options.output_check.sqnr_threshold_db;
      std::cout << "  below " << threshold.str() << " dB (see the warning)";
    }
    std::cout << "\n";
  }
  if (const auto& f = report.range_fallback) {
    std::cout << "  range fallback    worst output " << FormatDb(f->minmax_sqnr_db) << " dB with MinMax, "
              << FormatDb(f->fallback_sqnr_db) << " dB with " << f->method << ": "
              << (f->kept_fallback ? f->method : std::string("MinMax")) << " kept (" << std::fixed
              << std::setprecision(1) << f->seconds << " s more)\n";
  }
}

// NPULimitationCheck's adjustments, one line each: node, tensor, rule, positions, SQNR before and after.
void PrintNpuRefinement(const NpuRefinementReport& refinement) {
  std::cout << "  npu refinement    " << refinement.adjustments.size() << " positions moved in " << refinement.loops
            << (refinement.loops == 1 ? " round" : " rounds")
            << (refinement.converged      ? ", every rule holds\n"
                : refinement.held.empty() ? ", some rules still broken (MaxLoopNum)\n"
                                          : ", some rules broken at tensors TensorQuantOverrides pins\n");
  for (const NpuAdjustment& a : refinement.adjustments) {
    std::cout << "    " << a.rule << " " << a.node << ": " << a.tensor << " pos " << a.old_pos << " -> " << a.new_pos;
    if (!std::isnan(a.old_sqnr_db)) {
      std::cout << " (SQNR " << FormatDb(a.old_sqnr_db) << " -> " << FormatDb(a.new_sqnr_db) << " dB)";
    }
    std::cout << "\n";
  }
  for (const NpuAdjustment& a : refinement.held) {
    std::cout << "    held: " << a.rule << " " << a.node << ": " << a.tensor << " pinned at pos " << a.old_pos
              << " (the rule asks " << a.new_pos << ")\n";
  }
}

void PrintSummary(const QuantizeArgs& args, const QuantizeOptions& options, const QuantizeReport& report,
                  double seconds, int64_t input_bytes, int64_t output_bytes) {
  std::cout << "onnxq quantize: " << args.input << " -> " << args.output << "\n";
  std::cout << "  nodes quantized   " << report.nodes_quantized << " of " << report.nodes_total << " ("
            << report.activations_quantized << " activations, " << report.weights_quantized << " weights)\n";
  if (report.nodes_folded > 0) {
    std::cout << "  folded            " << report.nodes_folded
              << " Relu/Clip into their producers' quantized outputs\n";
  }
  if (report.biases_corrected > 0) {
    std::cout << "  bias corrected    " << report.biases_corrected
              << " layers (their weights' mean error on the calibration data)\n";
  }
  std::cout << "  calibration       " << report.calibration_samples << " samples";
  if (report.calibration_skipped > 0) std::cout << " (" << SkippedImagesText(report.calibration_skipped) << ")";
  std::cout << "\n";
  std::cout << std::fixed << std::setprecision(2);
  std::cout << "  time              " << seconds << " s (prepare " << report.seconds_prepare << ", calibrate "
            << report.seconds_calibrate << ", quantize " << report.seconds_quantize << ", check "
            << report.seconds_check << ")\n";
  std::cout << "  size              " << FormatBytes(input_bytes) << " -> " << FormatBytes(output_bytes) << "\n";
  PrintOutputCheck(report, options);
  if (report.npu_refinement) PrintNpuRefinement(*report.npu_refinement);
  if (report.runnability) {
    std::cout << "  onnxruntime runs  " << RunnabilitySummary(*report.runnability) << "\n";
  }
  if (!report.left_float.empty()) {
    std::map<std::string, std::vector<std::string>> by_reason;
    for (const auto& d : report.left_float) by_reason[d.op_type + ": " + d.reason].push_back(d.node);
    std::cout << "  left in float     " << report.left_float.size() << " nodes\n";
    for (const auto& [reason, nodes] : by_reason) {
      std::cout << "    " << nodes.size() << " x " << reason;
      if (nodes.size() <= 3) {
        std::cout << " (";
        for (size_t i = 0; i < nodes.size(); ++i) std::cout << (i > 0 ? ", " : "") << nodes[i];
        std::cout << ")";
      }
      std::cout << "\n";
    }
  }
  // The outputs' warnings go to stderr (PrintOutputWarnings), not among the notes.
  for (const auto& w : report.warnings) {
    const bool of_output =
        std::any_of(report.outputs.begin(), report.outputs.end(), [&](const auto& o) { return o.warning == w; });
    if (!of_output) std::cout << "  note: " << w << "\n";
  }
}

// An output whose SQNR is below the threshold is never silent: its warning goes to stderr whatever
// --quiet or --json say.
void PrintOutputWarnings(const QuantizeReport& report) {
  for (const auto& o : report.outputs) {
    if (!o.warning.empty()) std::cerr << "onnxq: warning: " << o.warning << "\n";
  }
}

// Everything but the model paths and --calib-table: what `quantize` and `calibrate` share.
void AddSharedOptions(CLI::App* cmd, QuantizeArgs& args) {
  cmd->add_option("--calib-data", args.data.data,
                  "Calibration data: a .npy file [N, ...] or raw float32 file for a single-input model, a folder of "
                  "<input>.npy files, or NAME=PATH per input. Or a folder of .jpg/.png images, flat or one sub-folder "
                  "per class, for a model of one image input: preprocessed as --preprocess, --color, --mean, --std, "
                  "--resize, --crop and --layout say (unreadable images are skipped with a warning and counted). A "
                  ".npy holds N samples on axis 0: with as many axes as "
                  "the model input, sample i is fed as x[i:i+1]; with one more axis, whole as x[i] (a scalar such as "
                  "a sample rate: [N]; an LSTM state [2,batch,H]: [N,2,1,H]). Inputs whose shapes change from sample "
                  "to sample (sequences, images of several sizes) or that differ in type and rank: .npz files, one "
                  "sample each (numpy.savez(f, x=..., sr=...): an array per input, named after it), or folders of "
                  "them read in file-name order. An array with as many axes as the input is the value as the model "
                  "takes it (axis 0 counts samples when the model's axis 0 is symbolic, or 1 with every other axis "
                  "fixed; a scalar or a state [2,batch,H] is fed whole); one more axis holds samples each fed whole. "
                  "Consecutive samples of equal shapes share a batch. Without --calib-data, random data is used "
                  "(accuracy meaningless)");
  cmd->add_option("--input-shape", args.data.input_shapes,
                  "NAME:1,3,224,224 shape of an input (raw calibration files, random data)");
  AddImageOptions(cmd, args.data.images);
  cmd->add_option("--random-data-range", args.random_data_range,
                  "LOW,HIGH: uniform range of random calibration data when no --calib-data is given (default 0,1; "
                  "as extra option RandomDataReaderInputDataRange; write --random-data-range=-1,1 for a negative LOW)");
  cmd->add_option("--random-data-input-range", args.random_data_input_ranges,
                  "NAME:LOW,HIGH range of random calibration data for one input (repeatable): uniform in [LOW, HIGH) "
                  "for a float input, whole numbers in [LOW, HIGH] for an integer one, e.g. sr:16000,16000 for a "
                  "sample rate (extra option RandomDataReaderInputRange=NAME:LOW,HIGH;NAME2:LOW,HIGH). Integer inputs "
                  "without one get [0, 1] (int32, int64) or their type's range, with a warning");
  cmd->add_option("--calib-batch-size", args.data.batch_size,
                  "Samples per inference run, and per MinMSEMode MostCommon vote. Default: the data is read 16 "
                  "samples at a time and each run holds as many as keep the calibrated tensors in cache (about 6 MiB), "
                  "MostCommon voting once per run; CalibMovingAverage averages whole batches of 16. A model with a "
                  "fixed batch of 1 is run in such batches when its first batch gives the same results as single "
                  "samples");
  cmd->add_option("--calib-data-size", args.data.max_samples, "Use at most this many calibration samples");
  cmd->add_option("--config", args.config,
                  "A named configuration (AMD Quark's presets: XINT8, A8W8, A16W8, U8S8_AAWS ...); options given "
                  "beside it override its settings. --config list prints every one with its settings");
  cmd->add_flag("--enable-npu-cnn,--enable-dpu,--enable-ipu-cnn", args.npu_cnn,
                "AMD NPU CNN mode: power-of-two scales (MinMSE by default), symmetric per-tensor activations "
                "(QUInt8 zero point 128) and weights, int8 power-of-two biases, no Q/DQ between a Conv and its "
                "activation, the DPU's constants (SimulateDPU) and shift limits (NPULimitationCheck, MaxLoopNum, "
                "Adjust*, Align*); per-channel, reduce-range, asymmetric or float-scale options are errors");
  cmd->add_flag("--enable-npu-transformer,--enable-ipu-transformer", args.npu_transformer,
                "AMD NPU transformer mode: MinMax, QInt8 activations, QInt8 weights, MatMul only with a constant B "
                "(MatMulConstBOnly), no Q/DQ between a node and its activation");
  args.format_option =
      cmd->add_option("--quant-format", args.quant_format, "QDQ (QuantizeLinear/DequantizeLinear pairs)")
          ->capture_default_str();
  args.method_option =
      cmd->add_option("--calibrate-method", args.calibrate_method,
                      "MinMax, Percentile, Entropy (KL, NumBins 256 / NumQuantizedBins 128), or power-of-two "
                      "NonOverflow (never clips) and MinMSE (MinMSEMode All or MostCommon); with a power-of-two "
                      "method weights get power-of-two scales too")
          ->capture_default_str();
  args.activation_type_option =
      cmd->add_option("--activation-type", args.activation_type,
                      "QUInt8, QInt8, QUInt16 or QInt16 (16-bit Q/DQ in ONNX Runtime's com.microsoft domain)")
          ->capture_default_str();
  args.weight_type_option =
      cmd->add_option("--weight-type", args.weight_type, "QInt8, QUInt8, QInt16 or QUInt16")->capture_default_str();
  cmd->add_flag("--per-channel", args.per_channel,
                "Per-output-channel weight scales (below opset 13: ONNX Runtime's com.microsoft Q/DQ)");
  cmd->add_flag("--reduce-range", args.reduce_range, "7-bit weights, for CPUs without VNNI");
  cmd->add_flag("--activation-symmetric", args.activation_symmetric,
                "Symmetric activation ranges (same as extra option ActivationSymmetric=True)");
  cmd->add_flag("--replace-clip6-relu", args.replace_clip6_relu,
                "Replace Clip(0,6) and Clip(0,no max) with Relu before CLE (extra option ReplaceClip6Relu)");
  cmd->add_flag("--include-cle", args.include_cle,
                "Cross-layer equalization (extra options CLESteps, CLEScaleAppendBias, CLETotalLayerDiffThreshold, "
                "CLEScaleUseThreshold, CLEWeightThreshold); models with Clip(0,6) need --replace-clip6-relu too");
  cmd->add_flag("--convert-nchw-to-nhwc", args.convert_nchw_to_nhwc,
                "The model's 4-D inputs take NHWC data (a Transpose to NCHW after each; other inputs stay, with a "
                "note): the calibration data, and the quantized model's users, feed NHWC (vai_q_onnx's "
                "convert_nchw_to_nhwc; also the pass convert_nchw_to_nhwc of onnxq optimize)");
  cmd->add_flag("--high-bias-absorption", args.high_bias_absorption,
                "Move bias a Relu never cuts into the next layer, using the folded batch norms' statistics (extra "
                "option HighBiasAbsorption)");
  cmd->add_flag("--bias-correction", args.bias_correction,
                "After quantization, fold each layer's mean output error on the calibration data into its bias, "
                "measured in a second pass on the quantized model (extra option BiasCorrection). Without it, each "
                "Conv / Gemm still gets its weights' mean error on the calibration data's mean input folded into its "
                "bias, from means measured while calibrating (extra option MeanBiasCorrection, on by default)");
  cmd->add_option("--nodes-to-exclude", args.nodes_to_exclude, "Node names (or output names) to keep in float")
      ->delimiter(',');
  cmd->add_option("--nodes-to-quantize", args.nodes_to_quantize, "Quantize only these nodes")->delimiter(',');
  cmd->add_option("--op-types-to-quantize", args.op_types_to_quantize, "Quantize only these op types, e.g. Conv,Gemm")
      ->delimiter(',');
  cmd->add_option("--input-nodes", args.input_nodes, "Quantize only from these nodes on")->delimiter(',');
  cmd->add_option("--output-nodes", args.output_nodes, "Quantize only up to these nodes")->delimiter(',');
  cmd->add_flag("--use-external-data-format", args.external_data,
                "Store weights in <model_output>.<content hash>.data");
  cmd->add_option("--extra-option", args.extra,
                  "KEY=VALUE as vai_q_onnx extra_options: ActivationSymmetric, WeightSymmetric, QuantizeBias, "
                  "CalibTensorRangeSymmetric, CalibMovingAverage, CalibMovingAverageConstant, Percentile, NumBins, "
                  "NumQuantizedBins, MinMSEMode, CalibDataSize, CalibWorkerNum (parallel calibration workers, 0: one "
                  "per core), WeightCalibrateMethod (MinMax or MinMSE), "
                  "UInt8SymmetricZeroPoint: zero point of symmetric QUInt8 ranges, 127 (ONNX Runtime, default) or "
                  "128 (AMD NPU); ConvertBNToConv, ConvertReduceMeanToGlobalAvgPool (ReduceMean over H, W -> "
                  "GlobalAveragePool), SplitLargeKernelPool (GlobalAveragePool over > 512 values -> AveragePool + "
                  "GlobalAveragePool), ConvertSplitToSlice (Split -> Slices), ReplaceClip6Relu, IncludeCLE, CLESteps "
                  "(-1: adaptive), CLEScaleAppendBias, CLETotalLayerDiffThreshold, CLEScaleUseThreshold, "
                  "CLEWeightThreshold, HighBiasAbsorption, BiasCorrection, MeanBiasCorrection (default True), "
                  "SimulateDPU (an AMD DPU's LeakyRelu alpha, average multipliers and HardSigmoid; "
                  "ConvertLeakyReluToDPUVersion, ConvertAvgPoolToDPUVersion, ConvertReduceMeanToDPUVersion, "
                  "ConvertSigmoidToHardSigmoid (Sigmoid -> HardSigmoid(1/6, 0.5)), ConvertHardSigmoidToDPUVersion "
                  "(HardSigmoid(1/6) and HardSwish x 2731/16384 / (1/6)) switch each, default True); "
                  "OutputCheckSamples: samples "
                  "on which the float and "
                  "the quantized model are compared after quantization, output by output (SQNR, cosine), default "
                  "8 (fewer for inputs over 4 MiB, at least 2), 0: no check (the quantized model is then not run); "
                  "OutputCheckSqnrThreshold: an output below this SQNR in dB (default 10) gets a warning on stderr; "
                  "RangeFallback (default True): when MinMax ranges leave an output below "
                  "RangeFallbackSqnrThreshold dB (default 20), calibrate Percentile ranges too and keep the better")
      ->delimiter(',');
  cmd->add_option("--tensor-quant-overrides", args.tensor_quant_overrides,
                  "A JSON file of per-tensor overrides, ONNX Runtime's TensorQuantOverrides (extra option "
                  "TensorQuantOverrides=PATH): {\"tensor\": [{\"quant_type\": \"QUInt16\", \"rmin\": 0, \"rmax\": 6}], "
                  "\"weight\": [{\"scale\": 0.01, \"zero_point\": 0}]}; keys quant_type, symmetric, scale and "
                  "zero_point (together), rmin, rmax. A tensor left float gets a warning");
  cmd->add_flag("-q,--quiet", args.quiet, "Print nothing but errors");
}

}  // namespace

Command AddQuantizeCommand(CLI::App& app) {
  auto args = std::make_shared<QuantizeArgs>();
  CLI::App* cmd = app.add_subcommand("quantize", "Quantize a float ONNX model (static post-training quantization)");
  // Required unless --config list asks only for the presets.
  cmd->add_option("model_input", args->input, "Float ONNX model to quantize (required)");
  cmd->add_option("model_output", args->output, "Where to write the quantized model, atomically (required)");
  cmd->add_option("--calib-table", args->calib_table,
                  "Take activation ranges from this table (onnxq calibrate) instead of calibrating; ranges are "
                  "recomputed from its statistics when the method or settings differ");
  AddSharedOptions(cmd, *args);
  cmd->get_option("--quiet")->description(
      "Print nothing but errors, and the warning of an output below the SQNR "
      "threshold (on stderr)");
  cmd->add_flag("--json", args->json,
                "Print one JSON object on stdout instead of the summary: paths, options, node counts, every node "
                "left float and every tensor kept float with its reason, each output's SQNR and cosine (null for an "
                "infinite SQNR), times, warnings. Errors and low-SQNR warnings still go to stderr");
  cmd->add_flag("--benchmark", args->benchmark,
                "After writing the model, measure the float and the quantized model's latency per sample in ONNX "
                "Runtime's CPU provider (all cores, batch 1) on the first 16 calibration samples (random ones "
                "without --calib-data): one untimed pass each, then 5 passes, float and quantized in turn; the "
                "median pass (onnxq inspect --benchmark measures any pair)");
  cmd->add_option("--report", args->report,
                  "After writing the model, write its per-layer error report (as onnxq report makes it) on the first "
                  "16 calibration samples (random ones without --calib-data) to PATH: an HTML page for .html, JSON "
                  "for .json, else text");

  const auto check = [args]() -> Status {
    if (ListsPresets(*args)) return Status::Ok();
    if (args->input.empty() || args->output.empty()) {
      return InvalidArgument("quantize needs model_input and model_output (see onnxq --help)");
    }
    return BuildOptions(*args).status();
  };
  const auto run = [args]() -> int {
    if (ListsPresets(*args)) {
      PrintPresets();
      return 0;
    }
    const auto start = std::chrono::steady_clock::now();
    auto options = BuildOptions(*args);
    if (!options.ok()) return Fail(options.status());
    std::optional<InferenceEnginePreload> engine;  // loads while the model is read and prepared
    if (args->calib_table.empty()) engine.emplace();
    ModelFiles input_files;
    auto model = LoadModel(args->input, &input_files);
    if (!model.ok()) return Fail(model.status());
    // Every file read is an input no output may be; checked now, before any work, and again by the save.
    options->save.inputs = AsInputs(input_files, "the input model");
    for (auto& data : DataInputs(args->data)) options->save.inputs.push_back(std::move(data));
    if (!args->calib_table.empty()) options->save.inputs.push_back({args->calib_table, "the calibration table"});
    if (Status s = CheckOutputPath(args->output, options->save.inputs); !s.ok()) return Fail(s);
    if (!args->report.empty()) {
      if (Status s = CheckOutputPath(args->report, options->save.inputs); !s.ok()) return Fail(s);
      const auto same_file =
          IdentityOf(args->output).has_value() && IdentityOf(args->report) == IdentityOf(args->output);
      if (same_file || std::filesystem::path(args->report).lexically_normal() ==
                           std::filesystem::path(args->output).lexically_normal()) {
        return Fail(InvalidArgument("--report '" + args->report + "' is the output model: give another path"));
      }
    }
    if (Status s = CheckFloatModel(*model, "'" + args->input + "'"); !s.ok()) return Fail(s);
    QuantizeReport report;
    Result<onnx::ModelProto> quantized = Internal("not run");
    bool handed_over = false;  // the float model moved into the quantizer
    if (!args->calib_table.empty()) {
      if (!args->data.data.empty()) return Fail(InvalidArgument("give --calib-data or --calib-table, not both"));
      auto table = LoadCalibrationTable(args->calib_table);
      if (!table.ok()) return Fail(table.status());
      // Without --calibrate-method, the table's own method and calibration settings.
      if (args->method_option->count() == 0) {
        const CalibrationOptions asked = options->calibration;
        options->calibration = table->settings.calibration;
        options->calibration.batch_size = asked.batch_size;
        options->calibration.max_samples = asked.max_samples;
        options->calibration.threads = asked.threads;
      }
      quantized = QuantizeModel(*model, *table, *options, &report);
    } else {
      std::unique_ptr<CalibrationDataReader> reader;
      if (!args->data.data.empty()) {
        auto opened =
            OpenData(args->data, InputsAsFed(*model, options->passes), ChooseBatchSize(*model, options->calibration));
        if (!opened.ok()) return Fail(opened.status());
        reader = std::move(opened).value();
      }
      // Handed over, so that a large model's weights are held once.
      handed_over = true;
      quantized = QuantizeModel(std::move(*model), reader.get(), *options, &report,
                                args->quiet ? ProgressCallback{} : MakeProgressBar());
      PrintDataWarnings(reader.get());
    }
    if (!quantized.ok()) return Fail(quantized.status());
    ModelFiles output_files;
    if (Status s = SaveModel(*quantized, args->output, options->save, &output_files); !s.ok()) return Fail(s);
    NoteAutomaticExternalData(options->save, output_files);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // The float model was handed to the quantizer (held once): read again for a comparison.
    if (handed_over && (args->benchmark || !args->report.empty())) {
      auto reloaded = LoadModel(args->input);
      if (!reloaded.ok()) return Fail(reloaded.status());
      *model = std::move(reloaded).value();
    }
    if (!args->report.empty()) {
      auto layers = RunLayerReport(*model, *quantized, args->data, options->random_data, options->passes, {},
                                   args->quiet || args->json);
      if (!layers.ok()) return Fail(Status(layers.status().code(), "--report: " + layers.status().message()));
      std::vector<InputFile> inputs = options->save.inputs;
      for (auto& written : AsInputs(output_files, "the output model")) inputs.push_back(std::move(written));
      const LayerReportTitle title{.float_model = args->input,
                                   .quantized_model = args->output,
                                   .data = DescribeData(args->data, options->random_data)};
      if (Status s = WriteLayerReport(*layers, title, LayerReportFormatOf(args->report), args->report, inputs);
          !s.ok()) {
        return Fail(s);
      }
    }
    std::optional<LatencyComparison> latency;
    if (args->benchmark) {
      auto samples = OpenBenchmarkData(args->data, *model, kBenchmarkSamples);
      if (!samples.ok()) return Fail(samples.status());
      auto measured = CompareLatency(*model, *quantized, **samples, {.repeats = kBenchmarkPasses});
      if (!measured.ok()) return Fail(measured.status());
      latency = *measured;
    }
    if (args->json) {
      std::cout << QuantizeReportJson({.input = args->input,
                                       .output = args->output,
                                       .calib_data = args->data.data,
                                       .calib_table = args->calib_table,
                                       .options = &*options,
                                       .report = &report,
                                       .seconds = seconds,
                                       .input_bytes = ModelBytes(input_files),
                                       .output_bytes = ModelBytes(output_files),
                                       .latency = latency ? &*latency : nullptr,
                                       .benchmark_passes = kBenchmarkPasses})
                       .dump(2)
                << "\n";
    } else if (!args->quiet) {
      PrintSummary(*args, *options, report, seconds, ModelBytes(input_files), ModelBytes(output_files));
      if (latency) PrintLatency(*latency, kBenchmarkPasses);
      if (!args->report.empty()) std::cout << "  layer report      " << args->report << "\n";
    }
    PrintOutputWarnings(report);
    return 0;
  };
  return {check, run, [args] { Reset(*args); }};
}

SharedQuantizeOptions AddSharedQuantizeOptions(CLI::App* cmd) {
  auto args = std::make_shared<QuantizeArgs>();
  AddSharedOptions(cmd, *args);
  return {.build = [args]() -> Result<QuantizeOptions> { return BuildOptions(*args); },
          .data = [args]() -> const DataArgs& { return args->data; },
          .quiet = [args] { return args->quiet; },
          .reset = [args] { Reset(*args); }};
}

}  // namespace onnxq::cli
