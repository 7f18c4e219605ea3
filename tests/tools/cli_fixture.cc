#include "cli_fixture.h"

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

constexpr int kTimeoutSeconds = 60;

}  // namespace

CliRun RunCli(const std::vector<std::string>& args, const fs::path& logs, const std::vector<std::string>& env) {
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

void CliTest::SetUpTestSuite() {
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
  for (int i = 0; i < 3; ++i) testing::WriteNpz(in / "stateful_npz" / ("s" + std::to_string(i) + ".npz"), {x, rate, s});
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

fs::path* CliTest::inputs_ = nullptr;

}  // namespace onnxq
