// The fixture of the CLI tests (cli_*_test.cc): runs the onnxq binary as a user would, under `timeout`,
// with inputs made once per test executable and a fresh output folder per test.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "testing/test_support.h"

namespace onnxq {

namespace fs = std::filesystem;
using testing::DataDir;
using testing::Listing;
using testing::ModelPath;
using testing::ReadBytes;
using testing::TempDir;
using testing::WriteBytes;

struct CliRun {
  int exit_code = -1;  // the exit status, or 128 + signal when killed by one
  std::string out;
  std::string err;
  double seconds = 0;
};

// Runs `onnxq args...` under `timeout`, capturing stdout and stderr into files in `logs`, with the
// environment and `env` ("NAME=VALUE" entries, which take precedence).
CliRun RunCli(const std::vector<std::string>& args, const fs::path& logs, const std::vector<std::string>& env = {});

class CliTest : public ::testing::Test {
 protected:
  // The inputs every test reads, made once: text and truncated models, data that does not fit, a stateful
  // model and its data, .npz samples, a model of two outputs.
  static void SetUpTestSuite();
  static void TearDownTestSuite() {
    fs::remove_all(*inputs_);
    delete inputs_;
  }

  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    out_dir_ = TempDir(std::string("cli-out-") + info->name());
    logs_ = TempDir(std::string("cli-logs-") + info->name());
    work_ = TempDir(std::string("cli-work-") + info->name());
  }
  void TearDown() override {
    fs::remove_all(out_dir_);
    fs::remove_all(logs_);
    fs::remove_all(work_);
  }

  static fs::path Input(const std::string& name) { return *inputs_ / name; }
  static std::string Model() { return ModelPath("mbv2_fmnist_bn.onnx").string(); }
  static std::string Calib() { return (DataDir() / "calib_1000.npy").string(); }
  std::string Output() const { return (out_dir_ / "out.onnx").string(); }

  // The command must fail cleanly: a non-zero exit without a crash or a timeout, exactly one stderr line
  // "onnxq: error: ..." that contains every `mentions`, and nothing written to the output folder.
  void ExpectCleanFailure(const std::vector<std::string>& args, const std::vector<std::string>& mentions) const {
    const CliRun run = RunCli(args, logs_);
    EXPECT_NE(run.exit_code, 0);
    EXPECT_LT(run.exit_code, 124) << "crashed or timed out";  // 124: timeout; >= 128: a signal
    EXPECT_LT(run.seconds, 30.0);
    EXPECT_TRUE(run.err.starts_with("onnxq: error: ")) << run.err;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
    EXPECT_TRUE(run.err.ends_with("\n")) << run.err;
    for (const auto& m : mentions) EXPECT_NE(run.err.find(m), std::string::npos) << "'" << m << "' in: " << run.err;
    EXPECT_TRUE(Listing(out_dir_).empty()) << "left behind: " << ::testing::PrintToString(Listing(out_dir_));
  }

  // The command must be refused with exactly "onnxq: error: <message>" and exit code 1.
  void ExpectRefused(const std::vector<std::string>& args, const std::string& message) const {
    const CliRun run = RunCli(args, logs_);
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_EQ(run.err, "onnxq: error: " + message + "\n");
  }

  static fs::path* inputs_;
  fs::path out_dir_;
  fs::path logs_;
  fs::path work_;  // inputs a test aims an output at
};

}  // namespace onnxq
