// The command line parsed and checked without running anything (CommandLine::Parse): help and version,
// errors as one line with an exit code, and parses one after the other on one CommandLine, each as a
// fresh one would (as the parse_command_line_fuzzer parses).
#include "command_line.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace onnxq::cli {
namespace {

ParseOutcome Parse(CommandLine& command_line, std::vector<const char*> args) {
  args.insert(args.begin(), "onnxq");
  return command_line.Parse(static_cast<int>(args.size()), args.data());
}

ParseOutcome Parse(std::vector<const char*> args) {
  CommandLine command_line;
  return Parse(command_line, std::move(args));
}

TEST(CommandLineTest, HelpAndVersionAreTextWithExitCodeZero) {
  const ParseOutcome help = Parse({"quantize", "--help"});
  EXPECT_FALSE(help.run);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.text.find("--calib-data"), std::string::npos) << help.text;
  const ParseOutcome version = Parse({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.text, "onnxq 0.1.0\n");
}

TEST(CommandLineTest, ValidCommandLinesRunWithoutTouchingFiles) {
  for (const auto& args : std::vector<std::vector<const char*>>{
           {"quantize", "absent.onnx", "out.onnx", "--calib-data", "absent.npy", "--per-channel"},
           {"calibrate", "absent.onnx", "-o", "t.json", "--calibrate-method", "Entropy", "--extra-option",
            "NumBins=512,NumQuantizedBins=128"},
           {"calib-merge", "a.json", "b.json", "-o", "m.json"},
           {"optimize", "absent.onnx", "out.onnx", "--passes", "fold_batch_norm,equalize_cross_layer"},
           {"evaluate", "absent.onnx", "--data", "d.npy", "--labels", "l.u8", "--input-shape", "x:1,3"}}) {
    const ParseOutcome parsed = Parse(args);
    EXPECT_TRUE(parsed.run) << args[0] << ": " << parsed.text;
  }
}

TEST(CommandLineTest, BadOptionsAreOneErrorLine) {
  const ParseOutcome extra = Parse({"quantize", "m.onnx", "q.onnx", "--extra-option", "NoSuchKey=1"});
  EXPECT_FALSE(extra.run);
  EXPECT_EQ(extra.exit_code, 1);
  EXPECT_EQ(extra.text.rfind("onnxq: error: ", 0), 0U) << extra.text;
  EXPECT_NE(extra.text.find("NoSuchKey"), std::string::npos) << extra.text;
  EXPECT_EQ(extra.text.find('\n'), std::string::npos) << extra.text;
  const ParseOutcome pass = Parse({"optimize", "m.onnx", "o.onnx", "--passes", "no_such_pass"});
  EXPECT_EQ(pass.exit_code, 1);
  EXPECT_NE(pass.text.find("no_such_pass"), std::string::npos) << pass.text;
  const ParseOutcome shape = Parse({"evaluate", "m.onnx", "--data", "d", "--labels", "l", "--input-shape", "x:1,a"});
  EXPECT_EQ(shape.exit_code, 1);
  const ParseOutcome missing = Parse({"quantize", "m.onnx"});  // CLI11's own error
  EXPECT_FALSE(missing.run);
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.text.find("(see onnxq --help)"), std::string::npos) << missing.text;
}

TEST(CommandLineTest, EachParseStartsFromTheDefaults) {
  CommandLine command_line;
  EXPECT_FALSE(Parse(command_line, {"quantize", "m.onnx", "q.onnx", "--calibrate-method", "Bogus"}).run);
  EXPECT_TRUE(Parse(command_line, {"quantize", "m.onnx", "q.onnx"}).run);
  EXPECT_FALSE(Parse(command_line, {"calibrate", "m.onnx", "-o", "t.json", "--extra-option", "NumBins=x"}).run);
  EXPECT_TRUE(Parse(command_line, {"calibrate", "m.onnx", "-o", "t.json"}).run);
  EXPECT_FALSE(Parse(command_line, {"optimize", "m.onnx", "o.onnx", "--passes", "no_such_pass"}).run);
  EXPECT_FALSE(Parse(command_line, {"optimize", "m.onnx", "o.onnx"}).run);  // --passes is needed again
  EXPECT_EQ(Parse(command_line, {"--help"}).exit_code, 0);
  EXPECT_TRUE(Parse(command_line, {"calib-merge", "a.json", "-o", "m.json"}).run);
}

}  // namespace
}  // namespace onnxq::cli
