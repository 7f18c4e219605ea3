// The pipeline: load -> prepare -> calibrate -> decide -> materialize -> check outputs -> write.
#include "onnxq/quantize.h"

#include <onnx/checker.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <optional>
#include <set>
#include <string>

#include <sys/resource.h>

#include "calibration/collect_statistics.h"
#include "calibration/inference_backend.h"
#include "calibration/onnxruntime_backend.h"
#include "calibration/random_data_reader.h"
#include "calibration/table_ranges.h"
#include "evaluation/runnability.h"
#include "io/file_safety.h"
#include "io/weights_on_disk.h"
#include "ir/graph_view.h"
#include "onnxq/calibrate.h"
#include "pipeline/check_model.h"
#include "pipeline/check_outputs.h"
#include "pipeline/measure_npu_adjustments.h"
#include "pipeline/prepare_model.h"
#include "pipeline/prepare_quantization.h"
#include "quantizer/correct_bias.h"
#include "quantizer/correct_weight_error_bias.h"
#include "quantizer/decide_params.h"
#include "quantizer/float_tensors.h"
#include "quantizer/fold_offsets_into_biases.h"
#include "quantizer/hard_sigmoid_as_add.h"
#include "quantizer/mark_nodes.h"
#include "quantizer/materialize_qdq.h"
#include "quantizer/pad_conv_input_channels.h"
#include "quantizer/pad_depthwise_channels.h"
#include "quantizer/refine_npu_positions.h"
#include "quantizer/remove_fused_activation_qdq.h"

