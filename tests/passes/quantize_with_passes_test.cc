// The passes inside the quantize pipeline: the order PrepareModel documents, and the project's
// default model (mbv2_fmnist_bn) quantized with its batch norms folded.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ir/graph_view.h"
#include "onnxq/evaluate.h"
#include "onnxq/extra_options.h"
#include "onnxq/quantize.h"
#include "pass_test_util.h"
#include "pipeline/prepare_model.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::OpCounts;

Result<std::unique_ptr<CalibrationDataReader>> Open(const std::string& file, int64_t max_samples) {
  return OpenArrayFiles({{"input", testing::DataDir() / file, {}, ElementType::kFloat}},
                        {.batch_size = 1, .max_samples = max_samples});
}

double Top1(const onnx::ModelProto& model) {
  auto labels = LoadLabels(testing::DataDir() / "eval_labels.u8");
  EXPECT_TRUE(labels.ok());
  auto eval = Open("eval_10000.npy", -1);
  EXPECT_TRUE(eval.ok());
  if (!labels.ok() || !eval.ok()) return 0;
  auto accuracy = EvaluateClassifier(model, **eval, *labels);
  EXPECT_TRUE(accuracy.ok()) << accuracy.status().message();
  return accuracy.ok() ? accuracy->top1 : 0.0;
}

TEST(QuantizeWithPassesTest, PassOrder) {
  using Ids = std::vector<std::string>;
  EXPECT_EQ(PreparePassIds({}),
            (Ids{"sort_topologically", "rename_duplicate_nodes", "constants_to_initializers", "fold_weight_casts",
                 "convert_float16_to_float", "eliminate_identity", "fold_shape_computations", "unshare_biases",
                 "crop_padding_taps", "fold_batch_norm"}));
  PassOptions all;
  all.convert_bn_to_conv = true;
  all.convert_reduce_mean_to_gap = true;
  all.split_large_kernel_pool = true;
  all.convert_split_to_slice = true;
  all.replace_clip6_relu = true;
  all.include_cle = true;
  all.high_bias_absorption = true;
  all.simulate_dpu = true;
  EXPECT_EQ(PreparePassIds(all),
            (Ids{"sort_topologically", "rename_duplicate_nodes", "constants_to_initializers", "fold_weight_casts",
                 "convert_float16_to_float", "eliminate_identity", "fold_shape_computations", "unshare_biases",
                 "crop_padding_taps", "fold_batch_norm", "convert_bn_to_conv", "convert_reduce_mean_to_gap",
                 "split_large_kernel_pool", "convert_split_to_slice", "replace_clip6_with_relu", "equalize_cross_layer",
                 "absorb_high_bias", "simulate_dpu"}));
}

// ReduceMean over H and W -> GlobalAveragePool -> split when over 512 values -> the DPU's multipliers,
// in PrepareModel's order: the pools the split made get their multipliers.
TEST(QuantizeWithPassesTest, AReduceMeanOverALargeImageBecomesTwoPoolsWithTheirMultipliers) {
  struct Case {
    int64_t size;
    int64_t blocks;     // f(size): the first pool's kernel, each way
    double correction;  // of the second pool, over (size / blocks)^2 values; the first is a 4x4 pool (exact)
  };
  // 32: 4x4 blocks, then 8x8 = 64 values, exact in M / 2^N. 28: 4x4 blocks, then 7x7 = 49: 21/1024.
  const Case cases[] = {{32, 4, 1.0}, {28, 4, 49.0 * 21.0 / 1024.0}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.size);
    const std::string n = std::to_string(c.size);
    const onnx::ModelProto before = testing::ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 3, )" + n + ", " + n + R"(] X) => (float[1, 3, 1, 1] Y)
{
  Y = ReduceMean <axes = [2, 3]> (X)
}
)");
    onnx::ModelProto model = before;
    PrepareOptions options;
    options.passes.convert_reduce_mean_to_gap = true;
    options.passes.split_large_kernel_pool = true;
    options.passes.simulate_dpu = true;
    auto report = PrepareModel(model, options);
    ASSERT_TRUE(report.ok()) << report.status().message();
    std::vector<std::string> chain;
    for (const auto& node : model.graph().node()) chain.push_back(node.op_type());
    const bool scaled = c.correction != 1.0;
    std::vector<std::string> expected = {"AveragePool", "GlobalAveragePool"};
    if (scaled) expected.emplace_back("Mul");
    EXPECT_EQ(chain, expected);
    const auto& pool = model.graph().node(0);
    EXPECT_EQ(pool.input(0), "X");
    EXPECT_EQ(AttrInts(pool, "kernel_shape"), (std::vector<int64_t>{c.blocks, c.blocks}));
    EXPECT_EQ(model.graph().node(1).input(0), pool.output(0));
    EXPECT_EQ(model.graph().node(model.graph().node_size() - 1).output(0), "Y");
    if (scaled) {
      EXPECT_EQ(testing::InitializerValues(model, model.graph().node(2).input(1)),
                (std::vector<float>{static_cast<float>(c.correction)}));
    }
    const Feeds feeds = {testing::RandomTensor("X", {1, 3, c.size, c.size}, 11, 0.5F, 2.0F)};
    const auto exact = testing::RunFirstOutput(before, feeds);
    const auto dpu = testing::RunFirstOutput(model, feeds);
    ASSERT_EQ(exact.size(), 3U);
    ASSERT_EQ(dpu.size(), 3U);
    for (size_t i = 0; i < exact.size(); ++i) EXPECT_NEAR(dpu[i], exact[i] * c.correction, 1e-6) << i;
  }
}

