// The onnxq subcommands: each registers its options on the CLI11 app and returns the exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

#include "cli_common.h"
#include "onnxq/options.h"

namespace onnxq::cli {

using Command = std::function<int()>;

Command AddQuantizeCommand(CLI::App& app);
Command AddEvaluateCommand(CLI::App& app);
Command AddCalibrateCommand(CLI::App& app);
Command AddCalibMergeCommand(CLI::App& app);
Command AddOptimizeCommand(CLI::App& app);

// The options `quantize` and `calibrate` share (data, method, types, node selection, passes, extra
// options), registered on `cmd`; once parsed, build() makes the QuantizeOptions.
struct SharedQuantizeOptions {
  std::function<Result<QuantizeOptions>()> build;
  std::function<const DataArgs&()> data;
  std::function<bool()> quiet;
};
SharedQuantizeOptions AddSharedQuantizeOptions(CLI::App* cmd);

}  // namespace onnxq::cli