namespace onnxq {
namespace {

using Clock = std::chrono::steady_clock;

// Weights of models whose tensors of 1 MiB or more add up to 256 MiB or more are held on disk during
// calibration (WeightsOnDisk).
constexpr int64_t kWeightOnDiskTensorBytes = int64_t{1} << 20;
constexpr int64_t kWeightsOnDiskBytes = int64_t{256} << 20;
constexpr int64_t kNeverOnDisk = std::numeric_limits<int64_t>::max();

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

Status CheckOptions(const QuantizeOptions& options) {
  ONNXQ_RETURN_IF_ERROR(ValidateOptions(options));
  if (options.quant_format != QuantFormat::kQDQ) return Unsupported("only the QDQ format is available yet");
  for (const QuantType t : {options.activation_type, options.weight_type}) {
    if (t != QuantType::kInt8 && t != QuantType::kUInt8 && t != QuantType::kInt16 && t != QuantType::kUInt16) {
      return Unsupported(std::string("type ") + std::string(QuantTypeName(t)) +
                         " is not available yet; use QInt8, QUInt8, QInt16 or QUInt16");
    }
  }
  if (options.activation_type == QuantType::kInt8 && options.weight_type == QuantType::kUInt8) {
    return InvalidArgument(
        "activation QInt8 with weight QUInt8 is not supported by ONNX Runtime kernels; use QInt8 weights");
  }
  return Status::Ok();
}

// The NPU modes' steps on the decided plan: no Q/DQ inside what the NPU computes as one op, then
// (NPU-CNN) the positions moved to what its shifters can compute.
Status ApplyNpuRules(const GraphView& graph, const QuantizeOptions& options, QuantPlan& plan, QuantizeReport& rep) {
  if (options.npu_mode == NpuMode::kNone) return Status::Ok();
  RemoveFusedActivationQdq(graph, options.fused_activation, &plan);
  if (options.npu_mode != NpuMode::kCnn) return Status::Ok();
  RemoveDpuCorrectionQdq(graph, &plan);
  if (!options.npu_limitation.enabled) return Status::Ok();
  std::set<std::string> pinned;
  for (const auto& [tensor, pinned_params] : options.tensor_overrides) pinned.insert(tensor);
  ONNXQ_ASSIGN_OR_RETURN(rep.npu_refinement, RefineNpuPlan(graph, options.npu_limitation, pinned, &plan));
  // int32 biases follow the input and weight scales the refinement may have moved.
  if (options.int32_bias && options.quantize_bias) ONNXQ_RETURN_IF_ERROR(DecideBiasParams(graph, options, &plan));
  return Status::Ok();
}

// Where activation ranges come from: a calibration run over `reader` (random data when null) or a
// stored `table`. With `table_out` the pipeline stops after calibration and hands the table over.
struct RangeSource {
  CalibrationDataReader* reader = nullptr;
  const CalibrationTable* table = nullptr;
  CalibrationTable* table_out = nullptr;
};

// `tensors`: TensorsToCalibrate of the plan. With `check`, the runs for the output check are kept
// there: the first runs of calibration, or random ones for a table.
Result<std::map<std::string, TensorRange>> ObtainRanges(
    const InferenceBackend& backend, const onnx::ModelProto& model, const std::vector<std::string>& tensors,
    const RangeSource& source, const QuantizeOptions& options, QuantizeReport& rep, const ProgressCallback& progress,
    const MagnitudeRequest& magnitudes, const ChannelMeanRequest& means,
    std::map<std::string, std::vector<float>>* channel_means, OutputCheck* check) {
  const CalibrationSettings settings = CalibrationSettingsOf(options);
  if (source.table != nullptr) {
    if (!source.table->model_fingerprint.empty() && source.table->model_fingerprint != ModelFingerprint(model)) {
      return InvalidArgument(
          "the calibration table was computed on a different model, or with other graph passes (--include-cle, "
          "--replace-clip6-relu ...), than this quantization prepares: recalibrate with the same options");
    }
    ONNXQ_ASSIGN_OR_RETURN(TableRanges from_table, RangesFromTable(*source.table, tensors, settings));
    for (auto& w : from_table.warnings) rep.warnings.push_back(std::move(w));
    rep.calibration_samples = source.table->samples;
    *channel_means = source.table->channel_means;
    if (check != nullptr) {
      auto random = RandomCheckRuns(model, options);
      if (!random.ok()) {
        return Status(random.status().code(),
                      "output check on random data (a table holds none): " + random.status().message() +
                          " (extra option OutputCheckSamples=0 skips the check)");
      }
      *check = std::move(random).value();
    }
    return std::move(from_table.ranges);
  }
  CalibrationDataReader* reader = source.reader;
  std::unique_ptr<CalibrationDataReader> random_reader;
  if (reader == nullptr) {
    ONNXQ_ASSIGN_OR_RETURN(RandomData random, MakeRandomDataReader(model, options.random_data));
    random_reader = std::move(random.reader);
    reader = random_reader.get();
    rep.warnings.emplace_back(
        "no calibration data: calibrated on random data, so the accuracy of the result means nothing");
    for (auto& w : random.warnings) rep.warnings.push_back(std::move(w));
  }
  RunCapture capture;
  if (check != nullptr) {
    capture = CheckCapture(options.output_check, &check->reference);
    check->origin = random_reader != nullptr ? CheckData::kRandom : CheckData::kCalibration;
  }
  // The statistics are kept only for a table handed back (to be written); a quantization needs ranges.
  const TableContent content = source.table_out != nullptr ? TableContent::kRangesAndStatistics : TableContent::kRanges;
  ONNXQ_ASSIGN_OR_RETURN(CalibrationTable table, Calibrate(backend, model, tensors, *reader, settings, progress,
                                                           content, magnitudes, means, capture));
  rep.calibration_samples = table.samples;
  rep.calibration_skipped = reader->SkippedSamples();
  *channel_means = table.channel_means;
  std::map<std::string, TensorRange> ranges = table.ranges;
  if (source.table_out != nullptr) {
    table.model_fingerprint = ModelFingerprint(model);
    *source.table_out = std::move(table);
  }
  return ranges;
}

// The ONNX checker on the quantized model.
Status CheckQuantizedModel(const onnx::ModelProto& model) {
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    return Internal(std::string("the quantized model fails the ONNX checker: ") + e.what());
  }
  return Status::Ok();
}

// BiasCorrection reads the calibration data a second time, after materialization.
Status CorrectBiases(const InferenceBackend& backend, const onnx::ModelProto& float_model,
                     CalibrationDataReader* reader, const QuantizeOptions& options, QuantizeReport& rep,
                     onnx::ModelProto& model) {
  if (reader == nullptr) {
    rep.warnings.emplace_back("BiasCorrection skipped: it needs calibration data (random data or a table have none)");
    return Status::Ok();
  }
  if (Status s = reader->Rewind(); !s.ok()) {
    return Status(s.code(), "BiasCorrection reads the calibration data twice: " + s.message());
  }
  ONNXQ_ASSIGN_OR_RETURN(const PassReport corrected, CorrectBias(backend, float_model, model, *reader,
                                                                 {.max_samples = options.calibration.max_samples}));
  for (const auto& note : corrected.notes) rep.warnings.push_back("correct_bias: " + note);
  return Status::Ok();
}

// "9 not in --op-types-to-quantize, 3 op type If ..." for the nothing-to-quantize warning: the most
// common reasons nodes stayed float, most common first.
std::string CommonReasons(const QuantPlan& plan) {
  std::map<std::string, int64_t> counts;
  for (const auto& [index, reason] : plan.left_float) ++counts[reason];
  std::vector<std::pair<int64_t, std::string>> ranked;
  ranked.reserve(counts.size());
  for (const auto& [reason, count] : counts) ranked.emplace_back(-count, reason);
  std::sort(ranked.begin(), ranked.end());
  constexpr size_t kShown = 3;
  std::string text;
  for (size_t i = 0; i < ranked.size() && i < kShown; ++i) {
    text += (i > 0 ? ", " : "") + std::to_string(-ranked[i].first) + " " + ranked[i].second;
  }
  if (ranked.size() > kShown) text += ", ...";
  return text;
}

// The nodes left float, with their reasons, into the report.
void ReportLeftFloat(const onnx::ModelProto& model, const QuantPlan& plan, QuantizeReport& rep) {
  rep.nodes_total = model.graph().node_size();
  for (const auto& [index, reason] : plan.left_float) {
    const auto& node = model.graph().node(index);
    rep.left_float.push_back({NodeLabel(node, index), node.op_type(), reason});
  }
}

// No node to quantize (all op types filtered out, a graph held inside an If ...): the prepared float
// model is the result, with a warning, and nothing is calibrated. A table handed back stays empty.
Result<onnx::ModelProto> KeepFloat(onnx::ModelProto model, const QuantPlan& plan, const PrepareReport& prepared,
                                   const RangeSource& source, QuantizeReport& rep) {
  ReportLeftFloat(model, plan, rep);
  rep.warnings.push_back("nothing to quantize: " +
                         (plan.left_float.empty() ? std::string("the graph has no nodes")
                                                  : "every node stays float (" + CommonReasons(plan) + ")") +
                         "; the model is kept in float, as prepared");
  if (source.table_out != nullptr) {
    source.table_out->model_fingerprint = ModelFingerprint(model);
    return model;
  }
  ONNXQ_RETURN_IF_ERROR(RestoreFloat16Interface(prepared.float16_interface, model));
  return model;
}

// What the engine runs of `quantized` (evaluation/runnability.h), into `report`. An engine that cannot
// write its optimized graph leaves it out; one that refuses the model adds a warning (the output check,
// when it ran, has already proved that the model loads).
void ReportRunnability(const InferenceBackend& backend, const onnx::ModelProto& quantized, QuantizeReport& report) {
  auto runnability = InspectRunnability(backend, quantized);
  if (runnability.ok()) {
    report.runnability = std::move(runnability).value();
  } else if (runnability.status().code() != StatusCode::kUnsupported) {
    report.warnings.push_back("no runnability report: " + runnability.status().message());
  }
}

// What the calibration pass measured besides the ranges, which a second set of ranges reuses.
struct Measured {
  std::map<std::string, MagnitudeHistogram> magnitudes;
  std::map<std::string, size_t> magnitude_tensors;  // MagnitudeRequest::tensors
  std::map<std::string, std::vector<float>> channel_means;
  bool mean_bias = false;  // MeanBiasCorrection runs
};

// decide -> materialize -> check outputs, on the prepared float `model` with `ranges`, into `rep`.
// `check` holds the float reference (computed here when calibration kept only the inputs).
Result<onnx::ModelProto> QuantizeWithRanges(const InferenceBackend& backend, onnx::ModelProto model, QuantPlan plan,
                                            const std::map<std::string, TensorRange>& ranges, const Measured& measured,
                                            const RangeSource& source, const QuantizeOptions& options,
                                            const PrepareReport& prepared, OutputCheck& check, QuantizeReport& rep) {
  auto start = Clock::now();
  GraphView graph(model.mutable_graph());
  const std::map<std::string, std::string> float_tensors =
      FloatTensors(ranges, measured.magnitudes, measured.magnitude_tensors, options);
  for (const auto& [tensor, reason] : float_tensors) {
    rep.float_tensors.push_back({tensor, reason});
    rep.warnings.push_back("kept in float: " + reason);
  }
  ONNXQ_ASSIGN_OR_RETURN(auto decided, DecideParams(graph, ranges, options, &plan, float_tensors));
  for (auto& warning : decided) rep.warnings.push_back(std::move(warning));
  ReportLeftFloat(model, plan, rep);
  if (measured.mean_bias) {
    ONNXQ_ASSIGN_OR_RETURN(const int corrected, CorrectWeightErrorBias(graph, plan, measured.channel_means));
    rep.biases_corrected = corrected;
    // int8 biases have ranges of their own, from their values, which the correction changed.
    if (corrected > 0 && !options.int32_bias) ONNXQ_RETURN_IF_ERROR(DecideBiasParams(graph, options, &plan));
  }
  ONNXQ_RETURN_IF_ERROR(ApplyNpuRules(graph, options, plan, rep));
  if (rep.npu_refinement) {
    ONNXQ_RETURN_IF_ERROR(
        MeasureActivationAdjustments(backend, model, ranges, check.reference, plan, &*rep.npu_refinement));
  }
  rep.nodes_quantized = static_cast<int64_t>(plan.marks.size());
  rep.nodes_folded = static_cast<int64_t>(plan.removed_nodes.size());
  for (const auto& [name, q] : plan.tensors) {
    if (q.role == TensorRole::kActivation) ++rep.activations_quantized;
    if (q.role == TensorRole::kWeight) ++rep.weights_quantized;
  }
  // The output check's float outputs: kept by calibration, or computed now from the runs' inputs.
  if (!check.reference.runs.empty()) {
    check.producers = OutputProducers(model);
    if (!check.reference.with_outputs) {
      ONNXQ_ASSIGN_OR_RETURN(check.reference, RunFloatReference(backend, model, check.reference));
    }
  }
  std::optional<onnx::ModelProto> float_model;  // what bias correction compares with
  if (options.passes.bias_correction) float_model = model;
  // MaterializeQdq drops value_info; PadConvInputChannels sizes convolution inputs from the float shapes.
  const std::vector<onnx::ValueInfoProto> float_shapes(model.graph().value_info().begin(),
                                                       model.graph().value_info().end());
  ONNXQ_RETURN_IF_ERROR(MaterializeQdq(plan, &model, {.domain = prepared.qdq_domain}));
  if (HardSigmoidQuantizesAsAdd(options)) ExpressHardSigmoidAsAdd(model.mutable_graph());
  if (float_model) ONNXQ_RETURN_IF_ERROR(CorrectBiases(backend, *float_model, source.reader, options, rep, model));
  // After bias correction, which compares each layer's output with the float model's.
  if (FoldsOffsetsIntoBiases(options)) FoldOffsetsIntoBiases(model.mutable_graph());
  if (PadsConvInputChannels(options)) PadConvInputChannels(model.mutable_graph(), DefaultOpset(model), float_shapes);
  if (PadsDepthwiseChannels(options)) PadDepthwiseChannels(model.mutable_graph());
  ONNXQ_RETURN_IF_ERROR(CheckQuantizedModel(model));
  rep.seconds_quantize = SecondsSince(start);

  start = Clock::now();
  // On the float32 interface both models share; float16 inputs and outputs come back after.
  ONNXQ_RETURN_IF_ERROR(CheckOutputs(backend, check, model, options, rep));
  rep.seconds_check = SecondsSince(start);
  return model;
}

// The lowest SQNR over the checked outputs (+inf when none was checked).
double WorstOutputSqnr(const QuantizeReport& rep) {
  double worst = std::numeric_limits<double>::infinity();
  for (const OutputAccuracy& output : rep.outputs) worst = std::min(worst, output.sqnr_db);
  return worst;
}

// Whether RangeFallback runs after a first quantization reported in `rep`, given a float copy kept
// (which only the fallback's conditions on options and data keep): an output below the threshold.
bool WantsRangeFallback(const QuantizeOptions& options, const QuantizeReport& rep) {
  return !rep.outputs.empty() && WorstOutputSqnr(rep) < options.output_check.range_fallback_sqnr_db;
}

// Weight bytes of a model the pipeline may copy for RangeFallback: above, the copy's file would cost
// more time than calibration (the weights are written once more).
constexpr int64_t kMaxCopiedWeightBytes = int64_t{256} << 20;

int64_t InitializerBytes(const onnx::ModelProto& model) {
  int64_t bytes = 0;
  for (const auto& init : model.graph().initializer()) bytes += static_cast<int64_t>(init.ByteSizeLong());
  return bytes;
}

// The prepared float model as it was before its first quantization, for RangeFallback, with the plan and
// the report of that moment. Its weights stay in memory when they add at most a quarter to the
// process's peak so far (IS-Net: 176 MB against 1.4 GB of activations); otherwise, in a weight-heavy
// model whose peak they would raise by up to half, those of 64 KiB or more wait in a temporary file.
// (Not always in the file: the engine then reads IS-Net's hundreds of small tensors from it, and its
// second calibration peaked 700 MB higher.)
struct KeptFloat {
  onnx::ModelProto model;
  WeightsOnDisk weights;
  QuantPlan plan;
  QuantizeReport report;
};

constexpr int64_t kKeptOnDiskTensorBytes = int64_t{64} << 10;

int64_t PeakResidentBytes() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // KiB on Linux
}

