// Calibration on the Fashion-MNIST models kept in data/: every method stays within 1.0 point of
// float top-1 on the 10,000 test images (calibrated on 256 images); power-of-two methods give
// power-of-two scales everywhere, bias included; a saved table and merged shard tables quantize
// exactly like a calibration run; random data honours its range and input shapes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "calibration/calibrator.h"
#include "calibration/random_data_reader.h"
#include "ir/tensor_util.h"
#include "onnxq/calibrate.h"
#include "onnxq/evaluate.h"
#include "onnxq/extra_options.h"
#include "onnxq/model_io.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

constexpr int64_t kCalibrationSamples = 256;

Result<std::unique_ptr<CalibrationDataReader>> Open(const std::string& file, int64_t batch, int64_t max_samples) {
  return OpenArrayFiles({{"input", testing::DataDir() / file, {}, ElementType::kFloat}},
                        {.batch_size = batch, .max_samples = max_samples});
}

// A fixed batch of 1 becomes dynamic, so that evaluation runs 500 images per call.
onnx::ModelProto WithDynamicBatch(onnx::ModelProto model) {
  auto* graph = model.mutable_graph();
  for (auto* values : {graph->mutable_input(), graph->mutable_output()}) {
    for (auto& value : *values) {
      auto* shape = value.mutable_type()->mutable_tensor_type()->mutable_shape();
      if (shape->dim_size() > 0) shape->mutable_dim(0)->set_dim_param("N");
    }
  }
  graph->clear_value_info();
  return model;
}

double Top1(const onnx::ModelProto& model) {
  static const std::vector<int64_t> labels = *LoadLabels(testing::DataDir() / "eval_labels.u8");
  auto eval = Open("eval_10000.npy", 500, -1);
  EXPECT_TRUE(eval.ok()) << eval.status().message();
  auto accuracy = EvaluateClassifier(WithDynamicBatch(model), **eval, labels);
  EXPECT_TRUE(accuracy.ok()) << accuracy.status().message();
  EXPECT_EQ(accuracy->samples, 10000);
  return accuracy->top1;
}

bool IsPowerOfTwo(float scale) {
  int exponent = 0;
  return scale > 0.0F && std::frexp(scale, &exponent) == 0.5F;
}

// Scales of every QuantizeLinear / DequantizeLinear (weights, activations and biases).
std::vector<float> QdqScales(const onnx::ModelProto& model) {
  std::map<std::string, const onnx::TensorProto*> initializers;
  for (const auto& init : model.graph().initializer()) initializers[init.name()] = &init;
  std::vector<float> scales;
  for (const auto& node : model.graph().node()) {
    if (node.op_type() != "QuantizeLinear" && node.op_type() != "DequantizeLinear") continue;
    const auto it = initializers.find(node.input(1));
    EXPECT_NE(it, initializers.end()) << node.input(1);
    if (it == initializers.end()) continue;
    const auto values = ToFloats(*it->second);
    EXPECT_TRUE(values.ok());
    scales.insert(scales.end(), values->begin(), values->end());
  }
  return scales;
}

struct Case {
  std::string model;
  double float_top1;
  CalibrationMethod method;
  MinMseMode mode = MinMseMode::kAll;
  bool npu = false;  // ActivationSymmetric with the NPU zero point 128
};

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  std::string name = c.model.substr(0, c.model.find('_')) + "_" + CalibrationMethodName(c.method);
  if (c.mode == MinMseMode::kMostCommon) name += "_MostCommon";
  if (c.npu) name += "_Npu";
  return name;
}

class MethodAccuracyTest : public ::testing::TestWithParam<Case> {};

