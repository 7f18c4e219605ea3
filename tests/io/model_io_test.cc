#include "onnxq/model_io.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "io/file_safety.h"
#include "io/save_model_steps.h"
#include "ir/graph_view.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::Listing;
using testing::ReadBytes;
using testing::WriteBytes;

namespace fs = std::filesystem;
using testing::DataDir;
using testing::ModelPath;
using testing::TempDir;

std::vector<fs::path> RepositoryModels() {
  std::vector<fs::path> models;
  for (const auto& entry : fs::directory_iterator(DataDir() / "models")) {
    if (entry.path().extension() == ".onnx") models.push_back(entry.path());
  }
  std::sort(models.begin(), models.end());
  return models;
}

std::vector<std::string> Sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

// The data files SaveModel wrote for a model named `model_name` in `dir`: "<model_name>.<16 hex>.data".
std::vector<std::string> DataFiles(const fs::path& dir, const std::string& model_name) {
  const std::regex pattern(std::regex_replace(model_name, std::regex(R"([.])"), R"(\.)") + R"(\.[0-9a-f]{16}\.data)");
  std::vector<std::string> names;
  for (const auto& name : Listing(dir)) {
    if (std::regex_match(name, pattern)) names.push_back(name);
  }
  return names;
}

// The one data file of `model_name` in `dir` ("" when there is not exactly one).
std::string DataFile(const fs::path& dir, const std::string& model_name) {
  const auto names = DataFiles(dir, model_name);
  return names.size() == 1 ? names[0] : "";
}

std::string ExternalValue(const onnx::TensorProto& tensor, const std::string& key) {
  for (const auto& entry : tensor.external_data()) {
    if (entry.key() == key) return entry.value();
  }
  return {};
}

class ModelIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = TempDir(std::string("model_io-") + info->name());
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

TEST_F(ModelIoTest, LoadsEveryRepositoryModel) {
  const auto models = RepositoryModels();
  ASSERT_GE(models.size(), 6U);
  for (const auto& path : models) {
    SCOPED_TRACE(path.string());
    auto model = LoadModel(path);
    ASSERT_TRUE(model.ok()) << model.status().message();
    EXPECT_GT(model->graph().node_size(), 10);
    EXPECT_GE(DefaultOpset(*model), 10);
    GraphView graph(model->mutable_graph());
    const std::string input = model->graph().input(0).name();
    const auto input_shape = graph.Shape(input);
    ASSERT_TRUE(input_shape.has_value());
    ASSERT_EQ(input_shape->size(), 4U);
    EXPECT_EQ((std::vector<int64_t>(input_shape->begin() + 1, input_shape->end())), (std::vector<int64_t>{1, 28, 28}));
    EXPECT_EQ(graph.ElemType(input), onnx::TensorProto::FLOAT);
    const auto output_shape = graph.Shape(model->graph().output(0).name());
    ASSERT_TRUE(output_shape.has_value());
    EXPECT_EQ(output_shape->back(), 10);
    // Every weight is present (nothing left external or empty).
    for (const auto& init : model->graph().initializer()) {
      EXPECT_NE(init.data_location(), onnx::TensorProto::EXTERNAL) << init.name();
    }
  }
}

TEST_F(ModelIoTest, SaveAfterLoadIsByteIdentical) {
  for (const auto& path : RepositoryModels()) {
    SCOPED_TRACE(path.string());
    auto model = LoadModel(path);
    ASSERT_TRUE(model.ok()) << model.status().message();
    const fs::path out = dir_ / path.filename();
    ASSERT_TRUE(SaveModel(*model, out).ok());
    EXPECT_TRUE(ReadBytes(out) == ReadBytes(path)) << "saved bytes differ from the original file";
    EXPECT_EQ(Listing(dir_), std::vector<std::string>{path.filename().string()});  // no data file, no temporary
    fs::remove(out);
  }
}