Result<KeptFloat> KeepFloatCopy(onnx::ModelProto& model, const QuantPlan& plan, const QuantizeReport& report) {
  const bool in_memory = InitializerBytes(model) * 4 <= PeakResidentBytes();
  ONNXQ_ASSIGN_OR_RETURN(WeightsOnDisk weights,
                         WeightsOnDisk::Move(model, kKeptOnDiskTensorBytes, in_memory ? kNeverOnDisk : 0));
  KeptFloat kept{.model = model, .weights = std::move(weights), .plan = plan, .report = report};
  ONNXQ_RETURN_IF_ERROR(kept.weights.ReadBack(model));
  return kept;
}

// RangeFallback: Percentile ranges over the calibration data read again, the prepared `model` quantized
// with them and checked on the same samples. Returns the better model: `first` (reported in `rep`) or
// the fallback's (reported in `rep` from the kept report, the one before the first quantization); the
// comparison goes into rep.range_fallback. A fallback that fails (the reader cannot rewind ...) keeps
// `first`, with a warning.
Result<onnx::ModelProto> TryRangeFallback(const InferenceBackend& backend, onnx::ModelProto first, KeptFloat kept,
                                          const std::vector<std::string>& tensors, const Measured& measured,
                                          const RangeSource& source, const QuantizeOptions& options,
                                          const PrepareReport& prepared, OutputCheck& check, QuantizeReport& rep,
                                          const ProgressCallback& progress) {
  const auto start = Clock::now();
  QuantizeOptions fallback_options = options;
  fallback_options.calibration.method = CalibrationMethod::kPercentile;
  RangeFallbackReport fallback{.method = CalibrationMethodName(CalibrationMethod::kPercentile),
                               .minmax_sqnr_db = WorstOutputSqnr(rep)};
  const auto failed = [&](const Status& s) {
    rep.warnings.push_back("RangeFallback: no " + fallback.method + " ranges (" + s.message() + ")");
    return std::move(first);
  };
  if (Status s = source.reader->Rewind(); !s.ok()) return failed(s);
  // The engine reads the weights from their file, as in the first calibration.
  auto table = Calibrate(backend, kept.model, tensors, *source.reader, CalibrationSettingsOf(fallback_options),
                         progress, TableContent::kRanges);
  if (!table.ok()) return failed(table.status());
  if (Status s = kept.weights.Restore(kept.model); !s.ok()) return failed(s);
  QuantizeReport second = std::move(kept.report);
  auto quantized = QuantizeWithRanges(backend, std::move(kept.model), std::move(kept.plan), table->ranges, measured,
                                      source, fallback_options, prepared, check, second);
  if (!quantized.ok()) return failed(quantized.status());
  fallback.fallback_sqnr_db = WorstOutputSqnr(second);
  fallback.kept_fallback = fallback.fallback_sqnr_db > fallback.minmax_sqnr_db;
  fallback.seconds = SecondsSince(start);
  char compared[160];
  std::snprintf(compared, sizeof(compared),
                "the worst output measures %.2f dB with MinMax ranges, %.2f dB with %s ranges", fallback.minmax_sqnr_db,
                fallback.fallback_sqnr_db, fallback.method.c_str());
  if (!fallback.kept_fallback) {
    rep.warnings.push_back(std::string("RangeFallback: ") + compared + ": MinMax kept");
    rep.range_fallback = fallback;
    return first;
  }
  second.warnings.push_back(std::string("RangeFallback: ") + compared + ": " + fallback.method +
                            " kept (extra option RangeFallback=0 keeps MinMax)");
  second.range_fallback = fallback;
  rep = std::move(second);
  return quantized;
}

