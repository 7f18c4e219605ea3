// The onnxq subcommands: each registers its options on the CLI11 app and returns the exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace onnxq::cli {

using Command = std::function<int()>;

Command AddQuantizeCommand(CLI::App& app);
Command AddEvaluateCommand(CLI::App& app);

}  // namespace onnxq::cli
