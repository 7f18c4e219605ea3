// OptimizeModel: passes by id, in order, on the embedded models; unknown ids refused before any work.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "onnxq/model_io.h"
#include "onnxq/optimize.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

int CountOps(const onnx::ModelProto& model, const std::string& op_type) {
  return static_cast<int>(std::count_if(model.graph().node().begin(), model.graph().node().end(),
                                        [&](const onnx::NodeProto& n) { return n.op_type() == op_type; }));
}

TEST(OptimizeModelTest, RunsThePassesInOrderAndKeepsTheValueInfoItHad) {
  auto model = LoadModel(testing::ModelPath("mbv2_fmnist_bn.onnx"));
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_GT(CountOps(*model, "BatchNormalization"), 0);
  const bool had_value_info = model->graph().value_info_size() > 0;
  const auto runs =
      OptimizeModel(*model, {"constants_to_initializers", "eliminate_identity", "fold_batch_norm"}, PassOptions{});
  ASSERT_TRUE(runs.ok()) << runs.status().message();
  ASSERT_EQ(runs->size(), 3U);
  EXPECT_EQ((*runs)[2].id, "fold_batch_norm");
  EXPECT_EQ((*runs)[2].changes, 31);
  EXPECT_EQ(CountOps(*model, "BatchNormalization"), 0);
  EXPECT_EQ(model->graph().value_info_size() > 0, had_value_info);
}

TEST(OptimizeModelTest, AnUnknownIdIsRefusedBeforeAnyPassRuns) {
  auto model = LoadModel(testing::ModelPath("mbv2_fmnist_bn.onnx"));
  ASSERT_TRUE(model.ok());
  const std::string before = model->SerializeAsString();
  const auto runs = OptimizeModel(*model, {"fold_batch_norm", "no_such_pass"}, PassOptions{});
  ASSERT_FALSE(runs.ok());
  EXPECT_EQ(runs.status().code(), StatusCode::kNotFound);
  EXPECT_NE(runs.status().message().find("no_such_pass"), std::string::npos) << runs.status().message();
  EXPECT_EQ(model->SerializeAsString(), before);
}

TEST(OptimizeModelTest, ListsEveryPassWithWhatItDoes) {
  const auto passes = ListPasses();
  ASSERT_FALSE(passes.empty());
  const auto fold =
      std::find_if(passes.begin(), passes.end(), [](const PassInfo& p) { return p.id == "fold_batch_norm"; });
  ASSERT_NE(fold, passes.end());
  EXPECT_FALSE(fold->summary.empty());
  EXPECT_TRUE(CheckPassIds({"fold_batch_norm", "equalize_cross_layer"}, PassOptions{}).ok());
}

}  // namespace
}  // namespace onnxq
