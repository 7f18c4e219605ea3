// onnxq: native post-training quantization of ONNX models.
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "command_line.h"
#include "io/file_safety.h"

int main(int argc, char** argv) {
  onnxq::cli::CommandLine command_line;
  const onnxq::cli::ParseOutcome parsed = command_line.Parse(argc, argv);
  if (!parsed.run) {
    (parsed.exit_code == 0 ? std::cout : std::cerr) << parsed.text << (parsed.exit_code == 0 ? "" : "\n");
    return parsed.exit_code;
  }
  // A Ctrl-C or a kill leaves no temporary file or folder behind (only SIGKILL does).
  onnxq::RemoveTemporariesOnSignals();
  int rc = 3;
  try {
    rc = command_line.Run();
  } catch (const std::exception& e) {
    std::cerr << "onnxq: error: unexpected failure: " << e.what() << "\n";
  }
  // Every file is written and closed by now. Ending without static destructors skips the teardown of the
  // ONNX schema registry and the runtime, which takes longer (about 15 ms) than the quantization of a
  // small model's last steps.
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  std::_Exit(rc);
}
