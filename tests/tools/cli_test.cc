// The onnxq command line on bad input: one error line naming the culprit, a non-zero exit without a
// crash, quickly, and no output file or temporary left behind. Also --help and byte-identical reruns.
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
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "onnxq/data_reader.h"
#include "onnxq/model_io.h"
#include "testing/test_support.h"

extern char** environ;

namespace onnxq {
namespace {

using testing::Listing;
using testing::ReadBytes;
using testing::WriteBytes;

namespace fs = std::filesystem;
using testing::DataDir;
using testing::ModelPath;
using testing::TempDir;

constexpr int kTimeoutSeconds = 60;

struct CliRun {
  int exit_code = -1;  // the exit status, or 128 + signal when killed by one
  std::string out;
  std::string err;
  double seconds = 0;
};

// Runs `onnxq args...` under `timeout`, capturing stdout and stderr into files in `logs`.
CliRun RunCli(const std::vector<std::string>& args, const fs::path& logs) {
  std::vector<std::string> argv_text = {"timeout", std::to_string(kTimeoutSeconds), ONNXQ_CLI_PATH};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  const fs::path out = logs / "stdout.txt";
  const fs::path err = logs / "stderr.txt";

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  CliRun run;
  const int spawned = posix_spawnp(&pid, "timeout", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(spawned, 0) << "cannot start " << ONNXQ_CLI_PATH;
  if (spawned != 0) return run;
  int status = 0;
  waitpid(pid, &status, 0);
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.out = ReadBytes(out);
  run.err = ReadBytes(err);
  return run;
}

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    inputs_ = new fs::path(TempDir("cli-inputs"));
    const fs::path& in = *inputs_;
    WriteBytes(in / "notes.onnx", "a text file, not an ONNX model\n");
    const std::string model = ReadBytes(ModelPath("mbv2_fmnist_bn.onnx"));
    WriteBytes(in / "truncated.onnx", model.substr(0, model.size() / 2));
    WriteBytes(in / "locked.onnx", model);
    ::chmod((in / "locked.onnx").c_str(), 0);

    // Calibration data that does not fit the 1x1x28x28 float input.
    ASSERT_TRUE(WriteNpy(in / "small_images.npy",
                         Tensor::FromFloats("x", {10, 1, 14, 14}, std::vector<float>(10 * 14 * 14, 0.5F)))
                    .ok());
    Tensor ints{"x", ElementType::kInt64, {4, 1, 28, 28}, {}};
    ints.bytes.resize(4 * 28 * 28 * sizeof(int64_t));
    ASSERT_TRUE(WriteNpy(in / "int64.npy", ints).ok());
    std::vector<float> values(4 * 28 * 28, 0.25F);
    values[2 * 784 + 100] = std::numeric_limits<float>::quiet_NaN();
    ASSERT_TRUE(WriteNpy(in / "nan.npy", Tensor::FromFloats("x", {4, 1, 28, 28}, values)).ok());
    values[2 * 784 + 100] = 0.25F;
    values[3 * 784 + 5] = -std::numeric_limits<float>::infinity();
    ASSERT_TRUE(WriteNpy(in / "inf.npy", Tensor::FromFloats("x", {4, 1, 28, 28}, values)).ok());
    WriteBytes(in / "images.raw", std::string(3 * 28 * 28 * 4 + 3, '\0'));

    // A model with Silero VAD's kinds of inputs (X [N,4] with a batch axis, a scalar int64 sr, a state
    // S [2,N,3]) and 6 samples for it: X.npy [6,4], sr.npy [6] and S.npy [6,2,1,3], in one folder.
    ASSERT_TRUE(SaveModel(testing::StatefulModel(), in / "stateful.onnx").ok());
    fs::create_directory(in / "stateful");
    std::vector<float> ramp(6 * 6);
    for (size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<float>(i % 11) / 10.0F - 0.5F;
    ASSERT_TRUE(WriteNpy(in / "stateful" / "X.npy", Tensor::FromFloats("X", {6, 4}, ramp)).ok());
    ASSERT_TRUE(WriteNpy(in / "stateful" / "S.npy", Tensor::FromFloats("S", {6, 2, 1, 3}, ramp)).ok());
    const std::vector<int64_t> rate_values(6, 16000);
    Tensor rates = testing::Int64Tensor("sr", {6}, rate_values);
    ASSERT_TRUE(WriteNpy(in / "stateful" / "sr.npy", rates).ok());
    ASSERT_TRUE(
        WriteNpy(in / "S_2x1x4.npy", Tensor::FromFloats("S", {6, 2, 1, 4}, std::vector<float>(6 * 8, 0.5F))).ok());
    rates.shape = {6, 1};  // one axis too many for a scalar
    ASSERT_TRUE(WriteNpy(in / "sr_6x1.npy", rates).ok());

    // Two outputs of x [N, 1] times [100, 0.01]: per tensor, the int8 weight grid takes 0.01 to 0, so
    // `small` comes out 0 (SQNR 0 dB) and `big` close to float. 16 samples x in [0.5, 1).
    ASSERT_TRUE(SaveModel(testing::ParseModelText(R"(
      <ir_version: 8, opset_import: ["" : 13]>
      two_outputs (float[N, 1] x) => (float[N, 1] big, float[N, 1] small)
      <float[1, 2] w = {100, 0.01}>
      {
        t = MatMul(x, w)
        big, small = Split<axis = 1>(t)
      }
    )"),
                          in / "two_outputs.onnx")
                    .ok());
    std::vector<float> x(16);
    for (size_t i = 0; i < x.size(); ++i) x[i] = 0.5F + static_cast<float>(i) / 32.0F;
    ASSERT_TRUE(WriteNpy(in / "x_16x1.npy", Tensor::FromFloats("x", {16, 1}, x)).ok());
  }
  static void TearDownTestSuite() {
    fs::remove_all(*inputs_);
    delete inputs_;
  }

  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    out_dir_ = TempDir(std::string("cli-out-") + info->name());
    logs_ = TempDir(std::string("cli-logs-") + info->name());
  }
  void TearDown() override {
    fs::remove_all(out_dir_);
    fs::remove_all(logs_);
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

  static fs::path* inputs_;
  fs::path out_dir_;
  fs::path logs_;
};

fs::path* CliTest::inputs_ = nullptr;

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

TEST_F(CliTest, ScalarAndStateInputsAreFedWhole) {
  // A folder of NAME.npy files and NAME=PATH entries give the same: 6 samples, one a run.
  const fs::path data = *inputs_ / "stateful";
  for (const bool folder : {true, false}) {
    SCOPED_TRACE(folder ? "folder" : "NAME=PATH");
    std::vector<std::string> args = {"quantize", Input("stateful.onnx").string(), Output(), "--calib-data"};
    if (folder) {
      args.push_back(data.string());
    } else {
      for (const char* name : {"S", "sr", "X"})
        args.push_back(std::string(name) + "=" + (data / name).string() + ".npy");
    }
    const CliRun run = RunCli(args, logs_);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.out.find("calibration       6 samples"), std::string::npos) << run.out;
    auto model = LoadModel(Output());
    ASSERT_TRUE(model.ok()) << model.status().message();
    EXPECT_TRUE(std::any_of(model->graph().node().begin(), model->graph().node().end(),
                            [](const onnx::NodeProto& n) { return n.op_type() == "QuantizeLinear"; }));
  }
}

TEST_F(CliTest, RandomDataInputRange) {
  const std::string model = Input("stateful.onnx").string();
  // Without a range, sr is drawn from [0, 1] and the summary says so.
  CliRun run = RunCli({"quantize", model, Output()}, logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("note: input 'sr' is int64: random values in [0, 1]; give --random-data-input-range "
                         "sr:LOW,HIGH for meaningful values"),
            std::string::npos)
      << run.out;
  // With one (repeated for a second input), no such note.
  run = RunCli(
      {"quantize", model, Output(), "--random-data-input-range", "sr:16000,16000", "--random-data-input-range=X:-1,1"},
      logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out.find("input 'sr'"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("no calibration data"), std::string::npos) << run.out;
  fs::remove(Output());

  ExpectCleanFailure({"quantize", model, Output(), "--random-data-input-range", "rate:16000,16000"},
                     {"input 'rate'", "does not have", "'sr'"});
  ExpectCleanFailure({"quantize", model, Output(), "--random-data-input-range", "sr:16000"},
                     {"'sr:16000'", "NAME:LOW,HIGH"});
  ExpectCleanFailure({"quantize", model, Output(), "--random-data-input-range", "sr:0.5,1"},
                     {"input 'sr'", "whole numbers"});
}

TEST_F(CliTest, OutputInAMissingDirectory) {
  const std::string output = (out_dir_ / "no" / "such" / "dir" / "out.onnx").string();
  ExpectCleanFailure({"quantize", Model(), output, "--calib-data", Calib(), "--calib-data-size", "8"},
                     {"'" + output + "'"});
}

TEST_F(CliTest, OutputIsADirectory) {
  const fs::path taken = out_dir_ / "taken.onnx";
  fs::create_directory(taken);
  for (const bool external : {false, true}) {
    SCOPED_TRACE(external ? "external data" : "one file");
    std::vector<std::string> args = {"quantize",          Model(), taken.string(), "--calib-data", Calib(),
                                     "--calib-data-size", "8"};
    if (external) args.emplace_back("--use-external-data-format");
    const CliRun run = RunCli(args, logs_);
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
    EXPECT_NE(run.err.find("'" + taken.string() + "'"), std::string::npos) << run.err;
    // No temporary and no data file without its model.
    EXPECT_EQ(Listing(out_dir_), std::vector<std::string>{"taken.onnx"});
    EXPECT_TRUE(Listing(taken).empty());
  }
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

TEST_F(CliTest, LowOutputSqnrIsAWarningOnStderr) {
  const std::vector<std::string> base = {"quantize", Input("two_outputs.onnx").string(), Output(), "--calib-data",
                                         Input("x_16x1.npy").string()};
  const std::string warning =
      "onnxq: warning: output 'small': SQNR 0.0 dB (cosine 0.0000) against the float model on 8 calibration samples, "
      "below 10 dB";
  CliRun run = RunCli(base, logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(run.err.starts_with(warning)) << run.err;
  EXPECT_NE(run.err.find("try --per-channel"), std::string::npos) << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;  // not for `big`
  EXPECT_NE(run.out.find("  output SQNR       float vs quantized on 8 calibration samples\n"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("    small  0.0 dB, cosine 0.0000  below 10 dB (see the warning)\n"), std::string::npos)
      << run.out;
  EXPECT_EQ(run.out.find("note: output 'small'"), std::string::npos) << run.out;  // on stderr only
  // --quiet silences the summary, not the warning.
  std::vector<std::string> args = base;
  args.emplace_back("-q");
  run = RunCli(args, logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "");
  EXPECT_TRUE(run.err.starts_with(warning)) << run.err;
  // A threshold below 0 dB: no warning.
  args = base;
  args.insert(args.end(), {"--extra-option", "OutputCheckSqnrThreshold=-1"});
  run = RunCli(args, logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  EXPECT_NE(run.out.find("    small  0.0 dB, cosine 0.0000\n"), std::string::npos) << run.out;
  // The check turned off: nothing measured, nothing said but that.
  args = base;
  args.insert(args.end(), {"--extra-option", "OutputCheckSamples=0"});
  run = RunCli(args, logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  EXPECT_NE(run.out.find("  output SQNR       not checked (OutputCheckSamples=0)\n"), std::string::npos) << run.out;
}

TEST_F(CliTest, JsonReportNamesEveryNodeLeftFloatWithItsReason) {
  const CliRun run = RunCli({"quantize", Model(), Output(), "--calib-data", Calib(), "--calib-data-size", "16",
                             "--nodes-to-exclude", "/classifier/Gemm", "--per-channel", "--json"},
                            logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  const auto json = nlohmann::json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(json.is_discarded()) << run.out;
  EXPECT_EQ(json["command"], "quantize");
  EXPECT_EQ(json["input"], Model());
  EXPECT_EQ(json["output"], Output());
  EXPECT_EQ(json["calibration"]["data"], nlohmann::json::array({Calib()}));
  EXPECT_TRUE(json["calibration"]["table"].is_null());
  EXPECT_EQ(json["calibration"]["samples"], 16);
  EXPECT_EQ(json["options"]["quant_format"], "QDQ");
  EXPECT_EQ(json["options"]["calibrate_method"], "MinMax");
  EXPECT_EQ(json["options"]["activation_type"], "QUInt8");
  EXPECT_EQ(json["options"]["weight_type"], "QInt8");
  EXPECT_EQ(json["options"]["per_channel"], true);
  EXPECT_EQ(json["nodes"]["total"], 61);
  EXPECT_EQ(json["nodes"]["quantized"], 39);  // 40 without the excluded Gemm
  EXPECT_EQ(json["nodes"]["left_float"], 1);
  ASSERT_EQ(json["left_float"].size(), 1U);
  EXPECT_EQ(json["left_float"][0],
            nlohmann::json(
                {{"node", "/classifier/Gemm"}, {"op_type", "Gemm"}, {"reason", "excluded by --nodes-to-exclude"}}));
  EXPECT_EQ(json["float_tensors"], nlohmann::json::array());
  const auto& check = json["output_check"];
  EXPECT_EQ(check["samples"], 8);
  EXPECT_EQ(check["data"], "calibration");
  EXPECT_EQ(check["sqnr_threshold_db"], 10.0);
  ASSERT_EQ(check["outputs"].size(), 1U);
  EXPECT_EQ(check["outputs"][0]["name"], "logits");
  EXPECT_EQ(check["outputs"][0]["values"], 80);  // 8 samples x 10 classes
  EXPECT_GT(check["outputs"][0]["sqnr_db"].get<double>(), 20.0);
  EXPECT_GT(check["outputs"][0]["cosine"].get<double>(), 0.99);
  EXPECT_EQ(check["outputs"][0]["below_threshold"], false);
  for (const char* stage : {"total", "prepare", "calibrate", "quantize", "check"}) {
    EXPECT_TRUE(json["seconds"][stage].is_number()) << stage;
  }
  EXPECT_GT(json["bytes"]["output"].get<int64_t>(), 100000);
  EXPECT_TRUE(json["warnings"].is_array());
}

TEST_F(CliTest, JsonReportOfALowSqnrAndOfCalibrate) {
  CliRun run = RunCli({"quantize", Input("two_outputs.onnx").string(), Output(), "--calib-data",
                       Input("x_16x1.npy").string(), "--json"},
                      logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(run.err.starts_with("onnxq: warning: output 'small'")) << run.err;
  auto json = nlohmann::json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(json.is_discarded()) << run.out;
  const auto& outputs = json["output_check"]["outputs"];
  ASSERT_EQ(outputs.size(), 2U);
  EXPECT_EQ(outputs[1]["name"], "small");
  EXPECT_EQ(outputs[1]["sqnr_db"], 0.0);
  EXPECT_EQ(outputs[1]["below_threshold"], true);
  EXPECT_EQ(outputs[0]["below_threshold"], false);
  const auto& warnings = json["warnings"];
  EXPECT_TRUE(std::any_of(warnings.begin(), warnings.end(), [](const nlohmann::json& w) {
    return w.get<std::string>().starts_with("output 'small': SQNR 0.0 dB");
  })) << warnings.dump();

  const std::string table = (out_dir_ / "table.json").string();
  run = RunCli({"calibrate", Input("two_outputs.onnx").string(), "-o", table, "--calib-data",
                Input("x_16x1.npy").string(), "--json"},
               logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  json = nlohmann::json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(json.is_discarded()) << run.out;
  EXPECT_EQ(json["command"], "calibrate");
  EXPECT_EQ(json["output"], table);
  EXPECT_EQ(json["method"], "MinMax");
  EXPECT_EQ(json["calibration"]["samples"], 16);
  EXPECT_EQ(json["tensors"], 2);  // x and t: Split's outputs take t's range
}

TEST_F(CliTest, SameInputsGiveTheSameBytes) {
  const fs::path first = out_dir_ / "first.onnx";
  const fs::path second = out_dir_ / "second.onnx";
  for (const auto& out : {first, second}) {
    const CliRun run = RunCli({"quantize", ModelPath("mbv2_fmnist.onnx").string(), out.string(), "--calib-data",
                               Calib(), "--calib-data-size", "64", "--per-channel", "-q"},
                              logs_);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.err, "");
    EXPECT_EQ(run.out, "");  // --quiet
  }
  EXPECT_EQ(Listing(out_dir_), (std::vector<std::string>{"first.onnx", "second.onnx"}));
  const std::string bytes = ReadBytes(first);
  EXPECT_GT(bytes.size(), 100000U);
  EXPECT_TRUE(bytes == ReadBytes(second)) << "two runs wrote different models";
  auto model = LoadModel(first);
  ASSERT_TRUE(model.ok()) << model.status().message();
  const auto quantize_nodes =
      std::count_if(model->graph().node().begin(), model->graph().node().end(),
                    [](const onnx::NodeProto& node) { return node.op_type() == "QuantizeLinear"; });
  EXPECT_GT(quantize_nodes, 10);
}

}  // namespace
}  // namespace onnxq
