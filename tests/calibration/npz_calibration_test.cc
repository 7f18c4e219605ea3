// Calibration on .npz samples whose shapes change from sample to sample, and on samples that mix an
// int64 scalar with float inputs: the ranges are those of feeding each sample alone, and the
// quantized model runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "calibration/collect_statistics.h"
#include "onnxq/calibrate.h"
#include "onnxq/data_reader.h"
#include "testing/npz_writer.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

namespace fs = std::filesystem;
using testing::ZipCompression;

// Every tensor has the same range in both tables.
void ExpectSameRanges(const CalibrationTable& actual, const CalibrationTable& expected) {
  ASSERT_EQ(actual.ranges.size(), expected.ranges.size());
  for (const auto& [tensor, range] : expected.ranges) {
    ASSERT_TRUE(actual.ranges.contains(tensor)) << tensor;
    EXPECT_EQ(actual.ranges.at(tensor).rmin, range.rmin) << tensor;
    EXPECT_EQ(actual.ranges.at(tensor).rmax, range.rmax) << tensor;
  }
}

std::vector<Feeds> ReadAll(CalibrationDataReader& reader) {
  std::vector<Feeds> batches;
  for (;;) {
    auto next = reader.GetNext();
    EXPECT_TRUE(next.ok()) << next.status().message();
    if (!next.ok() || !next->has_value()) break;
    batches.push_back(std::move(**next));
  }
  return batches;
}

