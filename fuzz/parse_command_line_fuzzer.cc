// Bytes -> the onnxq command line, split into arguments at newlines: CommandLine::Parse, which parses
// with CLI11 and checks the chosen subcommand's options (formats, types, methods, --extra-option
// KEY=VALUE through ApplyExtraOptions, --input-shape, random data ranges, pass ids) without running it.
// The first line is the subcommand; "onnxq" is prepended as argv[0].
#include <string>
#include <vector>

#include "command_line.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args = {"onnxq"};
  const std::string_view text = onnxq::fuzz::AsText(data, size);
  for (size_t begin = 0; begin <= text.size();) {
    const size_t end = std::min(text.find('\n', begin), text.size());
    args.emplace_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  static onnxq::cli::CommandLine command_line;  // each parse starts from the defaults
  (void)command_line.Parse(static_cast<int>(argv.size()), argv.data());
  return 0;
}
