// onnxq: native post-training quantization of ONNX models.
#include <CLI/CLI.hpp>

#include <iostream>
#include <map>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"onnxq: post-training quantization of ONNX models (QDQ, power-of-two, cross-layer equalization)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "onnxq 0.1.0");
  std::map<std::string, onnxq::cli::Command> commands;
  commands["quantize"] = onnxq::cli::AddQuantizeCommand(app);
  commands["evaluate"] = onnxq::cli::AddEvaluateCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (auto& [name, command] : commands) {
    if (app.got_subcommand(name)) {
      try {
        return command();
      } catch (const std::exception& e) {
        std::cerr << "onnxq: error: unexpected failure: " << e.what() << "\n";
        return 3;
      }
    }
  }
  return 1;
}
