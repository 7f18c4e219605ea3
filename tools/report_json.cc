#include "report_json.h"

#include <cmath>

#include <map>
#include <string>

#include "algorithms/qparams.h"
#include "calibration/calibrator.h"
#include "cli_common.h"

namespace onnxq::cli {
namespace {

nlohmann::ordered_json PathsOrNull(const std::vector<std::string>& paths) {
  return paths.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(paths);
}

nlohmann::ordered_json TextOrNull(const std::string& text) {
  return text.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(text);
}

nlohmann::ordered_json NpuModeJson(NpuMode mode) {
  switch (mode) {
    case NpuMode::kCnn:
      return "cnn";
    case NpuMode::kTransformer:
      return "transformer";
    case NpuMode::kNone:
      break;
  }
  return nullptr;
}

nlohmann::ordered_json OptionsJson(const QuantizeOptions& o) {
  return {{"quant_format", o.quant_format == QuantFormat::kQDQ ? "QDQ" : "QOperator"},
          {"calibrate_method", CalibrationMethodName(o.calibration.method)},
          {"activation_type", std::string(QuantTypeName(o.activation_type))},
          {"weight_type", std::string(QuantTypeName(o.weight_type))},
          {"per_channel", o.per_channel},
          {"reduce_range", o.reduce_range},
          {"activation_symmetric", o.activation_symmetric},
          {"weight_symmetric", o.weight_symmetric},
          {"npu_mode", NpuModeJson(o.npu_mode)},
          {"nodes_to_exclude", o.nodes_to_exclude},
          {"op_types_to_quantize", o.op_types_to_quantize}};
}

nlohmann::ordered_json OutputCheckJson(const QuantizeReport& report, const OutputCheckOptions& options) {
  if (report.output_check_samples == 0) return nullptr;
  nlohmann::ordered_json outputs = nlohmann::ordered_json::array();
  for (const OutputAccuracy& o : report.outputs) {
    outputs.push_back({{"name", o.output},
                       {"sqnr_db", o.sqnr_db},  // +-inf: null
                       {"cosine", o.cosine},
                       {"values", o.values},
                       {"below_threshold", !o.warning.empty()}});
  }
  nlohmann::ordered_json fallback = nullptr;
  if (const auto& f = report.range_fallback) {
    fallback = {{"method", f->method},
                {"minmax_sqnr_db", f->minmax_sqnr_db},
                {"fallback_sqnr_db", f->fallback_sqnr_db},
                {"kept", f->kept_fallback ? f->method : "MinMax"},
                {"seconds", f->seconds}};
  }
  return {{"samples", report.output_check_samples},
          {"data", report.output_check_data == CheckData::kRandom ? "random" : "calibration"},
          {"sqnr_threshold_db", options.sqnr_threshold_db},
          {"outputs", std::move(outputs)},
          {"range_fallback", std::move(fallback)}};
}

// NPULimitationCheck: every moved position with its rule and its effect on the tensor's SQNR (null
// when not measured).
nlohmann::ordered_json NpuRefinementJson(const std::optional<NpuRefinementReport>& refinement) {
  if (!refinement) return nullptr;
  const auto db = [](double v) { return std::isnan(v) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(v); };
  const auto list = [&db](const std::vector<NpuAdjustment>& moves) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const NpuAdjustment& a : moves) {
      out.push_back({{"node", a.node},
                     {"tensor", a.tensor},
                     {"rule", a.rule},
                     {"old_pos", a.old_pos},
                     {"new_pos", a.new_pos},
                     {"loop", a.loop},
                     {"old_sqnr_db", db(a.old_sqnr_db)},
                     {"new_sqnr_db", db(a.new_sqnr_db)}});
    }
    return out;
  };
  return {{"loops", refinement->loops},
          {"converged", refinement->converged},
          {"adjustments", list(refinement->adjustments)},
          {"held", list(refinement->held)}};
}

nlohmann::ordered_json CountsJson(const std::map<std::string, int64_t>& counts) {
  nlohmann::ordered_json by_op = nlohmann::ordered_json::object();
  for (const auto& [op, count] : counts) by_op[op] = count;
  return {{"total", TotalCount(counts)}, {"by_op_type", std::move(by_op)}};
}

}  // namespace

