#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "cli_common.h"
#include "commands.h"
#include "onnxq/model_io.h"
#include "onnxq/runnability.h"
#include "report_json.h"

namespace onnxq::cli {
namespace {

struct InspectArgs {
  std::string model;
  bool json = false;
};

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
                "float node between Q/DQ pairs");

  const auto check = [] { return Status(); };
  const auto run = [args]() -> int {
    auto model = LoadModel(args->model);
    if (!model.ok()) return Fail(model.status());
    auto report = InspectRunnability(*model);
    if (!report.ok()) return Fail(Status(report.status().code(), args->model + ": " + report.status().message()));
    if (args->json) {
      nlohmann::ordered_json json = {{"command", "inspect"}, {"model", args->model}};
      json["runnability"] = RunnabilityJson(*report);
      std::cout << json.dump(2) << "\n";
    } else {
      PrintReport(args->model, *report);
    }
    return 0;
  };
  return {check, run, [args] { *args = InspectArgs{}; }};
}

}  // namespace onnxq::cli