TEST_P(MethodAccuracyTest, StaysWithinOnePointOfFloat) {
  const Case& c = GetParam();
  auto model = LoadModel(testing::ModelPath(c.model));
  ASSERT_TRUE(model.ok()) << model.status().message();
  QuantizeOptions options;
  options.calibration.method = c.method;
  options.calibration.minmse_mode = c.mode;
  if (c.npu) {
    options.activation_symmetric = true;
    options.unsigned_symmetric_zero_point = UnsignedSymmetricZeroPoint::kNpu;
  }
  auto calib = Open("calib_1000.npy", 1, kCalibrationSamples);
  ASSERT_TRUE(calib.ok());
  QuantizeReport report;
  auto quantized = QuantizeModel(*model, calib->get(), options, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_EQ(report.calibration_samples, kCalibrationSamples);
  EXPECT_GE(report.weights_quantized, 10);

  const std::vector<float> scales = QdqScales(*quantized);
  ASSERT_FALSE(scales.empty());
  if (IsPowerOfTwoMethod(c.method)) {
    for (const float s : scales) EXPECT_TRUE(IsPowerOfTwo(s)) << "scale " << s;
  } else {
    EXPECT_FALSE(std::all_of(scales.begin(), scales.end(), IsPowerOfTwo));
  }
  const double top1 = Top1(*quantized);
  EXPECT_GE(top1, c.float_top1 - 1.0) << c.model;
  EXPECT_LE(top1, c.float_top1 + 1.0) << c.model;
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  for (const auto& [model, top1] : {std::pair<std::string, double>{"mbv2_fmnist.onnx", 92.39},
                                    std::pair<std::string, double>{"resnet_fmnist.onnx", 92.06}}) {
    for (const CalibrationMethod m :
         {CalibrationMethod::kMinMax, CalibrationMethod::kPercentile, CalibrationMethod::kEntropy,
          CalibrationMethod::kNonOverflow, CalibrationMethod::kMinMSE}) {
      cases.push_back({model, top1, m});
    }
  }
  // MinMSE's other mode and the NPU grid (symmetric, zero point 128) on MobileNetV2.
  cases.push_back({"mbv2_fmnist.onnx", 92.39, CalibrationMethod::kMinMSE, MinMseMode::kMostCommon});
  cases.push_back({"mbv2_fmnist.onnx", 92.39, CalibrationMethod::kMinMSE, MinMseMode::kAll, true});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(FashionMnist, MethodAccuracyTest, ::testing::ValuesIn(Cases()), CaseName);

TEST(CalibrateModelTest, ASavedTableQuantizesLikeACalibrationRun) {
  auto model = LoadModel(testing::ModelPath("mbv2_fmnist.onnx"));
  ASSERT_TRUE(model.ok());
  // MinMSE calibrates the same tensors for a table and for a direct run. (Methods whose folds are
  // certain calibrate fewer tensors directly, which lets ONNX Runtime fuse more nodes: the ranges of
  // the fused outputs can differ in the last bit.)
  QuantizeOptions options;
  options.calibration.method = CalibrationMethod::kMinMSE;
  auto calib = Open("calib_1000.npy", 1, 64);
  auto table = CalibrateModel(*model, calib->get(), options);
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ(table->samples, 64);
  const auto dir = testing::TempDir("calibrate_model");
  ASSERT_TRUE(SaveCalibrationTable(*table, dir / "t.json").ok());
  auto loaded = LoadCalibrationTable(dir / "t.json");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  std::filesystem::remove_all(dir);

  auto calib_again = Open("calib_1000.npy", 1, 64);
  auto direct = QuantizeModel(*model, calib_again->get(), options);
  ASSERT_TRUE(direct.ok()) << direct.status().message();
  QuantizeReport report;
  auto from_table = QuantizeModel(*model, *loaded, options, &report);
  ASSERT_TRUE(from_table.ok()) << from_table.status().message();
  EXPECT_EQ(from_table->SerializeAsString(), direct->SerializeAsString());
  EXPECT_EQ(report.calibration_samples, 64);

  // The same table serves Percentile (histograms) with a warning, not NonOverflow (min / max).
  options.calibration.method = CalibrationMethod::kPercentile;
  QuantizeReport percentile_report;
  EXPECT_TRUE(QuantizeModel(*model, *loaded, options, &percentile_report).ok());
  EXPECT_FALSE(percentile_report.warnings.empty());
  options.calibration.method = CalibrationMethod::kNonOverflow;
  EXPECT_FALSE(QuantizeModel(*model, *loaded, options).ok());

  // A tensor missing from the table is named.
  options.calibration.method = CalibrationMethod::kMinMSE;
  CalibrationTable partial = *loaded;
  const std::string dropped = "input";  // the first Conv's input: needed whatever the method
  partial.ranges.erase(dropped);
  auto failed = QuantizeModel(*model, partial, options);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("'" + dropped + "'"), std::string::npos) << failed.status().message();
}

TEST(CalibrateModelTest, ATableIsRefusedForAnotherPreparedGraph) {
  auto model = LoadModel(testing::ModelPath("mbv2_fmnist.onnx"));
  ASSERT_TRUE(model.ok());
  QuantizeOptions options;
  auto calib = Open("calib_1000.npy", 1, 16);
  auto table = CalibrateModel(*model, calib->get(), options);
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ(table->model_fingerprint.size(), 16U);
  EXPECT_TRUE(QuantizeModel(*model, *table, options).ok());
  // Clip(0,6) -> Relu changes the graph the table was computed on.
  options.passes.replace_clip6_relu = true;
  auto refused = QuantizeModel(*model, *table, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("different model"), std::string::npos) << refused.status().message();
  // Shards of different graphs do not merge.
  auto other_calib = Open("calib_1000.npy", 1, 16);
  auto other = CalibrateModel(*model, other_calib->get(), options);
  ASSERT_TRUE(other.ok()) << other.status().message();
  std::vector<CalibrationTable> both = {*table, *other};
  EXPECT_FALSE(MergeCalibrationTables(both).ok());
}

TEST(CalibrateModelTest, MergedShardTablesEqualTheWholeRun) {
  auto model = LoadModel(testing::ModelPath("resnet_fmnist.onnx"));
  ASSERT_TRUE(model.ok());
  for (const CalibrationMethod method : {CalibrationMethod::kMinMax, CalibrationMethod::kMinMSE}) {
    QuantizeOptions options;
    options.calibration.method = method;
    auto whole_reader = Open("calib_1000.npy", 1, 48);
    auto whole = CalibrateModel(*model, whole_reader->get(), options);
    ASSERT_TRUE(whole.ok()) << whole.status().message();
    std::vector<CalibrationTable> shards;
    for (const int64_t first : {0, 20}) {
      auto reader = Open("calib_1000.npy", 1, first + (first == 0 ? 20 : 28));
      for (int64_t i = 0; i < first; ++i) ASSERT_TRUE((*reader)->GetNext().ok());
      options.calibration.max_samples = first == 0 ? 20 : 28;
      auto shard = CalibrateModel(*model, reader->get(), options);
      ASSERT_TRUE(shard.ok()) << shard.status().message();
      shards.push_back(*shard);
    }
    auto merged = MergeCalibrationTables(shards);
    ASSERT_TRUE(merged.ok()) << merged.status().message();
    EXPECT_EQ(merged->samples, 48);
    EXPECT_EQ(merged->ranges, whole->ranges) << CalibrationMethodName(method);
    EXPECT_EQ(merged->statistics, whole->statistics) << CalibrationMethodName(method);
  }
}

TEST(CalibrateModelTest, RandomDataHonoursItsRangeAndInputShapes) {
  QuantizeOptions options;
  ASSERT_TRUE(ApplyExtraOptions({{"RandomDataReaderInputDataRange", "[-2, 3]"}}, &options).ok());
  EXPECT_EQ(options.random_data.low, -2.0F);
  EXPECT_EQ(options.random_data.high, 3.0F);
  EXPECT_FALSE(ApplyExtraOptions({{"RandomDataReaderInputDataRange", "[3, 2]"}}, &options).ok());
  options.random_data.samples = 3;
  options.random_data.input_shapes["input"] = {2, 1, 28, 28};  // --input-shape input:2,1,28,28
  auto model = LoadModel(testing::ModelPath("resnet_fmnist.onnx"));
  ASSERT_TRUE(model.ok());
  QuantizeReport report;
  auto table = CalibrateModel(*model, nullptr, options, &report);
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ(table->samples, 4);  // two batches of the given shape (the model's own: three of one)
  ASSERT_TRUE(table->ranges.contains("input"));
  EXPECT_GE(table->ranges.at("input").rmin, -2.0F);
  EXPECT_LT(table->ranges.at("input").rmin, -1.9F);
  EXPECT_LT(table->ranges.at("input").rmax, 3.0F);
  EXPECT_GT(table->ranges.at("input").rmax, 2.9F);
  ASSERT_FALSE(report.warnings.empty());
  EXPECT_NE(report.warnings.back().find("random data"), std::string::npos);
}

TEST(CalibrateModelTest, ScalarAndStateInputsFedWholeBesideABatchAxis) {
  constexpr int64_t kSamples = 8;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(-1.0F, 1.0F);
  std::vector<float> x(kSamples * 4);
  std::vector<float> state(kSamples * 6);
  for (float& v : x) v = uniform(rng);
  for (float& v : state) v = uniform(rng);
  std::vector<int64_t> rates(kSamples);
  for (int64_t i = 0; i < kSamples; ++i) rates[static_cast<size_t>(i)] = i % 2 == 0 ? 16000 : 8000;
  const Tensor sr = testing::Int64Tensor("sr", {kSamples}, rates);
  const auto dir = testing::TempDir("calibrate_stateful");
  ASSERT_TRUE(WriteNpy(dir / "X.npy", Tensor::FromFloats("X", {kSamples, 4}, x)).ok());
  ASSERT_TRUE(WriteNpy(dir / "sr.npy", sr).ok());
  ASSERT_TRUE(WriteNpy(dir / "S.npy", Tensor::FromFloats("S", {kSamples, 2, 1, 3}, state)).ok());

  // The layout follows from the file ranks against the model's (2, 0 and 3), as the CLI decides it.
  const onnx::ModelProto model = testing::StatefulModel();
  std::vector<ArrayFileSpec> files;
  for (const auto& [name, rank] : {std::pair<std::string, size_t>{"X", 2}, {"sr", 0}, {"S", 3}}) {
    auto layout = NpySampleLayout(dir / (name + ".npy"), name, rank);
    ASSERT_TRUE(layout.ok()) << layout.status().message();
    EXPECT_EQ(*layout, name == "X" ? SampleLayout::kBatchAxis : SampleLayout::kWhole) << name;
    files.push_back({.input_name = name, .path = dir / (name + ".npy"), .layout = *layout});
  }
  auto reader = OpenArrayFiles(files, {.batch_size = 4});
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  QuantizeReport report;
  auto quantized = QuantizeModel(model, reader->get(), QuantizeOptions{}, &report);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_EQ(report.calibration_samples, kSamples);
  EXPECT_GE(report.weights_quantized, 1);
  // X's QuantizeLinear; XW, which only the float Add reads, comes out of the MatMul in float.
  EXPECT_EQ(std::count_if(quantized->graph().node().begin(), quantized->graph().node().end(),
                          [](const onnx::NodeProto& n) { return n.op_type() == "QuantizeLinear"; }),
            1);

  // Sample by sample, the quantized output stays within 0.03 of float (about one 8-bit step of Y, which
  // spans some [-4, 4] here; the worst error seen is 0.011). The float output shows that sr matters:
  // Y = XW + sum(S) sr / 16000.
  double worst = 0;
  for (int64_t i = 0; i < kSamples; ++i) {
    const auto at = [](const std::vector<float>& v, int64_t first, int64_t count) {
      return std::vector<float>(v.begin() + first, v.begin() + first + count);
    };
    Tensor rate = testing::Int64Tensor("sr", {}, {&rates[static_cast<size_t>(i)], 1});
    rate.batch_axis = false;
    Tensor s = Tensor::FromFloats("S", {2, 1, 3}, at(state, i * 6, 6));
    s.batch_axis = false;
    const Feeds feeds = {Tensor::FromFloats("X", {1, 4}, at(x, i * 4, 4)), rate, s};
    const std::vector<float> expected = testing::RunFirstOutput(model, feeds);
    const std::vector<float> actual = testing::RunFirstOutput(*quantized, feeds);
    ASSERT_EQ(expected.size(), 2U);
    ASSERT_EQ(actual.size(), 2U);
    double total = 0;
    for (int k = 0; k < 6; ++k) total += state[static_cast<size_t>(i * 6 + k)];
    const double scale = i % 2 == 0 ? 1.0 : 0.5;
    const float* row = &x[static_cast<size_t>(i * 4)];
    const double y0 = 0.5 * row[0] + 0.25 * row[1] - 0.5 * row[2] + 1.5 * row[3] + total * scale;
    EXPECT_NEAR(expected[0], y0, 1e-5) << "sample " << i;
    for (size_t k = 0; k < 2; ++k) {
      EXPECT_NEAR(actual[k], expected[k], 0.03) << "sample " << i << ", output " << k;
      worst = std::max(worst, static_cast<double>(std::fabs(actual[k] - expected[k])));
    }
  }
  EXPECT_GT(worst, 0.0) << "the quantized model computes in 8 bits";

  // Without data: random values, sr a scalar in [0, 1] with a warning, unless given a range.
  QuantizeReport random_report;
  ASSERT_TRUE(QuantizeModel(model, nullptr, QuantizeOptions{}, &random_report).ok());
  const std::string sr_warning =
      "input 'sr' is int64: random values in [0, 1]; give --random-data-input-range sr:LOW,HIGH for meaningful "
      "values";
  EXPECT_NE(std::find(random_report.warnings.begin(), random_report.warnings.end(), sr_warning),
            random_report.warnings.end())
      << ::testing::PrintToString(random_report.warnings);
  QuantizeOptions with_rate;
  with_rate.random_data.input_ranges["sr"] = {.low = 16000, .high = 16000};
  with_rate.random_data.samples = 4;
  QuantizeReport rate_report;
  ASSERT_TRUE(QuantizeModel(model, nullptr, with_rate, &rate_report).ok());
  EXPECT_EQ(rate_report.calibration_samples, 4);
  for (const auto& w : rate_report.warnings) EXPECT_EQ(w.find("'sr'"), std::string::npos) << w;
}

TEST(WeightCalibrationTest, WeightCalibrateMethodChoosesTheWeightScales) {
  auto model = LoadModel(testing::ModelPath("resnet_fmnist.onnx"));
  ASSERT_TRUE(model.ok());
  auto quantize = [&](const std::map<std::string, std::string>& extra, CalibrationMethod method) {
    QuantizeOptions options;
    options.per_channel = true;
    options.calibration.method = method;
    EXPECT_TRUE(ApplyExtraOptions(extra, &options).ok());
    auto calib = Open("calib_1000.npy", 1, 8);
    auto q = QuantizeModel(*model, calib->get(), options);
    EXPECT_TRUE(q.ok()) << q.status().message();
    return QdqScales(*q);
  };
  const auto minmax = quantize({}, CalibrationMethod::kMinMax);
  const auto minmse = quantize({{"WeightCalibrateMethod", "MinMSE"}}, CalibrationMethod::kMinMax);
  ASSERT_EQ(minmax.size(), minmse.size());
  // MinMSE only ever shrinks a weight range, and does for some channels.
  int smaller = 0;
  for (size_t i = 0; i < minmax.size(); ++i) smaller += minmse[i] < minmax[i] ? 1 : 0;
  EXPECT_GT(smaller, 0);
  // Power-of-two methods: per-channel weight scales are powers of two too.
  for (const auto& s : quantize({}, CalibrationMethod::kNonOverflow)) EXPECT_TRUE(IsPowerOfTwo(s)) << s;
  for (const auto& s : quantize({{"WeightCalibrateMethod", "MinMax"}}, CalibrationMethod::kMinMSE)) {
    EXPECT_TRUE(IsPowerOfTwo(s)) << s;
  }
  QuantizeOptions options;
  EXPECT_FALSE(ApplyExtraOptions({{"WeightCalibrateMethod", "Entropy"}}, &options).ok());
}

}  // namespace
}  // namespace onnxq
