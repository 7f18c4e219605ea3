// The onnxq subcommands: each registers its options on the CLI11 app and returns how to check them
// and how to run.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "cli_common.h"
#include "onnxq/layer_report.h"
#include "onnxq/options.h"

namespace onnxq::cli {

// A registered subcommand. Once the command line is parsed, `check` turns its options into the typed
// options the library takes and checks them (formats, types, methods, extra options, shapes) without
// reading or writing a file; `run` does the work and returns the exit code; `reset` sets every option
// back to its default, for another parse.
struct Command {
  std::function<Status()> check;
  std::function<int()> run;
  std::function<void()> reset;
};

Command AddQuantizeCommand(CLI::App& app);
Command AddEvaluateCommand(CLI::App& app);
Command AddCalibrateCommand(CLI::App& app);
Command AddCalibMergeCommand(CLI::App& app);
Command AddOptimizeCommand(CLI::App& app);
Command AddInspectCommand(CLI::App& app);
Command AddDumpCommand(CLI::App& app);
Command AddReportCommand(CLI::App& app);

// The layer report of `report` and `quantize --report`: CompareLayers on the first
// options.max_samples samples of `data` (batch 1), or on as many drawn as `random` says when `data`
// names none; a progress bar unless `quiet`. The float model is compared as the quantizer prepares it
// with `passes` (the graph passes of PreparePassIds: batch norms folded, and CLE where asked), so that
// a folded or equalized weight meets the float weight it was quantized from; where the passes fail,
// as it is, with a note on stderr.
Result<LayerReport> RunLayerReport(const onnx::ModelProto& float_model, const onnx::ModelProto& quantized,
                                   const DataArgs& data, const RandomDataOptions& random, const PassOptions& passes,
                                   const LayerReportOptions& options, bool quiet);
// What the report says the samples are: the data entries, or random data in its range.
std::string DescribeData(const DataArgs& data, const RandomDataOptions& random);

// The options `quantize` and `calibrate` share (data, method, types, node selection, passes, extra
// options), registered on `cmd`; once parsed, build() makes the QuantizeOptions.
struct SharedQuantizeOptions {
  std::function<Result<QuantizeOptions>()> build;
  std::function<const DataArgs&()> data;
  std::function<bool()> quiet;
  std::function<void()> reset;  // to the defaults
};
SharedQuantizeOptions AddSharedQuantizeOptions(CLI::App* cmd);

}  // namespace onnxq::cli