// load -> prepare -> calibrate (or read a table) -> decide -> materialize -> check outputs (and, when
// they are poor, RangeFallback) -> report what the engine runs, with every model run in sessions of
// `backend`.
Result<onnx::ModelProto> RunPipeline(const InferenceBackend& backend, onnx::ModelProto input, const RangeSource& source,
                                     const QuantizeOptions& options, QuantizeReport* report,
                                     const ProgressCallback& progress) {
  QuantizeReport local_report;
  QuantizeReport& rep = report != nullptr ? *report : local_report;
  ONNXQ_RETURN_IF_ERROR(CheckOptions(options));
  std::optional<std::shared_future<void>> loading;  // the engine loads while the graph passes run
  if (source.table == nullptr) loading = LoadInBackground(backend);

  auto start = Clock::now();
  ONNXQ_ASSIGN_OR_RETURN(PreparedQuantization ready, PrepareQuantization(std::move(input), options));
  for (const auto& note : ready.report.notes) rep.warnings.push_back(note);
  onnx::ModelProto& model = ready.model;
  const PrepareReport& prepared = ready.report;
  QuantPlan& plan = ready.plan;
  const std::vector<std::string>& tensors = ready.tensors;
  rep.seconds_prepare = SecondsSince(start);
  if (plan.marks.empty()) return KeepFloat(std::move(model), plan, prepared, source, rep);

  start = Clock::now();
  Measured measured;
  ChannelMeanRequest means_wanted;
  {
    GraphView graph(model.mutable_graph());
    // Tensors ahead of Log-like ops also get their magnitudes counted, to tell whether 8 bits hold them.
    measured.magnitude_tensors = TensorsAheadOfRelativeErrorOps(graph, tensors);
    // Layer inputs get their channel means measured too, for MeanBiasCorrection.
    measured.mean_bias = options.passes.mean_bias_correction && !options.passes.bias_correction;
    if (measured.mean_bias) means_wanted = MeanBiasInputs(graph, plan);
  }
  const MagnitudeRequest wanted{.tensors = measured.magnitude_tensors, .histograms = &measured.magnitudes};
  OutputCheck check;  // the runs the output check compares on
  const bool checked = source.table_out == nullptr && options.output_check.samples.value_or(1) > 0;
  // While only the runtime reads the weights, it alone holds them: they wait in a file meanwhile.
  ONNXQ_ASSIGN_OR_RETURN(WeightsOnDisk on_disk,
                         WeightsOnDisk::Move(model, kWeightOnDiskTensorBytes,
                                             source.table == nullptr ? kWeightsOnDiskBytes : kNeverOnDisk));
  auto obtained = ObtainRanges(backend, model, tensors, source, options, rep, progress, wanted, means_wanted,
                               &measured.channel_means, checked ? &check : nullptr);
  ONNXQ_RETURN_IF_ERROR(on_disk.Restore(model));
  if (!obtained.ok()) return obtained.status();
  const std::map<std::string, TensorRange> ranges = std::move(obtained).value();
  rep.seconds_calibrate = SecondsSince(start);
  if (source.table_out != nullptr) return model;

  // RangeFallback quantizes the prepared model a second time: a copy is kept while it may, its weights
  // in a temporary file.
  std::optional<KeptFloat> kept;
  if (checked && source.reader != nullptr && options.output_check.range_fallback &&
      options.calibration.method == CalibrationMethod::kMinMax && InitializerBytes(model) < kMaxCopiedWeightBytes) {
    auto copy = KeepFloatCopy(model, plan, rep);
    if (!copy.ok()) return copy.status();
    kept.emplace(std::move(copy).value());
  }
  ONNXQ_ASSIGN_OR_RETURN(onnx::ModelProto quantized,
                         QuantizeWithRanges(backend, std::move(model), std::move(plan), ranges, measured, source,
                                            options, prepared, check, rep));
  if (kept && WantsRangeFallback(options, rep)) {
    ONNXQ_ASSIGN_OR_RETURN(quantized, TryRangeFallback(backend, std::move(quantized), std::move(*kept), tensors,
                                                       measured, source, options, prepared, check, rep, progress));
  }
  kept.reset();
  start = Clock::now();
  ReportRunnability(backend, quantized, rep);
  rep.seconds_check += SecondsSince(start);
  if (!prepared.float16_interface.empty()) {
    ONNXQ_RETURN_IF_ERROR(RestoreFloat16Interface(prepared.float16_interface, quantized));
    ONNXQ_RETURN_IF_ERROR(CheckQuantizedModel(quantized));
  }
  return quantized;
}

}  // namespace

