#include "onnxq/model_io.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

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
  EXPECT_EQ(Listing(dir_), (std::vector<std::string>{"model.onnx", "model.onnx.data"}));
  EXPECT_LT(fs::file_size(out), fs::file_size(original_path) / 4);
  EXPECT_GT(fs::file_size(dir_ / "model.onnx.data"), fs::file_size(original_path) / 2);

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
      EXPECT_EQ(ExternalValue(init, "location"), "model.onnx.data");
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
  const fs::path data = dir_ / "model.onnx.data";

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
    EXPECT_NE(status.message().find(out.string()), std::string::npos) << status.message();
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
    EXPECT_NE(status.message().find(out.string()), std::string::npos) << status.message();
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
  const std::string data_bytes = ReadBytes(dir_ / "model.onnx.data");

  // The model's temporary name is taken, so the second save fails after writing its data file: the
  // old data must not have been replaced.
  const fs::path blocked = out.string() + ".tmp." + std::to_string(::getpid());
  fs::create_directory(blocked);
  const Status status = SaveModel(*second, out, external);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find(out.string()), std::string::npos) << status.message();
  fs::remove(blocked);
  EXPECT_TRUE(ReadBytes(out) == model_bytes);
  EXPECT_TRUE(ReadBytes(dir_ / "model.onnx.data") == data_bytes);
  EXPECT_EQ(Listing(dir_), (std::vector<std::string>{"model.onnx", "model.onnx.data"}));
  auto reloaded = LoadModel(out);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().message();
  EXPECT_EQ(reloaded->graph().node_size(), first->graph().node_size());

  // A save that succeeds replaces both and leaves no temporary or old file behind.
  ASSERT_TRUE(SaveModel(*second, out, external).ok());
  EXPECT_EQ(Listing(dir_), (std::vector<std::string>{"model.onnx", "model.onnx.data"}));
  auto replaced = LoadModel(out);
  ASSERT_TRUE(replaced.ok()) << replaced.status().message();
  EXPECT_EQ(replaced->graph().node_size(), second->graph().node_size());
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
  EXPECT_EQ(Listing(dir_), (std::vector<std::string>{"big.onnx", "big.onnx.data", "fits.onnx"}));
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

}  // namespace
}  // namespace onnxq