nlohmann::ordered_json LatencyJson(const LatencyComparison& latency, int passes) {
  return {{"samples", latency.samples},
          {"passes", passes},
          {"float_ms", latency.float_seconds * 1e3},
          {"quantized_ms", latency.quantized_seconds * 1e3},
          {"ratio", latency.quantized_seconds / latency.float_seconds}};
}

nlohmann::ordered_json RunnabilityJson(const RunnabilityReport& report) {
  nlohmann::ordered_json float_nodes = nlohmann::ordered_json::array();
  for (const FloatBetweenQdq& n : report.float_nodes) float_nodes.push_back({{"node", n.node}, {"op_type", n.op_type}});
  return {{"optimized_nodes", report.nodes},
          {"integer_kernels", CountsJson(report.integer_kernels)},
          {"integer_data_movement", CountsJson(report.integer_data_movement)},
          {"float_between_qdq", CountsJson(report.float_between_qdq)},
          {"float_between_qdq_nodes", std::move(float_nodes)},
          {"quantize_dequantize", CountsJson(report.quantize_dequantize)},
          {"float_ops", CountsJson(report.float_ops)}};
}

nlohmann::ordered_json QuantizeReportJson(const QuantizeRun& run) {
  const QuantizeReport& r = *run.report;
  nlohmann::ordered_json left_float = nlohmann::ordered_json::array();
  for (const NodeDecision& d : r.left_float) {
    left_float.push_back({{"node", d.node}, {"op_type", d.op_type}, {"reason", d.reason}});
  }
  nlohmann::ordered_json float_tensors = nlohmann::ordered_json::array();
  for (const TensorDecision& t : r.float_tensors) float_tensors.push_back({{"tensor", t.tensor}, {"reason", t.reason}});
  return {{"command", "quantize"},
          {"input", run.input},
          {"output", run.output},
          {"calibration",
           {{"data", PathsOrNull(run.calib_data)},
            {"table", TextOrNull(run.calib_table)},
            {"samples", r.calibration_samples},
            {"skipped", r.calibration_skipped}}},
          {"options", OptionsJson(*run.options)},
          {"nodes",
           {{"total", r.nodes_total},
            {"quantized", r.nodes_quantized},
            {"folded", r.nodes_folded},
            {"left_float", static_cast<int64_t>(r.left_float.size())}}},
          {"activations_quantized", r.activations_quantized},
          {"weights_quantized", r.weights_quantized},
          {"biases_corrected", r.biases_corrected},
          {"left_float", std::move(left_float)},
          {"float_tensors", std::move(float_tensors)},
          {"output_check", OutputCheckJson(r, run.options->output_check)},
          {"npu_refinement", NpuRefinementJson(r.npu_refinement)},
          {"runnability", r.runnability ? RunnabilityJson(*r.runnability) : nlohmann::ordered_json(nullptr)},
          {"latency",
           run.latency != nullptr ? LatencyJson(*run.latency, run.benchmark_passes) : nlohmann::ordered_json(nullptr)},
          {"seconds",
           {{"total", run.seconds},
            {"prepare", r.seconds_prepare},
            {"calibrate", r.seconds_calibrate},
            {"quantize", r.seconds_quantize},
            {"check", r.seconds_check}}},
          {"bytes", {{"input", run.input_bytes}, {"output", run.output_bytes}}},
          {"warnings", r.warnings}};
}

nlohmann::ordered_json CalibrateReportJson(const CalibrateRun& run) {
  return {{"command", "calibrate"},
          {"input", run.input},
          {"output", run.output},
          {"calibration",
           {{"data", PathsOrNull(run.calib_data)},
            {"samples", run.table->samples},
            {"skipped", run.report->calibration_skipped}}},
          {"method", CalibrationMethodName(run.table->settings.calibration.method)},
          {"tensors", static_cast<int64_t>(run.table->ranges.size())},
          {"tensors_not_float", static_cast<int64_t>(run.table->non_float.size())},
          {"seconds", run.seconds},
          {"warnings", run.report->warnings}};
}

}  // namespace onnxq::cli
