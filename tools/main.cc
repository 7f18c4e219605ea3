// onnxq: native post-training quantization of ONNX models.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>

#include "commands.h"
#include "io/file_safety.h"

int main(int argc, char** argv) {
  CLI::App app{"onnxq: post-training quantization of ONNX models (QDQ, power-of-two, cross-layer equalization)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "onnxq 0.1.0");
  std::map<std::string, onnxq::cli::Command> commands;
  commands["quantize"] = onnxq::cli::AddQuantizeCommand(app);
  commands["evaluate"] = onnxq::cli::AddEvaluateCommand(app);
  commands["calibrate"] = onnxq::cli::AddCalibrateCommand(app);
  commands["calib-merge"] = onnxq::cli::AddCalibMergeCommand(app);
  commands["optimize"] = onnxq::cli::AddOptimizeCommand(app);
  // Set after the subcommands, which would otherwise inherit it.
  app.footer(
      "Examples:\n"
      "  onnxq quantize model.onnx model_int8.onnx --calib-data calib.npy [--per-channel]\n"
      "  onnxq evaluate model.onnx model_int8.onnx --data eval.npy --labels labels.u8\n"
      "  onnxq calibrate model.onnx --calib-data calib.npy --calibrate-method Entropy -o table.json\n"
      "  onnxq quantize model.onnx model_int8.onnx --calib-table table.json\n"
      "  onnxq optimize model.onnx model_cle.onnx --passes fold_batch_norm,equalize_cross_layer\n"
      "Run 'onnxq quantize --help' or 'onnxq evaluate --help' for every option.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // One line, like every other error; --help lists the options.
    std::cerr << "onnxq: error: " << e.what() << " (see onnxq --help)\n";
    return e.get_exit_code();
  }
  // A Ctrl-C or a kill leaves no temporary file or folder behind (only SIGKILL does).
  onnxq::RemoveTemporariesOnSignals();
  for (auto& [name, command] : commands) {
    if (app.got_subcommand(name)) {
      int rc = 3;
      try {
        rc = command();
      } catch (const std::exception& e) {
        std::cerr << "onnxq: error: unexpected failure: " << e.what() << "\n";
      }
      // Every file is written and closed by now. Ending without static destructors skips the teardown
      // of the ONNX schema registry and the runtime, which takes longer (about 15 ms) than the
      // quantization of a small model's last steps.
      std::cout.flush();
      std::cerr.flush();
      std::fflush(nullptr);
      std::_Exit(rc);
    }
  }
  return 1;
}