TEST(QuantizeWithPassesTest, ExtraOptions) {
  QuantizeOptions options;
  ASSERT_TRUE(ApplyExtraOptions({{"ReplaceClip6Relu", "True"},
                                 {"IncludeCLE", "1"},
                                 {"CLESteps", "-1"},
                                 {"CLEScaleAppendBias", "False"},
                                 {"CLETotalLayerDiffThreshold", "1e-6"},
                                 {"CLEScaleUseThreshold", "False"},
                                 {"CLEWeightThreshold", "0.25"},
                                 {"ConvertBNToConv", "True"},
                                 {"HighBiasAbsorption", "True"},
                                 {"BiasCorrection", "True"}},
                                &options)
                  .ok());
  const PassOptions& p = options.passes;
  EXPECT_TRUE(p.replace_clip6_relu && p.include_cle && p.convert_bn_to_conv && p.high_bias_absorption &&
              p.bias_correction);
  EXPECT_EQ(p.cle.steps, -1);
  EXPECT_FALSE(p.cle.scale_append_bias);
  EXPECT_DOUBLE_EQ(p.cle.total_layer_diff_threshold, 1e-6);
  EXPECT_FALSE(p.cle.use_small_range_threshold);
  EXPECT_FLOAT_EQ(p.cle.small_range_threshold, 0.25F);
  EXPECT_FALSE(ApplyExtraOptions({{"CLESteps", "1.5"}}, &options).ok());
  EXPECT_FALSE(ApplyExtraOptions({{"CLESteps", "-2"}}, &options).ok());
  const Status unknown = ApplyExtraOptions({{"CLEStep", "2"}}, &options);
  EXPECT_FALSE(unknown.ok());
  EXPECT_NE(unknown.message().find("CLEStep"), std::string::npos);
}

TEST(QuantizeWithPassesTest, DefaultModelHasNoFloatBatchNormAndKeepsAccuracy) {
  auto model = LoadModel(testing::ModelPath("mbv2_fmnist_bn.onnx"));
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_EQ(OpCounts(*model).at("BatchNormalization"), 31);
  auto calib = Open("calib_1000.npy", 300);
  ASSERT_TRUE(calib.ok());
  QuantizeReport report;
  auto quantized = QuantizeModel(*model, calib->get(), {}, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_EQ(OpCounts(*quantized).count("BatchNormalization"), 0U);
  for (const auto& decision : report.left_float) EXPECT_NE(decision.op_type, "BatchNormalization");
  constexpr double kFloatTop1 = 92.39;
  EXPECT_GE(Top1(*quantized), kFloatTop1 - 1.0);
}

TEST(QuantizeWithPassesTest, EqualizationRescuesImbalancedModel) {
  auto model = LoadModel(testing::ModelPath("mbv2_fmnist_imbalanced.onnx"));
  ASSERT_TRUE(model.ok()) << model.status().message();
  constexpr double kFloatTop1 = 92.23;
  QuantizeOptions options;
  auto calib = Open("calib_1000.npy", 300);
  ASSERT_TRUE(calib.ok());
  auto plain = QuantizeModel(*model, calib->get(), options);
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_LT(Top1(*plain), 50.0);  // per-tensor int8 collapses

  options.passes.include_cle = true;
  auto calib_again = Open("calib_1000.npy", 300);
  ASSERT_TRUE(calib_again.ok());
  QuantizeReport report;
  auto equalized = QuantizeModel(*model, calib_again->get(), options, &report);
  ASSERT_TRUE(equalized.ok()) << equalized.status().message();
  EXPECT_GE(Top1(*equalized), kFloatTop1 - 1.0);
  bool noted = false;
  for (const auto& w : report.warnings)
    noted |= w.starts_with("equalize_cross_layer: 1 pairs and 9 depthwise triplets");
  EXPECT_TRUE(noted);
}

}  // namespace
}  // namespace onnxq