TEST_F(ModelIoTest, ExternalDataRoundTrip) {
  const fs::path original_path = ModelPath("mbv2_fmnist_bn.onnx");
  auto model = LoadModel(original_path);
  ASSERT_TRUE(model.ok()) << model.status().message();
  const fs::path out = dir_ / "model.onnx";
  constexpr int64_t kThreshold = 256;
  ASSERT_TRUE(
      SaveModel(*model, out, {.external_data = ExternalData::kAlways, .external_threshold_bytes = kThreshold}).ok());
  const std::string data_name = DataFile(dir_, "model.onnx");
  ASSERT_FALSE(data_name.empty()) << ::testing::PrintToString(Listing(dir_));
  EXPECT_EQ(Listing(dir_), (std::vector<std::string>{"model.onnx", data_name}));
  EXPECT_LT(fs::file_size(out), fs::file_size(original_path) / 4);
  EXPECT_GT(fs::file_size(dir_ / data_name), fs::file_size(original_path) / 2);
  // The name carries the XXH64 of the data, so a model only ever names the data written with it.
  EXPECT_EQ(
      data_name, "model.onnx." + [&] {
        ContentHash hash;
        hash.Update(ReadBytes(dir_ / data_name));
        return hash.Hex();
      }() + ".data");

  // On disk: large initializers point into the data file at 4 KiB aligned offsets, small ones stay inline.
  auto stored = ParseModel(ReadBytes(out), out.string());
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  int external = 0;
  int inline_kept = 0;
  for (int i = 0; i < stored->graph().initializer_size(); ++i) {
    const auto& init = stored->graph().initializer(i);
    const auto& source = model->graph().initializer(i);
    ASSERT_EQ(init.name(), source.name());
    if (static_cast<int64_t>(source.raw_data().size()) >= kThreshold) {
      ++external;
      EXPECT_EQ(init.data_location(), onnx::TensorProto::EXTERNAL) << init.name();
      EXPECT_FALSE(init.has_raw_data()) << init.name();
      EXPECT_EQ(ExternalValue(init, "location"), data_name);
      EXPECT_EQ(std::stoll(ExternalValue(init, "offset")) % 4096, 0) << init.name();
      EXPECT_EQ(ExternalValue(init, "length"), std::to_string(source.raw_data().size()));
    } else {
      ++inline_kept;
      EXPECT_EQ(init.raw_data(), source.raw_data()) << init.name();
    }
  }
  EXPECT_GT(external, 10);
  EXPECT_GT(inline_kept, 0);

  // Loaded back, the model is the original, down to its serialized bytes.
  auto reloaded = LoadModel(out);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().message();
  EXPECT_TRUE(reloaded->SerializeAsString() == model->SerializeAsString());
  EXPECT_TRUE(reloaded->SerializeAsString() == ReadBytes(original_path));

  // ONNX Runtime reads the external data itself and computes what the original computes.
  const Tensor sample = testing::LoadNpySamples(DataDir() / "calib_1000.npy", model->graph().input(0).name(), 0, 1);
  const std::vector<float> expected = testing::RunFirstOutput(*model, {sample});
  const std::vector<float> actual = testing::RunModelFile(out, sample);
  ASSERT_EQ(actual.size(), 10U);
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-5F * (1 + std::fabs(expected[i])));
}

TEST_F(ModelIoTest, BrokenExternalDataIsReported) {
  auto model = LoadModel(ModelPath("resnet_fmnist.onnx"));
  ASSERT_TRUE(model.ok()) << model.status().message();
  const fs::path out = dir_ / "model.onnx";
  ASSERT_TRUE(SaveModel(*model, out, {.external_data = ExternalData::kAlways}).ok());
  const fs::path data = fs::canonical(dir_ / DataFile(dir_, "model.onnx"));

  // Truncated data file.
  const auto size = fs::file_size(data);
  fs::resize_file(data, size / 2);
  auto truncated = LoadModel(out);
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(truncated.status().message().find(data.string()), std::string::npos) << truncated.status().message();

  // Missing data file.
  fs::remove(data);
  auto missing = LoadModel(out);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(data.string()), std::string::npos) << missing.status().message();

  // An offset that is not a number names the tensor.
  auto stored = ParseModel(ReadBytes(out), out.string());
  ASSERT_TRUE(stored.ok());
  auto* init = stored->mutable_graph()->mutable_initializer(0);
  for (auto& entry : *init->mutable_external_data()) {
    if (entry.key() == "offset") entry.set_value("12abc");
  }
  WriteBytes(out, stored->SerializeAsString());
  auto bad_offset = LoadModel(out);
  ASSERT_FALSE(bad_offset.ok());
  EXPECT_EQ(bad_offset.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(bad_offset.status().message().find("'" + init->name() + "'"), std::string::npos)
      << bad_offset.status().message();
}

