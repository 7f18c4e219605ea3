#include "io/weights_on_disk.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace onnxq {
namespace {

// A model with two float initializers: "big" of 3 * 4096 bytes and "small" of 8 bytes.
onnx::ModelProto TwoWeights() {
  onnx::ModelProto model;
  auto add = [&model](const std::string& name, size_t bytes, char fill) {
    auto* init = model.mutable_graph()->add_initializer();
    init->set_name(name);
    init->set_data_type(onnx::TensorProto::FLOAT);
    init->add_dims(static_cast<int64_t>(bytes / 4));
    init->set_raw_data(std::string(bytes, fill));
  };
  add("big", 3 * 4096, 'b');
  add("small", 8, 's');
  return model;
}

std::string External(const onnx::TensorProto& tensor, const std::string& key) {
  for (const auto& entry : tensor.external_data()) {
    if (entry.key() == key) return entry.value();
  }
  return "(none)";
}

TEST(WeightsOnDiskTest, MovesOnlyLargeTensorsAndRestoresTheSameBytes) {
  onnx::ModelProto model = TwoWeights();
  const onnx::ModelProto before = model;
  auto moved = WeightsOnDisk::Move(model, /*min_tensor_bytes=*/4096, /*min_total_bytes=*/4096);
  ASSERT_TRUE(moved.ok()) << moved.status().message();
  ASSERT_TRUE(moved->moved());
  const auto& big = model.graph().initializer(0);
  EXPECT_EQ(big.data_location(), onnx::TensorProto::EXTERNAL);
  EXPECT_FALSE(big.has_raw_data());
  const std::filesystem::path location = External(big, "location");
  EXPECT_TRUE(location.is_absolute());
  EXPECT_EQ(std::filesystem::file_size(location), 3U * 4096);
  EXPECT_EQ(External(big, "offset"), "0");
  EXPECT_EQ(External(big, "length"), "12288");
  EXPECT_EQ(model.graph().initializer(1).raw_data(), std::string(8, 's'));  // under the tensor threshold

  onnx::ModelProto relative = model;
  EXPECT_EQ(RelativizeAbsoluteExternalData(relative), location.parent_path());
  EXPECT_EQ(External(relative.graph().initializer(0), "location"), "weights.data");

  ASSERT_TRUE(moved->Restore(model).ok());
  EXPECT_FALSE(moved->moved());
  EXPECT_FALSE(std::filesystem::exists(location));  // the folder goes with the restore
  EXPECT_EQ(model.SerializeAsString(), before.SerializeAsString());
}

// A copy made while the weights are on disk holds their locations: ReadBack restores the model and
// keeps the file for the copy, which Restore brings back later (RangeFallback's float copy).
TEST(WeightsOnDiskTest, ReadBackKeepsTheFileForACopy) {
  onnx::ModelProto model = TwoWeights();
  const onnx::ModelProto before = model;
  auto moved = WeightsOnDisk::Move(model, /*min_tensor_bytes=*/4096, /*min_total_bytes=*/0);
  ASSERT_TRUE(moved.ok()) << moved.status().message();
  onnx::ModelProto copy = model;
  EXPECT_FALSE(copy.graph().initializer(0).has_raw_data());
  ASSERT_TRUE(moved->ReadBack(model).ok());
  EXPECT_EQ(model.SerializeAsString(), before.SerializeAsString());
  const std::filesystem::path location = External(copy.graph().initializer(0), "location");
  EXPECT_TRUE(std::filesystem::exists(location));
  ASSERT_TRUE(moved->Restore(copy).ok());
  EXPECT_EQ(copy.SerializeAsString(), before.SerializeAsString());
  EXPECT_FALSE(std::filesystem::exists(location));
}

TEST(WeightsOnDiskTest, LeavesAModelWithFewWeightsAlone) {
  onnx::ModelProto model = TwoWeights();
  auto moved = WeightsOnDisk::Move(model, /*min_tensor_bytes=*/4096, /*min_total_bytes=*/3 * 4096 + 1);
  ASSERT_TRUE(moved.ok());
  EXPECT_FALSE(moved->moved());
  EXPECT_EQ(model.graph().initializer(0).raw_data(), std::string(3 * 4096, 'b'));
  EXPECT_EQ(RelativizeAbsoluteExternalData(model), std::nullopt);
}

}  // namespace
}  // namespace onnxq
