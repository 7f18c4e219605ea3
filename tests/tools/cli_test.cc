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
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "onnxq/data_reader.h"
#include "onnxq/model_io.h"
#include "testing/npz_writer.h"
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

// Runs `onnxq args...` under `timeout`, capturing stdout and stderr into files in `logs`, with the
// environment and `env` ("NAME=VALUE" entries, which take precedence).
CliRun RunCli(const std::vector<std::string>& args, const fs::path& logs, const std::vector<std::string>& env = {}) {
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
  std::vector<std::string> env_text = env;
  for (char** entry = environ; *entry != nullptr; ++entry) env_text.emplace_back(*entry);
  std::vector<char*> envp;
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  const int spawned = posix_spawnp(&pid, "timeout", &actions, nullptr, argv.data(), envp.data());
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

    // .npz samples. A sequence model X [N,T,4] and five samples of lengths 2, 2, 4, 4, 3.
    ASSERT_TRUE(SaveModel(testing::SequenceModel(), in / "sequence.onnx").ok());
    fs::create_directory(in / "sequences");
    const int64_t lengths[] = {2, 2, 4, 4, 3};
    for (int i = 0; i < 5; ++i) {
      std::vector<float> sequence(static_cast<size_t>(lengths[i] * 4));
      for (size_t k = 0; k < sequence.size(); ++k) {
        sequence[k] = static_cast<float>((i * 7 + static_cast<int>(k)) % 13) / 4.0F - 1.5F;
      }
      testing::WriteNpz(in / "sequences" / ("u" + std::to_string(i) + ".npz"),
                        {Tensor::FromFloats("X", {1, lengths[i], 4}, sequence)},
                        i % 2 == 0 ? testing::ZipCompression::kStored : testing::ZipCompression::kDeflate);
    }
    // The stateful model's samples as the model takes them (X [1,4], sr (), S [2,1,3]), and files that
    // do not fit it: a member missing, sr as int32, not a zip at all.
    fs::create_directory(in / "stateful_npz");
    Tensor rate = testing::Int64Tensor("sr", {}, std::vector<int64_t>{16000});
    const Tensor x = Tensor::FromFloats("X", {1, 4}, std::vector<float>{0.5F, -0.25F, 1.0F, 0.0F});
    const Tensor s = Tensor::FromFloats("S", {2, 1, 3}, std::vector<float>{0.1F, 0.2F, -0.3F, 0.4F, 0.0F, -0.1F});
    for (int i = 0; i < 3; ++i)
      testing::WriteNpz(in / "stateful_npz" / ("s" + std::to_string(i) + ".npz"), {x, rate, s});
    testing::WriteNpz(in / "no_sr.npz", {x, s});
    Tensor rate32{"sr", ElementType::kInt32, {}, std::vector<std::byte>(4)};
    testing::WriteNpz(in / "sr_int32.npz", {x, rate32, s});
    WriteBytes(in / "corrupt.npz", "PK\x03\x04 and then nothing a zip reader could use");

    // Twelve Fashion-MNIST test images as three .npz files of 4 images each ([4,1,28,28]).
    fs::create_directory(in / "fmnist_npz");
    for (int f = 0; f < 3; ++f) {
      Tensor images = testing::LoadNpySamples(DataDir() / "eval_10000.npy", "input", f * 4, 4);
      testing::WriteNpz(in / "fmnist_npz" / ("part" + std::to_string(f) + ".npz"), {images},
                        f == 1 ? testing::ZipCompression::kDeflate : testing::ZipCompression::kStored);
    }
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
    std::vector<float> x16(16);
    for (size_t i = 0; i < x16.size(); ++i) x16[i] = 0.5F + static_cast<float>(i) / 32.0F;
    ASSERT_TRUE(WriteNpy(in / "x_16x1.npy", Tensor::FromFloats("x", {16, 1}, x16)).ok());
  }
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

fs::path* CliTest::inputs_ = nullptr;