TEST_F(ModelIoTest, UnreadableModelsGiveAnErrorNamingTheFile) {
  const std::string original = ReadBytes(ModelPath("mbv2_fmnist_bn.onnx"));
  const fs::path missing = dir_ / "missing.onnx";
  const fs::path text = dir_ / "notes.onnx";
  WriteBytes(text, "this is a text file, not an ONNX model\n");
  const fs::path truncated = dir_ / "truncated.onnx";
  WriteBytes(truncated, original.substr(0, original.size() / 2));
  const fs::path empty = dir_ / "empty.onnx";
  WriteBytes(empty, "");
  const fs::path folder = dir_ / "folder.onnx";
  fs::create_directory(folder);

  const struct {
    fs::path path;
    StatusCode code;
  } cases[] = {{missing, StatusCode::kNotFound},
               {folder, StatusCode::kInvalidArgument},
               {text, StatusCode::kInvalidModel},
               {truncated, StatusCode::kInvalidModel},
               {empty, StatusCode::kInvalidModel}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path.string());
    auto model = LoadModel(c.path);
    ASSERT_FALSE(model.ok());
    EXPECT_EQ(model.status().code(), c.code);
    EXPECT_NE(model.status().message().find("'" + c.path.string() + "'"), std::string::npos)
        << model.status().message();
    EXPECT_EQ(model.status().message().find('\n'), std::string::npos) << "one line";
  }
}

TEST_F(ModelIoTest, FileOverTwoGigabytesIsRefusedBeforeReading) {
  // A sparse file: no disk space or memory is spent, and the size check must come before any read.
  const fs::path huge = dir_ / "huge.onnx";
  WriteBytes(huge, "");
  fs::resize_file(huge, static_cast<uintmax_t>(kMaxProtoBytes) + 1);
  auto model = LoadModel(huge);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(model.status().message().find(huge.string()), std::string::npos) << model.status().message();
  EXPECT_NE(model.status().message().find("external data"), std::string::npos) << model.status().message();
}

TEST_F(ModelIoTest, SaveIntoMissingDirectoryFailsCleanly) {
  auto model = LoadModel(ModelPath("resnet_fmnist.onnx"));
  ASSERT_TRUE(model.ok());
  for (const ExternalData mode : {ExternalData::kNever, ExternalData::kAlways}) {
    const fs::path out = dir_ / "no" / "such" / "model.onnx";
    const Status status = SaveModel(*model, out, {.external_data = mode});
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.code(), StatusCode::kIoError);
    EXPECT_EQ(status.message(), "cannot write '" + out.string() + "': its folder '" + out.parent_path().string() +
                                    "' does not exist; create it first");
    EXPECT_TRUE(Listing(dir_).empty());
  }
}

TEST_F(ModelIoTest, SaveOntoADirectoryLeavesNothingBehind) {
  auto model = LoadModel(ModelPath("resnet_fmnist.onnx"));
  ASSERT_TRUE(model.ok());
  const fs::path out = dir_ / "taken";
  fs::create_directory(out);
  for (const ExternalData mode : {ExternalData::kNever, ExternalData::kAlways}) {
    const Status status = SaveModel(*model, out, {.external_data = mode});
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(status.message(), "output '" + out.string() + "' is a directory; give the path of a file to write");
    // Neither the temporary file nor a data file without its model remains.
    EXPECT_EQ(Listing(dir_), std::vector<std::string>{"taken"});
    EXPECT_TRUE(Listing(out).empty());
  }
}

TEST_F(ModelIoTest, SaveReplacesAnExistingFileAtomically) {
  auto first = LoadModel(ModelPath("resnet_fmnist.onnx"));
  auto second = LoadModel(ModelPath("mbv2_fmnist.onnx"));
  ASSERT_TRUE(first.ok() && second.ok());
  const fs::path out = dir_ / "model.onnx";
  ASSERT_TRUE(SaveModel(*first, out).ok());
  // A second name for the first file: an in-place rewrite would change what it holds, a rename does not.
  const fs::path old_link = dir_ / "old.onnx";
  fs::create_hard_link(out, old_link);

  ASSERT_TRUE(SaveModel(*second, out).ok());
  EXPECT_TRUE(ReadBytes(out) == second->SerializeAsString());
  EXPECT_TRUE(ReadBytes(old_link) == first->SerializeAsString());
  EXPECT_EQ(fs::hard_link_count(out), 1U);
  EXPECT_EQ(Listing(dir_), (std::vector<std::string>{"model.onnx", "old.onnx"}));
}

