// Streaming collection: runs are cut to keep large activations in cache, except for statistics that
// are defined per batch of the reader (moving averages, and MostCommon votes with a given batch size),
// which see whole batches.
#include "calibration/collect_statistics.h"

#include <gtest/gtest.h>

#include <random>

#include "calibration/pos_votes_statistic.h"
#include "testing/random_data.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;
using testing::VectorReader;

// 400,000 floats a sample in X and in Y: 3.2 MB, so automatic runs hold a single sample.
constexpr int64_t kWidth = 400000;

onnx::ModelProto WideModel() {
  return ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,400000] X) => (float[N,400000] Y)
{
  Y = Relu(X)
}
)");
}

// `batches` batches of 4 samples, values uniform in [-1, 1).
std::vector<Feeds> Batches(int batches) {
  std::mt19937 rng(5);
  std::vector<Feeds> all;
  for (int b = 0; b < batches; ++b) {
    all.push_back({Tensor::FromFloats("X", {4, kWidth}, testing::RandomVector(4 * kWidth, -1.0F, 1.0F, rng))});
  }
  return all;
}

CalibrationSettings Settings(CalibrationMethod method) {
  CalibrationSettings settings;
  settings.calibration.method = method;
  settings.calibration.threads = 2;
  return settings;
}

TEST(SumOfTest, EqualsTheSumInDouble) {
  // Lengths around the vector width, and values whose float sum would lose the small ones.
  for (const size_t n : {0U, 1U, 7U, 8U, 9U, 1000U, 1003U}) {
    std::vector<float> values;
    double expected = 0;
    for (size_t i = 0; i < n; ++i) {
      values.push_back(i % 2 == 0 ? 1e8F : 0.25F + static_cast<float>(i));
      expected += values.back();
    }
    EXPECT_DOUBLE_EQ(SumOf(values), expected) << n;
  }
}

TEST(CollectStatisticsTest, MostCommonVotesOncePerRunOrPerGivenBatch) {
  CalibrationSettings settings = Settings(CalibrationMethod::kMinMSE);
  settings.calibration.minmse_mode = MinMseMode::kMostCommon;
  // Automatic batch size: one vote per run, and runs of this model hold one sample (3.2 MB).
  // A given batch size: one vote per batch of the reader, however large.
  for (const int64_t batch_size : {int64_t{0}, int64_t{4}}) {
    settings.calibration.batch_size = batch_size;
    auto calibrator = MakeCalibrator(settings);
    ASSERT_TRUE(calibrator.ok());
    VectorReader reader(Batches(3));
    auto collected = CollectStatistics(WideModel(), {"X", "Y"}, reader, **calibrator, settings.calibration, {});
    ASSERT_TRUE(collected.ok()) << collected.status().message();
    EXPECT_EQ(collected->samples, 12);
    for (const char* tensor : {"X", "Y"}) {
      const auto* votes = dynamic_cast<const PosVotesStatistic*>(collected->statistics.at(tensor).get());
      ASSERT_NE(votes, nullptr);
      EXPECT_EQ(votes->batches(), batch_size > 0 ? 3 : 12) << tensor << ", batch size " << batch_size;
    }
  }
}

TEST(CollectStatisticsTest, MovingAverageFollowsReaderBatches) {
  CalibrationSettings settings = Settings(CalibrationMethod::kMinMax);
  settings.calibration.moving_average = true;
  auto calibrator = MakeCalibrator(settings);
  ASSERT_TRUE(calibrator.ok());
  VectorReader reader(Batches(2));
  auto collected = CollectStatistics(WideModel(), {"Y"}, reader, **calibrator, settings.calibration, {});
  ASSERT_TRUE(collected.ok()) << collected.status().message();
  const auto* minmax = dynamic_cast<const MinMaxStatistic*>(collected->statistics.at("Y").get());
  ASSERT_NE(minmax, nullptr);
  EXPECT_EQ(minmax->batches(), 2);
}

TEST(CollectStatisticsTest, SplitRunsGiveTheWholeBatchRange) {
  const CalibrationSettings settings = Settings(CalibrationMethod::kMinMax);
  auto calibrator = MakeCalibrator(settings);
  ASSERT_TRUE(calibrator.ok());
  const std::vector<Feeds> batches = Batches(2);
  float lo = 1.0F;
  float hi = -1.0F;
  for (const auto& batch : batches) {
    for (const float v : batch[0].floats()) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  VectorReader reader(batches);
  auto collected = CollectStatistics(WideModel(), {"X", "Y"}, reader, **calibrator, settings.calibration, {});
  ASSERT_TRUE(collected.ok()) << collected.status().message();
  const auto* x = dynamic_cast<const MinMaxStatistic*>(collected->statistics.at("X").get());
  const auto* y = dynamic_cast<const MinMaxStatistic*>(collected->statistics.at("Y").get());
  ASSERT_TRUE(x != nullptr && y != nullptr);
  EXPECT_EQ(x->min(), lo);
  EXPECT_EQ(x->max(), hi);
  EXPECT_EQ(y->min(), 0.0F);
  EXPECT_EQ(y->max(), hi);
  EXPECT_EQ(x->batches(), 8);  // one run a sample: 3.2 MB each
}

}  // namespace
}  // namespace onnxq

namespace onnxq {
namespace {

// The graph input of `model_text` with its dims replaced by `dims`.
onnx::ModelProto WithInputDims(const std::string& model_text, const std::vector<int64_t>& dims) {
  onnx::ModelProto model = testing::ParseModelText(model_text);
  auto* shape = model.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  shape->clear_dim();
  for (const int64_t d : dims) shape->add_dim()->set_dim_value(d);
  return model;
}

constexpr char kRelu[] = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,4] X) => (float[N,4] Y)
{
  Y = Relu(X)
}
)";

TEST(ChooseBatchSizeTest, ReadsLargeSamplesAFewAtATime) {
  // 3 x 224 x 224 floats (588 KiB): 16 a batch; 3 x 1024 x 1024 (12 MiB): 1 a batch.
  EXPECT_EQ(ChooseBatchSize(WithInputDims(kRelu, {1, 3, 224, 224}), {}), 16);
  EXPECT_EQ(ChooseBatchSize(WithInputDims(kRelu, {1, 3, 1024, 1024}), {}), 1);
  // A batch size given is kept.
  EXPECT_EQ(ChooseBatchSize(WithInputDims(kRelu, {1, 3, 1024, 1024}), {.batch_size = 4}), 4);
}

TEST(ChooseBatchSizeTest, DimensionsWhoseProductOverflowsGiveOneSampleABatch) {
  const int64_t huge = int64_t{1} << 40;
  EXPECT_EQ(ChooseBatchSize(WithInputDims(kRelu, {1, huge, huge, huge}), {}), 1);
  EXPECT_EQ(ChooseBatchSize(WithInputDims(kRelu, {1, -5, 0}), {}), 16);
}

}  // namespace
}  // namespace onnxq