std::string ModelFingerprint(const onnx::ModelProto& model) {
  // FNV-1a, 64 bits, over the serialized graph (deterministic for one message within one build).
  const std::string bytes = model.graph().SerializeAsString();
  uint64_t hash = 14695981039346656037ULL;
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

Result<onnx::ModelProto> QuantizeModel(const onnx::ModelProto& model, CalibrationDataReader* reader,
                                       const QuantizeOptions& options, QuantizeReport* report,
                                       const ProgressCallback& progress) {
  return RunPipeline(OnnxRuntimeBackend(), model, {.reader = reader}, options, report, progress);
}

Result<onnx::ModelProto> QuantizeModel(onnx::ModelProto&& model, CalibrationDataReader* reader,
                                       const QuantizeOptions& options, QuantizeReport* report,
                                       const ProgressCallback& progress) {
  return RunPipeline(OnnxRuntimeBackend(), std::move(model), {.reader = reader}, options, report, progress);
}

Result<onnx::ModelProto> QuantizeModel(const onnx::ModelProto& model, const CalibrationTable& table,
                                       const QuantizeOptions& options, QuantizeReport* report) {
  return RunPipeline(OnnxRuntimeBackend(), model, {.table = &table}, options, report, {});
}

int64_t CalibrationBatchSize(const onnx::ModelProto& model, const CalibrationOptions& options) {
  return ChooseBatchSize(model, options);
}

Result<CalibrationTable> CalibrateModel(const onnx::ModelProto& model, CalibrationDataReader* reader,
                                        const QuantizeOptions& options, QuantizeReport* report,
                                        const ProgressCallback& progress) {
  CalibrationTable table;
  ONNXQ_RETURN_IF_ERROR(
      RunPipeline(OnnxRuntimeBackend(), model, {.reader = reader, .table_out = &table}, options, report, progress)
          .status());
  return table;
}

Result<QuantizeReport> QuantizeStatic(const std::filesystem::path& model_input,
                                      const std::filesystem::path& model_output, CalibrationDataReader* reader,
                                      const QuantizeOptions& options, const ProgressCallback& progress) {
  ModelFiles input_files;
  ONNXQ_ASSIGN_OR_RETURN(onnx::ModelProto model, LoadModel(model_input, &input_files));
  SaveOptions save = options.save;
  for (auto& input : AsInputs(input_files, "the input model")) save.inputs.push_back(std::move(input));
  ONNXQ_RETURN_IF_ERROR(CheckOutputPath(model_output, save.inputs));
  ONNXQ_RETURN_IF_ERROR(CheckFloatModel(model, "'" + model_input.string() + "'"));
  QuantizeReport report;
  // The pipeline takes the model over: no second copy of its weights.
  ONNXQ_ASSIGN_OR_RETURN(const onnx::ModelProto quantized,
                         QuantizeModel(std::move(model), reader, options, &report, progress));
  ONNXQ_RETURN_IF_ERROR(SaveModel(quantized, model_output, save));
  return report;
}

}  // namespace onnxq