TEST_F(ModelIoTest, FailedSaveWithExternalDataKeepsTheOldModelAndItsData) {
  auto first = LoadModel(ModelPath("resnet_fmnist.onnx"));
  auto second = LoadModel(ModelPath("mbv2_fmnist.onnx"));
  ASSERT_TRUE(first.ok() && second.ok());
  const fs::path out = dir_ / "model.onnx";
  const SaveOptions external{.external_data = ExternalData::kAlways};
  ASSERT_TRUE(SaveModel(*first, out, external).ok());
  const std::string model_bytes = ReadBytes(out);
  const std::string old_data = DataFile(dir_, "model.onnx");
  const std::string data_bytes = ReadBytes(dir_ / old_data);

  // The name the second save's data gets is taken by an input of other content: the save fails after
  // writing both temporaries, and must leave the old pair as it was and no temporary behind.
  const fs::path probe = dir_ / "probe";
  fs::create_directory(probe);
  ASSERT_TRUE(SaveModel(*second, probe / "model.onnx", external).ok());
  const std::string new_data = DataFile(probe, "model.onnx");
  fs::remove_all(probe);
  WriteBytes(dir_ / new_data, "an input of other bytes");
  SaveOptions blocked = external;
  blocked.inputs = {{dir_ / new_data, "calibration data"}};
  const Status status = SaveModel(*second, out, blocked);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_EQ(status.message(), "cannot write '" + (dir_ / new_data).string() + "': it is calibration data '" +
                                  (dir_ / new_data).string() +
                                  "' and holds other bytes under the same hash; give another output path");
  EXPECT_TRUE(ReadBytes(out) == model_bytes);
  EXPECT_TRUE(ReadBytes(dir_ / old_data) == data_bytes);
  EXPECT_EQ(ReadBytes(dir_ / new_data), "an input of other bytes");
  EXPECT_EQ(Listing(dir_), Sorted({"model.onnx", old_data, new_data}));
  auto reloaded = LoadModel(out);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().message();
  EXPECT_EQ(reloaded->SerializeAsString(), first->SerializeAsString());

  // A save that succeeds replaces both and leaves no temporary or old file behind.
  fs::remove(dir_ / new_data);
  ASSERT_TRUE(SaveModel(*second, out, external).ok());
  EXPECT_EQ(Listing(dir_), (std::vector<std::string>{"model.onnx", new_data}));
  auto replaced = LoadModel(out);
  ASSERT_TRUE(replaced.ok()) << replaced.status().message();
  EXPECT_EQ(replaced->SerializeAsString(), second->SerializeAsString());
}

TEST_F(ModelIoTest, WriteFileAtomicallyWritesAndReplaces) {
  const fs::path path = dir_ / "file.bin";
  ASSERT_TRUE(WriteFileAtomically(path, std::string("first\0content", 13)).ok());
  EXPECT_EQ(ReadBytes(path), std::string("first\0content", 13));
  ASSERT_TRUE(WriteFileAtomically(path, "2").ok());
  EXPECT_EQ(ReadBytes(path), "2");
  EXPECT_EQ(Listing(dir_), std::vector<std::string>{"file.bin"});
}

TEST_F(ModelIoTest, FitsInOneProtoComparesTheSerializedSize) {
  auto model = LoadModel(ModelPath("resnet_fmnist.onnx"));
  ASSERT_TRUE(model.ok());
  const auto size = static_cast<int64_t>(model->ByteSizeLong());
  EXPECT_TRUE(FitsInOneProto(*model));
  EXPECT_TRUE(FitsInOneProto(*model, size + 1));
  EXPECT_FALSE(FitsInOneProto(*model, size));
  EXPECT_FALSE(FitsInOneProto(*model, 1024));
}