// ONNX Runtime's own log lines reach stderr only with --verbose, one line each and marked as the
// runtime's; without it stderr stays empty on success. The runtime warns about an initializer no node
// reads (it drops it).
TEST_F(CliTest, RuntimeWarningsOnlyWithVerbose) {
  const fs::path model = work_ / "unused_initializer.onnx";
  ASSERT_TRUE(SaveModel(testing::ParseModelText(R"(
      <ir_version: 8, opset_import: ["" : 13]>
      g (float[N, 4] x) => (float[N, 4] y)
      <float[4, 4] w = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, float[3] unused = {1, 2, 3}>
      {
        y = MatMul(x, w)
      }
    )"),
                        model)
                  .ok());
  const CliRun quiet = RunCli({"quantize", model.string(), Output()}, logs_);
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err, "");
  for (const auto& args : {std::vector<std::string>{"quantize", model.string(), Output(), "--verbose"},
                           std::vector<std::string>{"-v", "quantize", model.string(), Output()}}) {
    const CliRun verbose = RunCli(args, logs_);
    EXPECT_EQ(verbose.exit_code, 0) << verbose.err;
    EXPECT_NE(verbose.err.find("onnxq: onnxruntime warning: Removing initializer 'unused'. It is not used by any "
                               "node and should be removed from the model.\n"),
              std::string::npos)
        << verbose.err;
    std::istringstream lines(verbose.err);
    for (std::string line; std::getline(lines, line);) {
      EXPECT_TRUE(line.starts_with("onnxq: onnxruntime warning: ")) << line;
      EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
    }
  }
}

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

