// The onnxq command line and the files around it: outputs that would replace an input, directories,
// fifos and symlinks as outputs, external data outside the model's folder, temporaries left behind.
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

// The error of an output that is one of the inputs.
std::string SameFile(const std::string& output, const std::string& role, const std::string& input) {
  return "output '" + output + "' is the same file as " + role + " '" + input +
         "'; writing it would destroy the input: give another output path";
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