TEST_F(ModelIoTest, AutoGoesExternalOnlyWhenTheModelDoesNotFit) {
  auto model = LoadModel(ModelPath("resnet_fmnist.onnx"));
  ASSERT_TRUE(model.ok());
  const auto size = static_cast<int64_t>(model->ByteSizeLong());

  // Fits: one file.
  ASSERT_TRUE(SaveModel(*model, dir_ / "fits.onnx", {.external_data = ExternalData::kAuto}).ok());
  EXPECT_EQ(Listing(dir_), std::vector<std::string>{"fits.onnx"});
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(dir_ / "fits.onnx")), size);

  // Over the (lowered) limit: weights go to a data file and the model file itself fits.
  const int64_t limit = size / 2;
  ASSERT_TRUE(
      SaveModel(*model, dir_ / "big.onnx", {.external_data = ExternalData::kAuto, .max_proto_bytes = limit}).ok());
  const std::string big_data = DataFile(dir_, "big.onnx");
  ASSERT_FALSE(big_data.empty()) << ::testing::PrintToString(Listing(dir_));
  EXPECT_EQ(Listing(dir_), (std::vector<std::string>{"big.onnx", big_data, "fits.onnx"}));
  EXPECT_LT(static_cast<int64_t>(fs::file_size(dir_ / "big.onnx")), limit);
  auto reloaded = LoadModel(dir_ / "big.onnx");
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().message();
  EXPECT_TRUE(reloaded->SerializeAsString() == model->SerializeAsString());

  // kNever over the limit: refused, nothing written.
  const fs::path never = dir_ / "never.onnx";
  const Status status = SaveModel(*model, never, {.external_data = ExternalData::kNever, .max_proto_bytes = limit});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find(never.string()), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("external data"), std::string::npos) << status.message();
  EXPECT_FALSE(fs::exists(never));
}

TEST_F(ModelIoTest, SaveRefusesToReplaceItsInputUnderAnySpelling) {
  const fs::path input = dir_ / "model.onnx";
  WriteBytes(input, ReadBytes(ModelPath("resnet_fmnist.onnx")));
  ModelFiles files;
  auto model = LoadModel(input, &files);
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(files.model, input);
  EXPECT_TRUE(files.data.empty());
  const std::string original = ReadBytes(input);
  fs::create_directory(dir_ / "sub");
  fs::create_hard_link(input, dir_ / "hard.onnx");
  fs::create_symlink(input, dir_ / "link.onnx");
  for (const ExternalData mode : {ExternalData::kNever, ExternalData::kAlways}) {
    for (const fs::path& spelling : {input, dir_ / "." / "model.onnx", dir_ / "sub" / ".." / "model.onnx",
                                     dir_ / "hard.onnx", dir_ / "link.onnx"}) {
      SCOPED_TRACE(spelling.string());
      const Status status =
          SaveModel(*model, spelling, {.external_data = mode, .inputs = AsInputs(files, "the input model")});
      ASSERT_FALSE(status.ok());
      EXPECT_EQ(status.message(), "output '" + spelling.string() + "' is the same file as the input model '" +
                                      input.string() +
                                      "'; writing it would destroy the input: give another output path");
      EXPECT_TRUE(ReadBytes(input) == original) << "the input changed";
      EXPECT_EQ(Listing(dir_), (std::vector<std::string>{"hard.onnx", "link.onnx", "model.onnx", "sub"}));
    }
  }
}

// A model saved as `path` with external data whose file has onnxq's name from before data files were
// named by content, "<path>.data"; returns that name.
std::string SaveWithLegacyDataName(const onnx::ModelProto& model, const fs::path& path) {
  const fs::path scratch = path.parent_path() / "scratch";
  fs::create_directory(scratch);
  EXPECT_TRUE(SaveModel(model, scratch / "m.onnx", {.external_data = ExternalData::kAlways}).ok());
  const std::string legacy = path.filename().string() + ".data";
  fs::rename(scratch / DataFile(scratch, "m.onnx"), path.parent_path() / legacy);
  auto stored = ParseModel(ReadBytes(scratch / "m.onnx"), "m.onnx");
  EXPECT_TRUE(stored.ok());
  for (auto& init : *stored->mutable_graph()->mutable_initializer()) {
    for (auto& entry : *init.mutable_external_data()) {
      if (entry.key() == "location") entry.set_value(legacy);
    }
  }
  WriteBytes(path, stored->SerializeAsString());
  fs::remove_all(scratch);
  return legacy;
}