TEST_F(CliTest, NpzSamplesOfSeveralLengths) {
  // A folder, or its files one by one: the same table. Then quantize from the folder.
  const fs::path folder = *inputs_ / "sequences";
  const std::string model = Input("sequence.onnx").string();
  std::vector<std::string> by_file = {"calibrate", model, "-o", (out_dir_ / "files.json").string(), "--calib-data"};
  for (int i = 0; i < 5; ++i) by_file.push_back((folder / ("u" + std::to_string(i) + ".npz")).string());
  CliRun run = RunCli(by_file, logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("samples           5"), std::string::npos) << run.out;
  run = RunCli({"calibrate", model, "-o", (out_dir_ / "folder.json").string(), "--calib-data", folder.string()}, logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(ReadBytes(out_dir_ / "folder.json") == ReadBytes(out_dir_ / "files.json"));
  EXPECT_NE(ReadBytes(out_dir_ / "folder.json").find("\"X\""), std::string::npos);

  run = RunCli({"quantize", model, Output(), "--calib-data", folder.string()}, logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("calibration       5 samples"), std::string::npos) << run.out;
  auto quantized = LoadModel(Output());
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_TRUE(std::any_of(quantized->graph().node().begin(), quantized->graph().node().end(),
                          [](const onnx::NodeProto& n) { return n.op_type() == "QuantizeLinear"; }));
}

TEST_F(CliTest, NpzScalarAndStateInputs) {
  const CliRun run = RunCli(
      {"quantize", Input("stateful.onnx").string(), Output(), "--calib-data", (*inputs_ / "stateful_npz").string()},
      logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("calibration       3 samples"), std::string::npos) << run.out;
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

TEST_F(CliTest, EvaluateReadsNpzSamplesInOrder) {
  // Three .npz files of 4 images each give what the first 12 images of the .npy file give.
  const std::string model = ModelPath("mbv2_fmnist.onnx").string();
  const std::string labels = (DataDir() / "eval_labels.u8").string();
  const CliRun npz =
      RunCli({"evaluate", model, "--data", (*inputs_ / "fmnist_npz").string(), "--labels", labels}, logs_);
  ASSERT_EQ(npz.exit_code, 0) << npz.err;
  const CliRun npy = RunCli(
      {"evaluate", model, "--data", (DataDir() / "eval_10000.npy").string(), "--labels", labels, "--max-samples", "12"},
      logs_);
  ASSERT_EQ(npy.exit_code, 0) << npy.err;
  // Model, top-1 and top-5 columns, and the sample count; not the time.
  const auto columns = [&](const std::string& out) {
    const size_t row = out.find(model);
    EXPECT_NE(row, std::string::npos) << out;
    const size_t end = out.find('\n', row);
    const std::string line = out.substr(row, end - row);
    return std::make_pair(line.substr(0, 64), line.substr(line.find(" (")));
  };
  EXPECT_EQ(columns(npz.out), columns(npy.out)) << npz.out << npy.out;
  EXPECT_NE(npz.out.find("(12 samples)"), std::string::npos) << npz.out;
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
    EXPECT_EQ(run.err,
              "onnxq: error: output '" + taken.string() + "' is a directory; give the path of a file to write\n");
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

std::string SameFile(const std::string& output, const std::string& role, const std::string& input) {
  return "output '" + output + "' is the same file as " + role + " '" + input +
         "'; writing it would destroy the input: give another output path";
}

TEST_F(CliTest, OutputIsTheInputModelUnderAnySpelling) {
  const fs::path model = work_ / "model.onnx";
  fs::copy_file(Model(), model);
  fs::create_directory(work_ / "sub");
  fs::create_hard_link(model, work_ / "hard.onnx");
  fs::create_symlink(model, work_ / "link.onnx");
  const std::string original = ReadBytes(model);
  for (const fs::path& spelling : {model, work_ / "." / "model.onnx", work_ / "sub" / ".." / "model.onnx",
                                   work_ / "hard.onnx", work_ / "link.onnx"}) {
    SCOPED_TRACE(spelling.string());
    const std::string message = SameFile(spelling.string(), "the input model", model.string());
    for (const bool external : {false, true}) {
      std::vector<std::string> args = {
          "quantize", model.string(), spelling.string(), "--calib-data", Calib(), "--calib-data-size", "8"};
      if (external) args.emplace_back("--use-external-data-format");
      ExpectRefused(args, message);
    }
    ExpectRefused({"optimize", model.string(), spelling.string(), "--passes", "fold_batch_norm"}, message);
    ExpectRefused({"calibrate", model.string(), "-o", spelling.string(), "--calib-data-size", "8"}, message);
    EXPECT_TRUE(ReadBytes(model) == original) << "the input model changed";
  }
  EXPECT_EQ(Listing(work_), (std::vector<std::string>{"hard.onnx", "link.onnx", "model.onnx", "sub"}));
}

TEST_F(CliTest, OutputIsTheCalibrationData) {
  const fs::path calib = work_ / "calib.npy";
  fs::copy_file(Calib(), calib);
  const fs::path folder = work_ / "folder";
  fs::create_directory(folder);
  fs::copy_file(Calib(), folder / "input.npy");
  const std::string original = ReadBytes(calib);
  ExpectRefused({"quantize", Model(), calib.string(), "--calib-data", calib.string()},
                SameFile(calib.string(), "calibration data", calib.string()));
  ExpectRefused({"quantize", Model(), calib.string(), "--calib-data", "input=" + calib.string()},
                SameFile(calib.string(), "calibration data", calib.string()));
  ExpectRefused({"calibrate", Model(), "-o", calib.string(), "--calib-data", calib.string()},
                SameFile(calib.string(), "calibration data", calib.string()));
  const fs::path in_folder = folder / "input.npy";
  ExpectRefused({"quantize", Model(), in_folder.string(), "--calib-data", folder.string()},
                SameFile(in_folder.string(), "calibration data", in_folder.string()));
  EXPECT_TRUE(ReadBytes(calib) == original);
  EXPECT_TRUE(ReadBytes(in_folder) == original);
}

TEST_F(CliTest, OutputIsTheCalibrationTable) {
  const fs::path table = work_ / "table.json";
  const CliRun calibrated = RunCli(
      {"calibrate", Model(), "--calib-data", Calib(), "--calib-data-size", "8", "-o", table.string(), "-q"}, logs_);
  ASSERT_EQ(calibrated.exit_code, 0) << calibrated.err;
  const std::string original = ReadBytes(table);
  const std::string message = SameFile(table.string(), "the calibration table", table.string());
  ExpectRefused({"quantize", Model(), table.string(), "--calib-table", table.string()}, message);
  ExpectRefused({"calib-merge", table.string(), "-o", table.string()}, message);
  EXPECT_TRUE(ReadBytes(table) == original);
}

TEST_F(CliTest, OutputDataFileNeverReplacesTheInputsData) {
  // b.onnx keeps its weights in "b.onnx.data" (the name onnxq once gave the data of output b.onnx), and
  // a.onnx is a copy of it. Quantizing a.onnx into b.onnx with external data once wrote over
  // b.onnx.data, the input's weights; it must now leave them as they are.
  auto float_model = LoadModel(Model());
  ASSERT_TRUE(float_model.ok());
  const fs::path scratch = work_ / "scratch";
  fs::create_directory(scratch);
  ASSERT_TRUE(SaveModel(*float_model, scratch / "m.onnx", {.external_data = ExternalData::kAlways}).ok());
  std::string data_name;
  for (const auto& name : Listing(scratch)) {
    if (name != "m.onnx") data_name = name;
  }
  fs::rename(scratch / data_name, work_ / "b.onnx.data");
  auto stored = ParseModel(ReadBytes(scratch / "m.onnx"), "m.onnx");
  ASSERT_TRUE(stored.ok());
  for (auto& init : *stored->mutable_graph()->mutable_initializer()) {
    for (auto& entry : *init.mutable_external_data()) {
      if (entry.key() == "location") entry.set_value("b.onnx.data");
    }
  }
  fs::remove_all(scratch);
  WriteBytes(work_ / "a.onnx", stored->SerializeAsString());
  WriteBytes(work_ / "b.onnx", stored->SerializeAsString());
  const std::string weights = ReadBytes(work_ / "b.onnx.data");

  // Aimed at the data file itself: refused.
  const fs::path data = work_ / "b.onnx.data";
  ExpectRefused({"quantize", (work_ / "a.onnx").string(), data.string(), "--calib-data", Calib()},
                SameFile(data.string(), "external data of the input model", fs::canonical(data).string()));

  const CliRun run = RunCli({"quantize", (work_ / "a.onnx").string(), (work_ / "b.onnx").string(),
                             "--use-external-data-format", "--calib-data", Calib(), "--calib-data-size", "8"},
                            logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(ReadBytes(work_ / "b.onnx.data") == weights) << "the input's data file changed";
  auto input = LoadModel(work_ / "a.onnx");
  ASSERT_TRUE(input.ok()) << input.status().message();
  EXPECT_TRUE(input->SerializeAsString() == float_model->SerializeAsString());
  auto output = LoadModel(work_ / "b.onnx");
  ASSERT_TRUE(output.ok()) << output.status().message();
  const auto names = Listing(work_);
  ASSERT_EQ(names.size(), 4U) << ::testing::PrintToString(names);
  EXPECT_EQ(std::count_if(names.begin(), names.end(),
                          [](const std::string& name) {
                            return std::regex_match(name, std::regex(R"(b\.onnx\.[0-9a-f]{16}\.data)"));
                          }),
            1)
      << ::testing::PrintToString(names);
  EXPECT_TRUE(std::find(names.begin(), names.end(), "b.onnx.data") != names.end());
}

TEST_F(CliTest, FifoAsOutputIsRefused) {
  const fs::path fifo = work_ / "out.onnx";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string message = "output '" + fifo.string() +
                              "' is a fifo, not a regular file; onnxq replaces only regular files: give another "
                              "output path";
  ExpectRefused({"quantize", Model(), fifo.string(), "--calib-data", Calib(), "--calib-data-size", "8"}, message);
  ExpectRefused({"calibrate", Model(), "-o", fifo.string(), "--calib-data-size", "8"}, message);
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_EQ(Listing(work_), std::vector<std::string>{"out.onnx"});
}

TEST_F(CliTest, SymlinkAsOutputIsReplacedNotFollowed) {
  const fs::path victim = work_ / "notes.txt";
  WriteBytes(victim, "not a model");
  fs::create_symlink(victim, Output());
  const CliRun run =
      RunCli({"quantize", Model(), Output(), "--calib-data", Calib(), "--calib-data-size", "8", "-q"}, logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(ReadBytes(victim), "not a model");
  EXPECT_FALSE(fs::is_symlink(Output()));
  auto model = LoadModel(Output());
  ASSERT_TRUE(model.ok()) << model.status().message();
}

TEST_F(CliTest, CalibrationTableIsADirectory) {
  ExpectCleanFailure({"quantize", Model(), Output(), "--calib-table", work_.string()},
                     {"calibration table '" + work_.string() + "' is a directory, not a file"});
}

TEST_F(CliTest, ExternalDataLinkedFromOutsideTheModelsFolder) {
  auto model = LoadModel(Model());
  ASSERT_TRUE(model.ok());
  const fs::path folder = work_ / "model";
  const fs::path outside = work_ / "outside";
  fs::create_directories(folder);
  fs::create_directories(outside);
  ASSERT_TRUE(SaveModel(*model, outside / "model.onnx", {.external_data = ExternalData::kAlways}).ok());
  std::string data_name;
  for (const auto& name : Listing(outside)) {
    if (name != "model.onnx") data_name = name;
  }
  fs::copy_file(outside / "model.onnx", folder / "model.onnx");
  fs::create_symlink(outside / data_name, folder / data_name);
  ExpectCleanFailure({"quantize", (folder / "model.onnx").string(), Output(), "--calib-data", Calib()},
                     {"external data '" + data_name + "' resolves to '" + fs::canonical(outside / data_name).string() +
                          "', outside the model's folder",
                      "copy the file into the model's folder"});
}

TEST_F(CliTest, NoTemporaryFolderStaysBehind) {
  const fs::path tmp = work_ / "tmp";
  fs::create_directory(tmp);
  const std::vector<std::string> env = {"TMPDIR=" + tmp.string()};
  CliRun run =
      RunCli({"quantize", Model(), Output(), "--calib-data", Calib(), "--calib-data-size", "8", "-q"}, logs_, env);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(Listing(tmp).empty()) << ::testing::PrintToString(Listing(tmp));
  run = RunCli(
      {"calibrate", Model(), "-o", (out_dir_ / "table.json").string(), "--calib-data", Input("nan.npy").string()},
      logs_, env);
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_TRUE(Listing(tmp).empty()) << ::testing::PrintToString(Listing(tmp));
  EXPECT_EQ(Listing(out_dir_), std::vector<std::string>{"out.onnx"});
}

}  // namespace
}  // namespace onnxq
