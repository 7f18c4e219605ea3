#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "cli_common.h"
#include "commands.h"
#include "onnxq/latency.h"
#include "onnxq/model_io.h"
#include "onnxq/runnability.h"
#include "report_json.h"

namespace onnxq::cli {
namespace {

struct InspectArgs {
  std::string model;
  bool json = false;
  bool quiet = false;
  bool benchmark = false;
  std::string float_model;
  DataArgs data;
  int64_t samples = 16;
  int repeats = 5;
};

// --benchmark: the float model (--float-model) against the inspected one on the same samples.
Result<LatencyComparison> Benchmark(const InspectArgs& args, const onnx::ModelProto& quantized) {
  ONNXQ_ASSIGN_OR_RETURN(const onnx::ModelProto float_model, LoadModel(args.float_model));
  ONNXQ_ASSIGN_OR_RETURN(auto reader, OpenBenchmarkData(args.data, float_model, args.samples));
  return CompareLatency(float_model, quantized, *reader, {.repeats = args.repeats});
}

// "QLinearConv 34, QLinearAdd 8": the op types of one class, most frequent first.
std::string ByOpType(const std::map<std::string, int64_t>& counts) {
  std::multimap<int64_t, std::string, std::greater<>> ordered;
  for (const auto& [op, count] : counts) ordered.emplace(count, op);
  std::string text;
  for (const auto& [count, op] : ordered) text += (text.empty() ? "" : ", ") + op + " " + std::to_string(count);
  return text;
}

void PrintClass(const std::string& title, const std::map<std::string, int64_t>& counts) {
  std::cout << "  " << std::left << std::setw(24) << title << std::right << std::setw(5) << TotalCount(counts);
  if (!counts.empty()) std::cout << "  " << ByOpType(counts);
  std::cout << "\n";
}

void PrintReport(const std::string& path, const RunnabilityReport& report) {
  std::cout << "onnxq inspect: " << path << " as ONNX Runtime's CPU provider runs it (" << report.nodes
            << " nodes after its graph optimizations)\n";
  std::cout << "  " << RunnabilitySummary(report) << "\n";
  PrintClass("integer kernels", report.integer_kernels);
  PrintClass("integer data movement", report.integer_data_movement);
  PrintClass("float between Q/DQ", report.float_between_qdq);
  PrintClass("quantize / dequantize", report.quantize_dequantize);
  PrintClass("other float ops", report.float_ops);
  if (report.float_nodes.empty()) return;
  std::cout << "  float between Q/DQ (each dequantizes its input or requantizes its output):\n";
  for (const FloatBetweenQdq& node : report.float_nodes) {
    std::cout << "    " << node.node << " (" << node.op_type << ")\n";
  }
}

}  // namespace

Command AddInspectCommand(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand(
      "inspect",
      "What ONNX Runtime's CPU provider runs of a QDQ model (from any tool): the node groups it fuses into integer "
      "kernels and the float ops left between Q/DQ pairs, read from the graph the runtime itself optimizes");
  cmd->add_option("model", args->model, "ONNX model to inspect (a QDQ model, or a float one: then all float)")
      ->required();
  cmd->add_flag("--json", args->json,
                "Print one JSON object on stdout instead of the report: counts by class and op type, and every "
                "float node between Q/DQ pairs (and with --benchmark, the latencies)");
  cmd->add_flag("-q,--quiet", args->quiet,
                "Print nothing but errors (the exit status says whether ONNX Runtime takes the model)");
  cmd->add_flag("--benchmark", args->benchmark,
                "Also measure the latency per sample of the float model (--float-model) and of this one in ONNX "
                "Runtime's CPU provider (all cores, batch 1): one untimed pass each, then --repeats passes over the "
                "samples, float and quantized in turn; the median pass")
      ->needs(cmd->add_option("--float-model", args->float_model, "The float model MODEL was quantized from")
                  ->check(CLI::ExistingFile));
  cmd->add_option("--data", args->data.data,
                  "Samples for --benchmark, as --calib-data of quantize takes them (default: random data in [0, 1))");
  cmd->add_option("--input-shape", args->data.input_shapes, "NAME:1,3,224,224 for raw data files and random data");
  cmd->add_option("--max-samples", args->samples, "Samples --benchmark runs on (default 16)")
      ->check(CLI::Range(int64_t{1}, std::numeric_limits<int64_t>::max()));
  cmd->add_option("--repeats", args->repeats, "Timed passes per model for --benchmark (default 5)")
      ->check(CLI::Range(1, 1000));

  const auto check = [args]() -> Status {
    if (!args->benchmark && !args->data.data.empty()) return InvalidArgument("--data is for --benchmark");
    return ParseInputShapes(args->data.input_shapes).status();
  };
  const auto run = [args]() -> int {
    auto model = LoadModel(args->model);
    if (!model.ok()) return Fail(model.status());
    auto report = InspectRunnability(*model);
    if (!report.ok()) return Fail(Status(report.status().code(), args->model + ": " + report.status().message()));
    std::optional<LatencyComparison> latency;
    if (args->benchmark) {
      auto measured = Benchmark(*args, *model);
      if (!measured.ok()) return Fail(measured.status());
      latency = *measured;
    }
    if (args->json) {
      nlohmann::ordered_json json = {{"command", "inspect"}, {"model", args->model}};
      json["runnability"] = RunnabilityJson(*report);
      json["latency"] = latency ? LatencyJson(*latency, args->repeats) : nlohmann::ordered_json(nullptr);
      std::cout << json.dump(2) << "\n";
    } else if (!args->quiet) {
      PrintReport(args->model, *report);
      if (latency) PrintLatency(*latency, args->repeats);
    }
    return 0;
  };
  return {check, run, [args] { *args = InspectArgs{}; }};
}

}  // namespace onnxq::cli