TEST_F(ModelIoTest, SaveNeverReplacesOrRemovesTheInputsData) {
  auto first = LoadModel(ModelPath("resnet_fmnist.onnx"));
  auto second = LoadModel(ModelPath("mbv2_fmnist.onnx"));
  ASSERT_TRUE(first.ok() && second.ok());
  // b.onnx with its data in "b.onnx.data", and a.onnx a copy of it: the input a.onnx reads the very
  // data file that a save to b.onnx would once have written over, and would now remove as b.onnx's old
  // data.
  const std::string legacy = SaveWithLegacyDataName(*first, dir_ / "b.onnx");
  fs::copy_file(dir_ / "b.onnx", dir_ / "a.onnx");
  const std::string data_bytes = ReadBytes(dir_ / legacy);
  ModelFiles files;
  ASSERT_TRUE(LoadModel(dir_ / "a.onnx", &files).ok());
  ASSERT_EQ(files.data, std::vector<fs::path>{fs::canonical(dir_ / legacy)});

  ASSERT_TRUE(SaveModel(*second, dir_ / "b.onnx",
                        {.external_data = ExternalData::kAlways, .inputs = AsInputs(files, "the input model")})
                  .ok());
  EXPECT_TRUE(ReadBytes(dir_ / legacy) == data_bytes);
  const std::string new_data = DataFile(dir_, "b.onnx");
  EXPECT_EQ(Listing(dir_), Sorted({"a.onnx", "b.onnx", legacy, new_data}));
  auto input = LoadModel(dir_ / "a.onnx");
  ASSERT_TRUE(input.ok()) << input.status().message();
  EXPECT_EQ(input->SerializeAsString(), first->SerializeAsString());
  auto output = LoadModel(dir_ / "b.onnx");
  ASSERT_TRUE(output.ok()) << output.status().message();
  EXPECT_EQ(output->SerializeAsString(), second->SerializeAsString());

  // Without inputs to keep, the old data of b.onnx goes once the new model is in place.
  fs::remove(dir_ / "a.onnx");
  const std::string other = SaveWithLegacyDataName(*first, dir_ / "c.onnx");
  ASSERT_TRUE(SaveModel(*second, dir_ / "c.onnx", {.external_data = ExternalData::kAlways}).ok());
  EXPECT_FALSE(fs::exists(dir_ / other));
  // The same weights as b.onnx's: the same hash.
  EXPECT_EQ(DataFiles(dir_, "c.onnx"), std::vector<std::string>{"c" + new_data.substr(1)});
}

TEST_F(ModelIoTest, SameContentKeepsItsDataFileWhenItIsAnInput) {
  auto model = LoadModel(ModelPath("resnet_fmnist.onnx"));
  ASSERT_TRUE(model.ok());
  // Saved twice with the same weights: the same data name, and the input's data file (the same name)
  // is neither replaced nor removed.
  const fs::path out = dir_ / "model.onnx";
  ASSERT_TRUE(SaveModel(*model, out, {.external_data = ExternalData::kAlways}).ok());
  const std::string data = DataFile(dir_, "model.onnx");
  const auto identity = IdentityOf(dir_ / data);
  fs::copy_file(out, dir_ / "copy.onnx");
  fs::create_directory(dir_ / "elsewhere");
  ModelFiles files;
  ASSERT_TRUE(LoadModel(dir_ / "copy.onnx", &files).ok());
  ASSERT_TRUE(
      SaveModel(*model, out, {.external_data = ExternalData::kAlways, .inputs = AsInputs(files, "the input model")})
          .ok());
  EXPECT_EQ(IdentityOf(dir_ / data), identity) << "the input's data file was replaced";
  EXPECT_EQ(Listing(dir_), (std::vector<std::string>{"copy.onnx", "elsewhere", "model.onnx", data}));
  // Not an input: replaced by a rename (a new inode), the bytes the same.
  ASSERT_TRUE(SaveModel(*model, out, {.external_data = ExternalData::kAlways}).ok());
  EXPECT_NE(IdentityOf(dir_ / data), identity);
  EXPECT_EQ(Listing(dir_), (std::vector<std::string>{"copy.onnx", "elsewhere", "model.onnx", data}));
  auto reloaded = LoadModel(dir_ / "copy.onnx");
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().message();
}

