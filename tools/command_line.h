// The onnxq command line: every subcommand on one CLI11 app, parsed and checked apart from running, so
// that a bad command line is refused before any file is read (and so that the parser can be tested
// on its own).
#pragma once

#include <CLI/CLI.hpp>

#include <map>
#include <string>

#include "commands.h"

namespace onnxq::cli {

// What the command line asks for.
struct ParseOutcome {
  bool run = false;   // a subcommand whose options check out: CommandLine::Run does its work
  int exit_code = 0;  // otherwise the process ends with this code ...
  std::string text;   // ... after printing this: --help or --version text on stdout when exit_code is 0,
                      // else one "onnxq: error: ..." line on stderr
};

class CommandLine {
 public:
  CommandLine();
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  // Parses argv (argv[0] is the program) and checks the chosen subcommand's options (Command::check).
  // Prints nothing and touches no file. Each parse starts from the defaults: a CommandLine parses as
  // many command lines as asked, one after the other, each as a fresh one would.
  ParseOutcome Parse(int argc, const char* const* argv);

  // Runs the subcommand last parsed: its exit code.
  int Run();

 private:
  CLI::App app_;
  std::map<std::string, Command> commands_;
  bool verbose_ = false;
};

}  // namespace onnxq::cli