TEST(NpzCalibrationTest, SequencesOfSeveralLengthsGiveTheRangesOfOneAtATime) {
  const fs::path dir = testing::TempDir("npz_calibration-sequences");
  const onnx::ModelProto model = testing::SequenceModel();
  // Seven samples of lengths 2, 3 and 5, one .npz each (stored and deflated in turn), values in [-2, 2).
  const std::vector<int64_t> lengths = {2, 2, 5, 5, 5, 3, 2};
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uniform(-2.0F, 2.0F);
  std::vector<Feeds> one_at_a_time;
  std::vector<fs::path> files;
  float low = 0.0F;
  float high = 0.0F;
  for (size_t i = 0; i < lengths.size(); ++i) {
    std::vector<float> values(static_cast<size_t>(lengths[i] * 4));
    for (float& v : values) v = uniform(rng);
    low = std::min(low, *std::min_element(values.begin(), values.end()));
    high = std::max(high, *std::max_element(values.begin(), values.end()));
    one_at_a_time.push_back({Tensor::FromFloats("X", {1, lengths[i], 4}, values)});
    files.push_back(dir / ("utterance" + std::to_string(i) + ".npz"));
    testing::WriteNpz(files.back(), one_at_a_time.back(),
                      i % 2 == 0 ? ZipCompression::kStored : ZipCompression::kDeflate);
  }

  QuantizeOptions options;
  options.placement = QdqPlacement::kAllQuantizable;  // the ranges of every op's tensors
  options.calibration.threads = 2;
  auto inputs = ModelInputsOf(model);
  ASSERT_TRUE(inputs.ok()) << inputs.status().message();
  const int64_t batch_size = ChooseBatchSize(model, options.calibration);
  EXPECT_EQ(batch_size, 16);
  const auto open = [&] {
    auto reader = OpenNpzFiles(files, *inputs, {.batch_size = batch_size});
    EXPECT_TRUE(reader.ok()) << reader.status().message();
    return std::move(reader).value();
  };

  // Samples of equal length in a row share a batch: [2,2], [5,5,5], [3], [2].
  auto reader = open();
  std::vector<std::vector<int64_t>> shapes;
  for (const Feeds& batch : ReadAll(*reader)) shapes.push_back(batch[0].shape);
  EXPECT_EQ(shapes, (std::vector<std::vector<int64_t>>{{2, 2, 4}, {3, 5, 4}, {1, 3, 4}, {1, 2, 4}}));

  reader = open();
  auto batched = CalibrateModel(model, reader.get(), options);
  ASSERT_TRUE(batched.ok()) << batched.status().message();
  testing::VectorReader singles(one_at_a_time);
  auto single = CalibrateModel(model, &singles, options);
  ASSERT_TRUE(single.ok()) << single.status().message();
  EXPECT_EQ(batched->samples, 7);
  EXPECT_EQ(single->samples, 7);
  EXPECT_GE(batched->ranges.size(), 4U);
  ExpectSameRanges(*batched, *single);
  // The input's range is the data's, worked out above (MinMax keeps 0 inside).
  ASSERT_TRUE(batched->ranges.contains("X"));
  EXPECT_EQ(batched->ranges.at("X").rmin, low);
  EXPECT_EQ(batched->ranges.at("X").rmax, high);

  // The quantized model runs on samples of each length and stays near the float model.
  reader = open();
  QuantizeReport report;
  auto quantized = QuantizeModel(model, reader.get(), options, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  EXPECT_EQ(report.calibration_samples, 7);
  EXPECT_GE(std::count_if(quantized->graph().node().begin(), quantized->graph().node().end(),
                          [](const onnx::NodeProto& n) { return n.op_type() == "QuantizeLinear"; }),
            2);
  for (const size_t i : {size_t{0}, size_t{2}, size_t{5}}) {
    SCOPED_TRACE("length " + std::to_string(lengths[i]));
    const std::vector<float> expected = testing::RunFirstOutput(model, one_at_a_time[i]);
    const std::vector<float> actual = testing::RunFirstOutput(*quantized, one_at_a_time[i]);
    ASSERT_EQ(expected.size(), 3U);
    testing::ExpectWithinFractionOfPeak(expected, actual, 0.05F);
  }
  fs::remove_all(dir);
}

TEST(NpzCalibrationTest, AnInt64ScalarBesideFloatInputsCalibratesAsTheNpyLayout) {
  // Silero VAD's kinds of inputs: X [N,4], a scalar int64 sr and a state S [2,N,3]. One .npz a sample,
  // each array as the model takes it; and the same samples as .npy files of N samples each.
  constexpr int64_t kSamples = 6;
  const fs::path dir = testing::TempDir("npz_calibration-stateful");
  const onnx::ModelProto model = testing::StatefulModel();
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uniform(-1.0F, 1.0F);
  std::vector<float> x(kSamples * 4);
  std::vector<float> state(kSamples * 6);
  for (float& v : x) v = uniform(rng);
  for (float& v : state) v = uniform(rng);
  std::vector<int64_t> rates(kSamples);
  std::vector<fs::path> files;
  std::vector<Feeds> samples;
  for (int64_t i = 0; i < kSamples; ++i) {
    rates[static_cast<size_t>(i)] = i % 2 == 0 ? 16000 : 8000;
    Tensor rate = testing::Int64Tensor("sr", {}, {&rates[static_cast<size_t>(i)], 1});
    rate.batch_axis = false;
    Tensor s = Tensor::FromFloats("S", {2, 1, 3}, std::span<const float>(state).subspan(static_cast<size_t>(i * 6), 6));
    s.batch_axis = false;
    samples.push_back(
        {Tensor::FromFloats("X", {1, 4}, std::span<const float>(x).subspan(static_cast<size_t>(i * 4), 4)), rate, s});
    files.push_back(dir / ("s" + std::to_string(i) + ".npz"));
    testing::WriteNpz(files.back(), samples.back(), i % 2 == 0 ? ZipCompression::kDeflate : ZipCompression::kStored);
  }
  ASSERT_TRUE(WriteNpy(dir / "X.npy", Tensor::FromFloats("X", {kSamples, 4}, x)).ok());
  ASSERT_TRUE(WriteNpy(dir / "sr.npy", testing::Int64Tensor("sr", {kSamples}, rates)).ok());
  ASSERT_TRUE(WriteNpy(dir / "S.npy", Tensor::FromFloats("S", {kSamples, 2, 1, 3}, state)).ok());

  QuantizeOptions options;
  options.placement = QdqPlacement::kAllQuantizable;  // the ranges of every op's tensors
  options.calibration.threads = 2;
  auto inputs = ModelInputsOf(model);
  ASSERT_TRUE(inputs.ok()) << inputs.status().message();
  EXPECT_EQ((*inputs)[1].type, ElementType::kInt64);
  auto npz = OpenNpzFiles(files, *inputs, {.batch_size = 4});
  ASSERT_TRUE(npz.ok()) << npz.status().message();
  EXPECT_EQ((*npz)->SampleCount(), kSamples);
  auto from_npz = CalibrateModel(model, npz->get(), options);
  ASSERT_TRUE(from_npz.ok()) << from_npz.status().message();

  auto npy = OpenArrayFiles({{.input_name = "X", .path = dir / "X.npy"},
                             {.input_name = "sr", .path = dir / "sr.npy", .layout = SampleLayout::kWhole},
                             {.input_name = "S", .path = dir / "S.npy", .layout = SampleLayout::kWhole}},
                            {.batch_size = 4});
  ASSERT_TRUE(npy.ok()) << npy.status().message();
  auto from_npy = CalibrateModel(model, npy->get(), options);
  ASSERT_TRUE(from_npy.ok()) << from_npy.status().message();
  EXPECT_EQ(from_npz->samples, kSamples);
  ExpectSameRanges(*from_npz, *from_npy);
  ASSERT_TRUE(from_npz->ranges.contains("Y"));

  // The quantized model runs, and sr matters: Y = XW + sum(S) sr / 16000 within 0.03 of float.
  npz = OpenNpzFiles(files, *inputs, {.batch_size = 4});
  ASSERT_TRUE(npz.ok()) << npz.status().message();
  auto quantized = QuantizeModel(model, npz->get(), options);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  for (int64_t i = 0; i < kSamples; ++i) {
    SCOPED_TRACE("sample " + std::to_string(i));
    const std::vector<float> expected = testing::RunFirstOutput(model, samples[static_cast<size_t>(i)]);
    const std::vector<float> actual = testing::RunFirstOutput(*quantized, samples[static_cast<size_t>(i)]);
    ASSERT_EQ(expected.size(), 2U);
    ASSERT_EQ(actual.size(), 2U);
    double total = 0;
    for (int k = 0; k < 6; ++k) total += state[static_cast<size_t>(i * 6 + k)];
    const float* row = &x[static_cast<size_t>(i * 4)];
    const double y0 = 0.5 * row[0] + 0.25 * row[1] - 0.5 * row[2] + 1.5 * row[3] + total * (i % 2 == 0 ? 1.0 : 0.5);
    EXPECT_NEAR(expected[0], y0, 1e-5);
    for (size_t k = 0; k < 2; ++k) EXPECT_NEAR(actual[k], expected[k], 0.03) << "output " << k;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace onnxq