TEST_F(ModelIoTest, SaveReplacesASymlinkItselfAndRefusesAFifo) {
  auto model = LoadModel(ModelPath("resnet_fmnist.onnx"));
  ASSERT_TRUE(model.ok());
  const fs::path target = dir_ / "elsewhere.txt";
  WriteBytes(target, "not a model");
  const fs::path link = dir_ / "model.onnx";
  fs::create_symlink(target, link);
  ASSERT_TRUE(SaveModel(*model, link).ok());
  EXPECT_FALSE(fs::is_symlink(link));
  EXPECT_TRUE(ReadBytes(link) == model->SerializeAsString());
  EXPECT_EQ(ReadBytes(target), "not a model");

  const fs::path fifo = dir_ / "pipe.onnx";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const ExternalData mode : {ExternalData::kNever, ExternalData::kAlways}) {
    const Status status = SaveModel(*model, fifo, {.external_data = mode});
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.message(), "output '" + fifo.string() +
                                    "' is a fifo, not a regular file; onnxq replaces only regular files: give another "
                                    "output path");
    EXPECT_TRUE(fs::is_fifo(fifo));
    EXPECT_EQ(Listing(dir_), (std::vector<std::string>{"elsewhere.txt", "model.onnx", "pipe.onnx"}));
  }
}

TEST_F(ModelIoTest, AKillAtAnyStepOfTheSaveLeavesAConsistentModel) {
  auto first = LoadModel(ModelPath("resnet_fmnist.onnx"));
  auto second = LoadModel(ModelPath("mbv2_fmnist.onnx"));
  ASSERT_TRUE(first.ok() && second.ok());
  const SaveOptions external{.external_data = ExternalData::kAlways};
  const fs::path out = dir_ / "model.onnx";
  const std::regex temporary(R"(model\.onnx\.tmp-[a-z0-9]{12})");
  auto count_temporaries = [&] {
    const auto names = Listing(dir_);
    return std::count_if(names.begin(), names.end(),
                         [&](const std::string& name) { return std::regex_match(name, temporary); });
  };
  for (const SaveStep last : {SaveStep::kTemporariesWritten, SaveStep::kDataPublished, SaveStep::kModelPublished}) {
    SCOPED_TRACE(static_cast<int>(last));
    for (const auto& name : Listing(dir_)) fs::remove(dir_ / name);
    ASSERT_TRUE(SaveModel(*first, out, external).ok());
    const std::string old_data = DataFile(dir_, "model.onnx");
    const std::string old_bytes = ReadBytes(dir_ / old_data);

    ASSERT_TRUE(SaveModelThrough(*second, out, external, last).ok());
    // Whatever the model file is now, it loads whole, with the weights that were written with it.
    auto loaded = LoadModel(out);
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    const bool replaced = last == SaveStep::kModelPublished;
    EXPECT_EQ(loaded->SerializeAsString(), (replaced ? *second : *first).SerializeAsString());
    EXPECT_TRUE(ReadBytes(dir_ / old_data) == old_bytes) << "the old model's data changed";
    const auto data_files = DataFiles(dir_, "model.onnx");
    switch (last) {
      case SaveStep::kTemporariesWritten:  // the model and its data, under temporary names
        EXPECT_EQ(count_temporaries(), 2);
        EXPECT_EQ(data_files, std::vector<std::string>{old_data});
        break;
      case SaveStep::kDataPublished:  // the new data under its own name, no model names it yet
        EXPECT_EQ(count_temporaries(), 1);
        EXPECT_EQ(data_files.size(), 2U);
        break;
      default:  // the new model and its data; the old data still there, unused
        EXPECT_EQ(count_temporaries(), 0);
        EXPECT_EQ(data_files.size(), 2U);
        break;
    }
  }
  // The full save: the old data goes after the model is replaced.
  for (const auto& name : Listing(dir_)) fs::remove(dir_ / name);
  ASSERT_TRUE(SaveModel(*first, out, external).ok());
  ASSERT_TRUE(SaveModel(*second, out, external).ok());
  EXPECT_EQ(Listing(dir_).size(), 2U);
  EXPECT_EQ(DataFiles(dir_, "model.onnx").size(), 1U);
  // A save in one file drops the data the old model had.
  ASSERT_TRUE(SaveModel(*first, out).ok());
  EXPECT_EQ(Listing(dir_), std::vector<std::string>{"model.onnx"});
}

