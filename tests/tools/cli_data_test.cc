// Calibration and evaluation data as the onnxq command line takes it: scalar and state inputs fed
// whole, .npz samples of several shapes, random data in a given range.
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
  // File, size, Prec@1 and Prec@5 columns, and the sample count; not the speed.
  const auto columns = [&](const std::string& out) {
    const size_t row = out.find(model);
    EXPECT_NE(row, std::string::npos) << out;
    std::istringstream words(out.substr(row, out.find('\n', row) - row));
    std::vector<std::string> first_four(4);
    for (auto& w : first_four) words >> w;
    return std::make_pair(first_four, out.substr(out.rfind('(')));
  };
  EXPECT_EQ(columns(npz.out), columns(npy.out)) << npz.out << npy.out;
  EXPECT_NE(npz.out.find("(12 samples)"), std::string::npos) << npz.out;
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

}  // namespace
}  // namespace onnxq
