// Bad input to the onnxq command line: one error line naming the culprit, a non-zero exit without a
// crash, quickly, and nothing written; --help says what it takes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "onnxq/data_reader.h"
#include "onnxq/model_io.h"
#include "testing/npz_writer.h"
#include "testing/test_support.h"

#include "cli_fixture.h"

namespace onnxq {
namespace {

TEST_F(CliTest, MissingModel) {
  const std::string model = Input("missing.onnx").string();
  ExpectCleanFailure({"quantize", model, Output(), "--calib-data", Calib()}, {"'" + model + "'"});
}

TEST_F(CliTest, ModelIsADirectory) {
  ExpectCleanFailure({"quantize", inputs_->string(), Output(), "--calib-data", Calib()},
                     {"'" + inputs_->string() + "'"});
}

TEST_F(CliTest, NonOnnxModel) {
  const std::string model = Input("notes.onnx").string();
  ExpectCleanFailure({"quantize", model, Output(), "--calib-data", Calib()}, {"'" + model + "'", "not a valid ONNX"});
}

TEST_F(CliTest, TruncatedModel) {
  const std::string model = Input("truncated.onnx").string();
  ExpectCleanFailure({"quantize", model, Output(), "--calib-data", Calib()}, {"'" + model + "'"});
}

TEST_F(CliTest, UnreadableModel) {
  if (::geteuid() == 0) GTEST_SKIP() << "file permissions do not bind root";
  const std::string model = Input("locked.onnx").string();
  ExpectCleanFailure({"quantize", model, Output(), "--calib-data", Calib()}, {"'" + model + "'"});
}

TEST_F(CliTest, CalibrationShapeDoesNotFitTheModel) {
  ExpectCleanFailure({"quantize", Model(), Output(), "--calib-data", Input("small_images.npy").string()},
                     {"'input'", "samples of shape [1,14,14]", "[1,1,28,28]"});
}

TEST_F(CliTest, CalibrationDtypeDoesNotFitTheModel) {
  ExpectCleanFailure({"quantize", Model(), Output(), "--calib-data", Input("int64.npy").string()},
                     {"'input'", "int64", "float32"});
}

TEST_F(CliTest, NanInCalibrationData) {
  ExpectCleanFailure({"quantize", Model(), Output(), "--calib-data", Input("nan.npy").string()},
                     {"'input'", "NaN", "sample 2"});
}

TEST_F(CliTest, InfInCalibrationData) {
  ExpectCleanFailure({"quantize", Model(), Output(), "--calib-data", Input("inf.npy").string()},
                     {"'input'", "Inf", "sample 3"});
}

TEST_F(CliTest, MissingCalibrationData) {
  const std::string data = Input("missing.npy").string();
  ExpectCleanFailure({"quantize", Model(), Output(), "--calib-data", data}, {"'" + data + "'"});
}

TEST_F(CliTest, RawCalibrationDataOfTheWrongSize) {
  const std::string data = Input("images.raw").string();
  ExpectCleanFailure({"quantize", Model(), Output(), "--calib-data", data}, {"'" + data + "'", "--input-shape"});
}

TEST_F(CliTest, CalibrationFileOfTheWrongRank) {
  const fs::path data = *inputs_ / "stateful";
  const std::string bad = Input("sr_6x1.npy").string();
  ExpectCleanFailure({"quantize", Input("stateful.onnx").string(), Output(), "--calib-data",
                      "X=" + (data / "X.npy").string(), "sr=" + bad, "S=" + (data / "S.npy").string()},
                     {"'" + bad + "'", "input 'sr'", "has 2 axes but the model input has 0", "one axis, [N]"});
}

TEST_F(CliTest, StateOfTheWrongShape) {
  // Fed whole, every axis of a sample must fit: [2,1,4] is not [2,N,3].
  const fs::path data = *inputs_ / "stateful";
  ExpectCleanFailure(
      {"quantize", Input("stateful.onnx").string(), Output(), "--calib-data", "X=" + (data / "X.npy").string(),
       "sr=" + (data / "sr.npy").string(), "S=" + Input("S_2x1x4.npy").string()},
      {"input 'S'", "has shape [2,1,4]", "fed whole", "expects [2,N,3]"});
}

TEST_F(CliTest, NpzThatDoesNotFitTheModel) {
  const std::string model = Input("stateful.onnx").string();
  const std::string no_sr = Input("no_sr.npz").string();
  ExpectCleanFailure({"quantize", model, Output(), "--calib-data", no_sr},
                     {"'" + no_sr + "'", "no member 'sr.npy' for model input 'sr'"});
  const std::string int32 = Input("sr_int32.npz").string();
  ExpectCleanFailure({"calibrate", model, "-o", Output(), "--calib-data", int32},
                     {"'" + int32 + "'", "member 'sr.npy' is int32 but model input 'sr' takes int64"});
  const std::string corrupt = Input("corrupt.npz").string();
  ExpectCleanFailure({"quantize", model, Output(), "--calib-data", (*inputs_ / "stateful_npz").string(), corrupt},
                     {"'" + corrupt + "'", "not a readable zip archive"});
  const std::string npy = (*inputs_ / "stateful" / "X.npy").string();
  ExpectCleanFailure({"quantize", model, Output(), "--calib-data", (*inputs_ / "stateful_npz").string(), npy},
                     {"'" + npy + "'", "is not .npz samples"});
}

TEST_F(CliTest, LabelsThatAreNotOneClassIndexPerSampleAreRefused) {
  const std::string model = ModelPath("mbv2_fmnist.onnx").string();
  const std::string data = (DataDir() / "eval_10000.npy").string();
  const auto dir = testing::TempDir("cli_labels");
  // One-hot rows [12, 10] are not labels.
  const std::vector<int64_t> one_hot(120, 0);
  ASSERT_TRUE(WriteNpy(dir / "one_hot.npy", testing::Int64Tensor("labels", {12, 10}, one_hot)).ok());
  ExpectCleanFailure(
      {"evaluate", model, "--data", data, "--labels", (dir / "one_hot.npy").string(), "--max-samples", "12"},
      {"one_hot.npy' has shape [12, 10]", "[N] or [N, 1]"});
  // A class the model does not have.
  std::vector<int64_t> labels(12, 3);
  labels[7] = 42;
  ASSERT_TRUE(WriteNpy(dir / "far.npy", testing::Int64Tensor("labels", {12, 1}, labels)).ok());
  ExpectCleanFailure({"evaluate", model, "--data", data, "--labels", (dir / "far.npy").string(), "--max-samples", "12"},
                     {"label 42 of sample 7 is not one of the model's 10 classes"});
  // [N, 1] of valid classes is taken; fewer labels than samples is an error.
  labels[7] = 3;
  ASSERT_TRUE(WriteNpy(dir / "ok.npy", testing::Int64Tensor("labels", {12, 1}, labels)).ok());
  const CliRun ok =
      RunCli({"evaluate", model, "--data", data, "--labels", (dir / "ok.npy").string(), "--max-samples", "12"}, logs_);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  ExpectCleanFailure({"evaluate", model, "--data", data, "--labels", (dir / "ok.npy").string()},
                     {"the labels cover 12 samples but the data has more"});
  ExpectCleanFailure({"evaluate", model, "--data", data, "--labels", (dir / "ok.npy").string(), "--batch-size", "0"},
                     {"--batch-size"});
  std::filesystem::remove_all(dir);
}

TEST_F(CliTest, NumericOptionsOutOfRangeFailBeforeAnyWork) {
  const std::string model = ModelPath("mbv2_fmnist.onnx").string();
  ExpectCleanFailure({"quantize", model, Output(), "--extra-option", "CalibWorkerNum=2000000000"},
                     {"CalibWorkerNum=2000000000", "0 (one per core) to 1024"});
  ExpectCleanFailure({"quantize", model, Output(), "--extra-option", "NumBins=2000000000"}, {"NumBins=2000000000"});
  ExpectCleanFailure({"quantize", model, Output(), "--calib-batch-size", "-5"}, {"--calib-batch-size"});
  ExpectCleanFailure({"quantize", model, Output(), "--calib-data-size", "-5"}, {"--calib-data-size"});
  ExpectCleanFailure({"calibrate", model, "-o", Output(), "--extra-option", "CLESteps=0"}, {"CLESteps=0"});
}

TEST_F(CliTest, UnknownExtraOption) {
  ExpectCleanFailure({"quantize", Model(), Output(), "--calib-data", Calib(), "--extra-option", "BogusKey=1"},
                     {"'BogusKey'"});
  ExpectCleanFailure({"quantize", Model(), Output(), "--calib-data", Calib(), "--extra-option", "BogusKey"},
                     {"'BogusKey'", "KEY=VALUE"});
  ExpectCleanFailure({"quantize", Model(), Output(), "--calib-data", Calib(), "--extra-option", "NumBins=many"},
                     {"NumBins=many"});
}

TEST_F(CliTest, UnknownCalibrateMethod) {
  ExpectCleanFailure({"quantize", Model(), Output(), "--calib-data", Calib(), "--calibrate-method", "Bogus"},
                     {"'Bogus'", "MinMax"});
}

TEST_F(CliTest, UnknownFlagAndMissingArguments) {
  ExpectCleanFailure({"quantize", Model(), Output(), "--no-such-flag"}, {"--no-such-flag"});
  ExpectCleanFailure({"quantize"}, {"model_input"});
  ExpectCleanFailure({}, {"subcommand"});
}

TEST_F(CliTest, HelpMentionsCalibrationData) {
  for (const auto& args : {std::vector<std::string>{"--help"}, std::vector<std::string>{"quantize", "--help"}}) {
    SCOPED_TRACE(::testing::PrintToString(args));
    const CliRun run = RunCli(args, logs_);
    EXPECT_EQ(run.exit_code, 0);
    EXPECT_NE(run.out.find("--calib-data"), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("quantize"), std::string::npos) << run.out;
  }
  const CliRun run = RunCli({"quantize", "--help"}, logs_);
  for (const char* option : {"--calibrate-method", "--per-channel", "--extra-option", "--activation-type"}) {
    EXPECT_NE(run.out.find(option), std::string::npos) << option;
  }
}

TEST_F(CliTest, CalibrationTableIsADirectory) {
  ExpectCleanFailure({"quantize", Model(), Output(), "--calib-table", work_.string()},
                     {"calibration table '" + work_.string() + "' is a directory, not a file"});
}

}  // namespace
}  // namespace onnxq