TEST_F(ModelIoTest, ConcurrentSavesNeverPairOneModelWithAnothersData) {
  auto first = LoadModel(ModelPath("resnet_fmnist.onnx"));
  auto second = LoadModel(ModelPath("mbv2_fmnist.onnx"));
  ASSERT_TRUE(first.ok() && second.ok());
  const std::string first_bytes = first->SerializeAsString();
  const std::string second_bytes = second->SerializeAsString();
  const fs::path out = dir_ / "model.onnx";
  const SaveOptions external{.external_data = ExternalData::kAlways, .durability = Durability::kCacheOnly};
  ASSERT_TRUE(SaveModel(*first, out, external).ok());

  constexpr int kSaves = 15;
  std::atomic<bool> writing{true};
  std::atomic<int> mixed{0};
  std::atomic<int> loads{0};
  std::thread reader([&] {
    while (writing.load()) {
      auto loaded = LoadModel(out);
      if (loaded.ok()) {
        const std::string bytes = loaded->SerializeAsString();
        if (bytes != first_bytes && bytes != second_bytes) ++mixed;
        ++loads;
      } else if (loaded.status().message().find("external data") == std::string::npos) {
        ++mixed;  // only the race of a data file removed after its model was read may fail a load
      }
    }
  });
  auto writer = [&](const onnx::ModelProto& model) {
    for (int i = 0; i < kSaves; ++i) EXPECT_TRUE(SaveModel(model, out, external).ok());
  };
  std::thread one(writer, std::cref(*first));
  std::thread two(writer, std::cref(*second));
  one.join();
  two.join();
  writing = false;
  reader.join();
  EXPECT_EQ(mixed.load(), 0);
  EXPECT_GT(loads.load(), 0);
  auto last = LoadModel(out);
  ASSERT_TRUE(last.ok()) << last.status().message();
  const std::string bytes = last->SerializeAsString();
  EXPECT_TRUE(bytes == first_bytes || bytes == second_bytes);
  for (const auto& name : Listing(dir_)) EXPECT_EQ(name.find(".tmp-"), std::string::npos) << name;
}

TEST_F(ModelIoTest, ExternalDataThroughASymlinkOutOfTheFolderIsRefused) {
  auto model = LoadModel(ModelPath("resnet_fmnist.onnx"));
  ASSERT_TRUE(model.ok());
  const fs::path folder = dir_ / "model";
  const fs::path outside = dir_ / "outside";
  fs::create_directories(folder);
  fs::create_directories(outside);
  ASSERT_TRUE(SaveModel(*model, outside / "model.onnx", {.external_data = ExternalData::kAlways}).ok());
  const std::string data = DataFile(outside, "model.onnx");
  fs::copy_file(outside / "model.onnx", folder / "model.onnx");
  // The model names its data by a plain file name, so the ".." check passes; the file is a link out.
  fs::create_symlink(outside / data, folder / data);
  auto loaded = LoadModel(folder / "model.onnx");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidModel);
  EXPECT_NE(loaded.status().message().find("external data '" + data + "' resolves to '" +
                                           fs::canonical(outside / data).string() + "', outside the model's folder '" +
                                           fs::canonical(folder).string() + "' (through a symlink)"),
            std::string::npos)
      << loaded.status().message();
  EXPECT_TRUE(loaded.status().message().starts_with("tensor '")) << loaded.status().message();

  // A link that stays inside the folder is fine.
  fs::remove(folder / data);
  fs::copy_file(outside / data, folder / "weights.bin");
  fs::create_symlink("weights.bin", folder / data);
  ModelFiles files;
  auto inside = LoadModel(folder / "model.onnx", &files);
  ASSERT_TRUE(inside.ok()) << inside.status().message();
  EXPECT_EQ(files.data, std::vector<fs::path>{fs::canonical(folder / "weights.bin")});
}

}  // namespace
}  // namespace onnxq
