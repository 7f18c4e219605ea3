#include "command_line.h"

#include <cstdio>
#include <sstream>
#include <string>
#include <string_view>

#include "onnxq/runtime_log.h"

namespace onnxq::cli {
namespace {

// "onnxq: onnxruntime warning: ..." on stderr, written at once so that lines from the runtime's threads
// do not interleave.
void PrintRuntimeLine(RuntimeLogSeverity severity, std::string_view line) {
  const char* kind = severity >= RuntimeLogSeverity::kError ? "error" : "warning";
  const std::string text = "onnxq: onnxruntime " + std::string(kind) + ": " + std::string(line) + "\n";
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace

CommandLine::CommandLine()
    : app_("onnxq: post-training quantization of ONNX models (QDQ, power-of-two, cross-layer equalization)") {
  app_.require_subcommand(1);
  app_.set_version_flag("--version", "onnxq 0.1.0");
  commands_["quantize"] = AddQuantizeCommand(app_);
  commands_["evaluate"] = AddEvaluateCommand(app_);
  commands_["calibrate"] = AddCalibrateCommand(app_);
  commands_["calib-merge"] = AddCalibMergeCommand(app_);
  commands_["optimize"] = AddOptimizeCommand(app_);
  commands_["inspect"] = AddInspectCommand(app_);
  commands_["dump"] = AddDumpCommand(app_);
  commands_["report"] = AddReportCommand(app_);
  // Anywhere on the command line: each subcommand hands the options it does not know to the app.
  app_.add_flag("-v,--verbose", verbose_, "Also print ONNX Runtime's warnings (one line each) on stderr");
  // Options from a file (TOML or INI), under the subcommand's section: for example
  //   [quantize]
  //   color = "gray"
  //   mean = [0.2860]
  // Options on the command line win over the file's.
  app_.set_config("--options-file", "",
                  "Read options from this TOML / INI file: a [quantize] (or [evaluate] ...) section with one "
                  "'name = value' per option, named as on the command line without the dashes (color = \"gray\", "
                  "mean = [0.485, 0.456, 0.406]); the command line wins over the file");
  app_.allow_config_extras(false);  // a name in the file that no option has is an error
  for (CLI::App* command : app_.get_subcommands([](const CLI::App*) { return true; })) {
    command->fallthrough();
    command->allow_config_extras(false);
  }
  // Set after the subcommands, which would otherwise inherit it.
  app_.footer(
      "Examples:\n"
      "  onnxq quantize model.onnx model_int8.onnx --calib-data calib.npy [--per-channel]\n"
      "  onnxq evaluate model.onnx model_int8.onnx --data eval.npy --labels labels.u8\n"
      "  onnxq evaluate model.onnx model_int8.onnx --data val_images/ --preprocess imagenet\n"
      "  onnxq calibrate model.onnx --calib-data calib.npy --calibrate-method Entropy -o table.json\n"
      "  onnxq quantize model.onnx model_int8.onnx --calib-table table.json\n"
      "  onnxq optimize model.onnx model_cle.onnx --passes fold_batch_norm,equalize_cross_layer\n"
      "  onnxq inspect model_int8.onnx\n"
      "  onnxq dump model_int8.onnx --data calib.npy --output-dir dump/ --dump-float\n"
      "  onnxq report model.onnx model_int8.onnx --data eval.npy --html report.html\n"
      "Run 'onnxq quantize --help' or 'onnxq evaluate --help' for every option.");
}

ParseOutcome CommandLine::Parse(int argc, const char* const* argv) {
  for (auto& [name, command] : commands_) command.reset();
  verbose_ = false;
  try {
    app_.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {  // --help, --version
      std::ostringstream text;
      return {.exit_code = app_.exit(e, text, text), .text = text.str()};
    }
    // One line, like every other error; --help lists the options.
    if (dynamic_cast<const CLI::ConfigError*>(&e) != nullptr) {
      return {.exit_code = e.get_exit_code(),
              .text = "onnxq: error: --options-file: " + std::string(e.what()) +
                      ": options go under the subcommand's [section], named as on the command line without the "
                      "dashes (see onnxq --help)"};
    }
    return {.exit_code = e.get_exit_code(), .text = "onnxq: error: " + std::string(e.what()) + " (see onnxq --help)"};
  }
  for (const auto& [name, command] : commands_) {
    if (!app_.got_subcommand(name)) continue;
    if (Status s = command.check(); !s.ok()) {
      return {.exit_code = ExitCodeOf(s), .text = "onnxq: error: " + s.message()};
    }
    return {.run = true};
  }
  return {.exit_code = 1, .text = "onnxq: error: no subcommand (see onnxq --help)"};
}

int CommandLine::Run() {
  SetRuntimeLogHandler(verbose_ ? PrintRuntimeLine : nullptr);
  for (auto& [name, command] : commands_) {
    if (app_.got_subcommand(name)) return command.run();
  }
  return 1;
}

}  // namespace onnxq::cli
