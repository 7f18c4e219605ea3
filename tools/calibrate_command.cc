// onnxq calibrate: run calibration alone and write the calibration table; onnxq calib-merge: merge
// tables computed on disjoint shards of the data.
#include <chrono>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "calibration/collect_statistics.h"
#include "cli_common.h"
#include "commands.h"
#include "io/file_safety.h"
#include "onnxq/calibrate.h"
#include "onnxq/optimize.h"
#include "pipeline/check_model.h"
#include "report_json.h"

namespace onnxq::cli {
namespace {

struct CalibrateArgs {
  std::string model;
  std::string output;
  bool json = false;
};

void PrintTableSummary(const std::string& title, const CalibrationTable& table, double seconds) {
  std::cout << title << "\n";
  std::cout << "  method            " << CalibrationMethodName(table.settings.calibration.method) << "\n";
  std::cout << "  tensors           " << table.ranges.size() << " (" << table.non_float.size() << " not float)\n";
  std::cout << "  samples           " << table.samples << "\n";
  std::cout << std::fixed << std::setprecision(2) << "  time              " << seconds << " s\n";
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Command AddCalibrateCommand(CLI::App& app) {
  auto args = std::make_shared<CalibrateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "calibrate", "Calibrate a float ONNX model and write the calibration table (reuse: quantize --calib-table)");
  cmd->add_option("model", args->model, "Float ONNX model to calibrate")->required();
  cmd->add_option("-o,--output", args->output, "Calibration table to write (JSON)")->required();
  const SharedQuantizeOptions shared = AddSharedQuantizeOptions(cmd);
  cmd->add_flag("--json", args->json,
                "Print one JSON object on stdout instead of the summary: paths, method, tensor and sample counts, "
                "time, warnings");

  const auto check = [shared] { return shared.build().status(); };
  const auto run = [args, shared]() -> int {
    const auto start = std::chrono::steady_clock::now();
    auto options = shared.build();
    if (!options.ok()) return Fail(options.status());
    const InferenceEnginePreload engine;  // loads while the model is read and prepared
    ModelFiles model_files;
    auto model = LoadModel(args->model, &model_files);
    if (!model.ok()) return Fail(model.status());
    std::vector<InputFile> inputs = AsInputs(model_files, "the input model");
    for (auto& data : DataInputs(shared.data())) inputs.push_back(std::move(data));
    if (Status s = CheckOutputPath(args->output, inputs); !s.ok()) return Fail(s);
    if (Status s = CheckFloatModel(*model, "'" + args->model + "'"); !s.ok()) return Fail(s);
    std::unique_ptr<CalibrationDataReader> reader;
    if (!shared.data().data.empty()) {
      auto opened =
          OpenData(shared.data(), InputsAsFed(*model, options->passes), ChooseBatchSize(*model, options->calibration));
      if (!opened.ok()) return Fail(opened.status());
      reader = std::move(opened).value();
    }
    QuantizeReport report;
    auto table = CalibrateModel(*model, reader.get(), *options, &report,
                                shared.quiet() ? ProgressCallback{} : MakeProgressBar());
    PrintDataWarnings(reader.get());
    if (!table.ok()) return Fail(table.status());
    if (Status s = SaveCalibrationTable(*table, args->output, inputs); !s.ok()) return Fail(s);
    if (args->json) {
      std::cout << CalibrateReportJson({.input = args->model,
                                        .output = args->output,
                                        .calib_data = shared.data().data,
                                        .table = &*table,
                                        .report = &report,
                                        .seconds = SecondsSince(start)})
                       .dump(2)
                << "\n";
    } else if (!shared.quiet()) {
      PrintTableSummary("onnxq calibrate: " + args->model + " -> " + args->output, *table, SecondsSince(start));
      if (report.calibration_skipped > 0) {
        std::cout << "  skipped           " << SkippedImagesText(report.calibration_skipped) << "\n";
      }
      for (const auto& w : report.warnings) std::cout << "  note: " << w << "\n";
    }
    return 0;
  };
  const auto reset = [args, shared] {
    *args = CalibrateArgs{};
    shared.reset();
  };
  return {check, run, reset};
}

Command AddCalibMergeCommand(CLI::App& app) {
  struct MergeArgs {
    std::vector<std::string> inputs;
    std::string output;
    bool quiet = false;
    bool json = false;
  };
  auto args = std::make_shared<MergeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "calib-merge", "Merge calibration tables computed on disjoint shards of the data (same method and settings)");
  cmd->add_option("tables", args->inputs, "Calibration tables to merge")->required();
  cmd->add_option("-o,--output", args->output, "Merged table to write")->required();
  cmd->add_flag("-q,--quiet", args->quiet, "Print nothing but errors");
  cmd->add_flag("--json", args->json, "Print one JSON object on stdout instead of the summary");

  const auto run = [args]() -> int {
    const auto start = std::chrono::steady_clock::now();
    std::vector<InputFile> inputs;
    for (const auto& path : args->inputs) inputs.push_back({path, "the calibration table"});
    if (Status s = CheckOutputPath(args->output, inputs); !s.ok()) return Fail(s);
    std::vector<CalibrationTable> tables;
    for (const auto& path : args->inputs) {
      auto table = LoadCalibrationTable(path);
      if (!table.ok()) return Fail(table.status());
      tables.push_back(std::move(table).value());
    }
    auto merged = MergeCalibrationTables(tables);
    if (!merged.ok()) return Fail(merged.status());
    if (Status s = SaveCalibrationTable(*merged, args->output, inputs); !s.ok()) return Fail(s);
    if (args->json) {
      nlohmann::ordered_json json = {{"command", "calib-merge"},
                                     {"inputs", args->inputs},
                                     {"output", args->output},
                                     {"samples", merged->samples},
                                     {"tensors", static_cast<int64_t>(merged->ranges.size())},
                                     {"seconds", SecondsSince(start)}};
      std::cout << json.dump(2) << "\n";
    } else if (!args->quiet) {
      PrintTableSummary("onnxq calib-merge: " + std::to_string(tables.size()) + " tables -> " + args->output, *merged,
                        SecondsSince(start));
    }
    return 0;
  };
  return {[] { return Status::Ok(); }, run, [args] { *args = MergeArgs{}; }};
}

}  // namespace onnxq::cli
