// The calibration table: file round trip (bit for bit), merge of shard tables == table of the
// whole data, and reuse: ranges recomputed for other settings, errors naming what is missing.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <functional>
#include <random>

#include "calibration/calibration_table.h"
#include "calibration/calibrator.h"
#include "calibration/table_ranges.h"
#include "onnxq/calibrate.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

CalibrationSettings Settings(CalibrationMethod method, MinMseMode mode = MinMseMode::kAll) {
  QuantizeOptions options;
  options.calibration.method = method;
  options.calibration.minmse_mode = mode;
  return CalibrationSettingsOf(options);
}

std::vector<CalibrationSettings> EveryMethod() {
  return {Settings(CalibrationMethod::kMinMax),  Settings(CalibrationMethod::kPercentile),
          Settings(CalibrationMethod::kEntropy), Settings(CalibrationMethod::kNonOverflow),
          Settings(CalibrationMethod::kMinMSE),  Settings(CalibrationMethod::kMinMSE, MinMseMode::kMostCommon)};
}

// Three tensors of different shapes of data, batches [first, last) of 500 values each.
std::map<std::string, std::vector<float>> Batch(int index) {
  std::mt19937 rng(static_cast<uint32_t>(index));
  std::normal_distribution<float> normal(0.0F, 1.0F);
  std::map<std::string, std::vector<float>> batch;
  for (const char* name : {"conv_out", "relu_out", "odd"}) {
    auto& v = batch[name];
    v.resize(500);
    for (float& x : v) x = normal(rng);
  }
  for (float& x : batch["relu_out"]) x = std::max(x, 0.0F) * 3.3F;
  for (float& x : batch["odd"]) x = x * 1e-3F + 0.1F * static_cast<float>(index);  // drifts: later batches widen
  return batch;
}

CalibrationTable TableOf(const CalibrationSettings& settings, int first, int last) {
  auto calibrator = MakeCalibrator(settings);
  EXPECT_TRUE(calibrator.ok()) << calibrator.status().message();
  std::map<std::string, std::unique_ptr<TensorStatistic>> stats;
  for (const char* name : {"conv_out", "relu_out", "odd", "int_tensor"}) stats[name] = (*calibrator)->NewStatistic();
  for (int b = first; b < last; ++b) {
    for (const auto& [name, values] : Batch(b)) stats[name]->Collect(values);
  }
  auto table = BuildCalibrationTable(stats, (last - first) * 4, **calibrator, settings, {"odd"}, 2);
  EXPECT_TRUE(table.ok()) << table.status().message();
  return *table;
}

std::string Label(const CalibrationSettings& s) { return ToJson(s).dump(); }

TEST(CalibrationTableTest, BuildRecordsNonFloatTensors) {
  const CalibrationTable table = TableOf(Settings(CalibrationMethod::kMinMax), 0, 4);
  EXPECT_EQ(table.ranges.size(), 3U);
  EXPECT_EQ(table.non_float, std::set<std::string>{"int_tensor"});
  EXPECT_EQ(table.samples, 16);
}

TEST(CalibrationTableTest, SaveAndLoadRoundTripBitForBit) {
  const auto dir = testing::TempDir("calibration_table");
  for (const auto& settings : EveryMethod()) {
    CalibrationTable table = TableOf(settings, 0, 6);
    // Awkward floats too: subnormal, negative zero, values with no short decimal form.
    table.ranges["awkward"] = {-1.17549435e-38F / 3.0F, std::nextafter(0.1F, 1.0F), 5};
    table.ranges["zero"] = {-0.0F, 0.0F, std::nullopt};
    table.settings.calibration.moving_average_constant = 0.0123F;
    table.settings.calibration.percentile = 99.9991;
    ASSERT_TRUE(SaveCalibrationTable(table, dir / "t.json").ok());
    auto loaded = LoadCalibrationTable(dir / "t.json");
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    EXPECT_EQ(ToJson(loaded->settings), ToJson(table.settings)) << Label(settings);
    EXPECT_EQ(loaded->samples, table.samples);
    EXPECT_EQ(loaded->non_float, table.non_float);
    EXPECT_EQ(loaded->model_inputs, std::set<std::string>{"odd"});
    ASSERT_EQ(loaded->ranges.size(), table.ranges.size());
    for (const auto& [name, range] : table.ranges) {
      const TensorRange& back = loaded->ranges.at(name);
      EXPECT_EQ(std::bit_cast<uint32_t>(back.rmin), std::bit_cast<uint32_t>(range.rmin)) << name;
      EXPECT_EQ(std::bit_cast<uint32_t>(back.rmax), std::bit_cast<uint32_t>(range.rmax)) << name;
      EXPECT_EQ(back.pos, range.pos) << name;
    }
    EXPECT_EQ(loaded->statistics, table.statistics) << Label(settings);
    // Ranges recomputed from the loaded statistics are the saved ones.
    auto recomputed = RangesFromTable(*loaded, {"conv_out", "relu_out", "odd"}, settings);
    ASSERT_TRUE(recomputed.ok());
    for (const auto& [name, range] : recomputed->ranges) EXPECT_EQ(range, table.ranges.at(name)) << name;
  }
  std::filesystem::remove_all(dir);
}

TEST(CalibrationTableTest, MergedShardsEqualTheWholeData) {
  for (const auto& settings : EveryMethod()) {
    const CalibrationTable whole = TableOf(settings, 0, 12);
    const std::vector<CalibrationTable> shards = {TableOf(settings, 0, 5), TableOf(settings, 5, 6),
                                                  TableOf(settings, 6, 12)};
    auto merged = MergeCalibrationTables(shards);
    ASSERT_TRUE(merged.ok()) << merged.status().message();
    EXPECT_EQ(merged->samples, whole.samples);
    EXPECT_EQ(merged->ranges, whole.ranges) << Label(settings);
    EXPECT_EQ(merged->statistics, whole.statistics) << Label(settings);
    EXPECT_EQ(merged->non_float, whole.non_float);
  }
}

TEST(CalibrationTableTest, MergeRefusesTablesOfOtherSettings) {
  const std::vector<CalibrationTable> tables = {TableOf(Settings(CalibrationMethod::kEntropy), 0, 2),
                                                TableOf(Settings(CalibrationMethod::kPercentile), 2, 4)};
  const auto merged = MergeCalibrationTables(tables);
  ASSERT_FALSE(merged.ok());
  EXPECT_NE(merged.status().message().find("other settings"), std::string::npos);
  EXPECT_FALSE(MergeCalibrationTables({}).ok());
}

TEST(CalibrationTableTest, ReuseNamesMissingTensorsAndIncompatibleMethods) {
  const CalibrationTable minmax = TableOf(Settings(CalibrationMethod::kMinMax), 0, 4);
  // A tensor the quantizer needs is absent: the error names it. Non-float tensors are fine.
  auto missing = RangesFromTable(minmax, {"conv_out", "int_tensor", "not_calibrated"}, minmax.settings);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("'not_calibrated'"), std::string::npos);
  // Min/max statistics cannot give Entropy ranges.
  auto entropy = RangesFromTable(minmax, {"conv_out"}, Settings(CalibrationMethod::kEntropy));
  ASSERT_FALSE(entropy.ok());
  EXPECT_NE(entropy.status().message().find("MinMax"), std::string::npos);
  // ... but they give NonOverflow, with a warning.
  auto pof2 = RangesFromTable(minmax, {"conv_out"}, Settings(CalibrationMethod::kNonOverflow));
  ASSERT_TRUE(pof2.ok()) << pof2.status().message();
  EXPECT_TRUE(pof2->ranges.at("conv_out").pos.has_value());
  EXPECT_EQ(pof2->warnings.size(), 1U);
  // An Entropy table serves Percentile, recomputed exactly as a Percentile table would be.
  const CalibrationTable entropy_table = TableOf(Settings(CalibrationMethod::kEntropy), 0, 4);
  const CalibrationTable percentile_table = TableOf(Settings(CalibrationMethod::kPercentile), 0, 4);
  auto percentile = RangesFromTable(entropy_table, {"conv_out", "relu_out"}, Settings(CalibrationMethod::kPercentile));
  ASSERT_TRUE(percentile.ok()) << percentile.status().message();
  EXPECT_EQ(percentile->ranges.at("relu_out"), percentile_table.ranges.at("relu_out"));
  // A table without statistics serves only its own settings.
  CalibrationTable bare = minmax;
  bare.statistics.clear();
  EXPECT_TRUE(RangesFromTable(bare, {"conv_out"}, minmax.settings).ok());
  EXPECT_FALSE(RangesFromTable(bare, {"conv_out"}, Settings(CalibrationMethod::kNonOverflow)).ok());
}

TEST(CalibrationTableTest, LoadRejectsOtherFiles) {
  const auto dir = testing::TempDir("calibration_table_bad");
  EXPECT_FALSE(LoadCalibrationTable(dir / "absent.json").ok());
  ASSERT_TRUE(WriteFileAtomically(dir / "other.json", "{\"tensors\": {}}").ok());
  const auto other = LoadCalibrationTable(dir / "other.json");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("not an onnxq calibration table"), std::string::npos);
  // A histogram whose counts do not match its range is refused.
  CalibrationTable table = TableOf(Settings(CalibrationMethod::kPercentile), 0, 2);
  nlohmann::json histogram = nlohmann::json::parse(table.statistics["conv_out"]);
  histogram["counts"][0] = -1;
  table.statistics["conv_out"] = histogram.dump();
  ASSERT_TRUE(SaveCalibrationTable(table, dir / "t.json").ok());
  auto loaded = LoadCalibrationTable(dir / "t.json");
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(RangesFromTable(*loaded, {"conv_out"}, Settings(CalibrationMethod::kEntropy)).ok());
  std::filesystem::remove_all(dir);
}

// Tables are files a user may edit: every number is checked before use, and the error names the
// table, the tensor and the field.
TEST(CalibrationTableTest, LoadRangeChecksEveryNumber) {
  const auto dir = testing::TempDir("calibration_table_numbers");
  const CalibrationTable good = TableOf(Settings(CalibrationMethod::kPercentile), 0, 2);
  const nlohmann::json base = ToJson(good);
  // Loads the table with one change, returning the error ("" when it loads).
  const auto error_of = [&](const std::function<void(nlohmann::json&)>& change) {
    nlohmann::json json = base;
    change(json);
    auto loaded = CalibrationTableFromJson(json, "t.json");
    return loaded.ok() ? std::string() : loaded.status().message();
  };
  EXPECT_EQ(error_of([](nlohmann::json&) {}), "");
  const std::string order = error_of([](nlohmann::json& j) {
    j["tensors"]["conv_out"]["rmin"] = 3.0;
    j["tensors"]["conv_out"]["rmax"] = 1.0;
  });
  EXPECT_NE(order.find("'t.json': tensor 'conv_out' has rmin 3.0 above rmax 1.0"), std::string::npos) << order;
  const std::string huge = error_of([](nlohmann::json& j) { j["tensors"]["conv_out"]["rmax"] = 1e300; });
  EXPECT_NE(huge.find("tensor 'conv_out' rmax is 1e+300: beyond the range of float32"), std::string::npos) << huge;
  EXPECT_NE(error_of([](nlohmann::json& j) { j["samples"] = -5; }).find("samples is -5"), std::string::npos);
  EXPECT_NE(error_of([](nlohmann::json& j) { j["samples"] = 1e300; }), "");
  EXPECT_NE(error_of([](nlohmann::json& j) { j["tensors"] = nlohmann::json::object(); }).find("holds no tensors"),
            std::string::npos);
  EXPECT_NE(error_of([](nlohmann::json& j) { j["settings"]["num_bins"] = 1e10; }).find("num_bins"), std::string::npos);
  EXPECT_NE(error_of([](nlohmann::json& j) { j["settings"]["percentile"] = 0; }).find("Percentile"), std::string::npos);
  EXPECT_NE(error_of([](nlohmann::json& j) { j["tensors"]["conv_out"]["pos"] = 1e9; }).find("pos"), std::string::npos);
  EXPECT_NE(error_of([](nlohmann::json& j) { j["channel_means"]["x"] = {1.0, 1e300}; }), "");
  // null is how the writer puts a non-finite bound: read back as a non-finite range (kept float later).
  nlohmann::json with_null = base;
  with_null["tensors"]["conv_out"]["rmin"] = nullptr;
  auto loaded = CalibrationTableFromJson(with_null, "t.json");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_TRUE(std::isnan(loaded->ranges.at("conv_out").rmin));
  // Statistics are checked where they are used (merging, other settings): a huge bin count, a
  // negative count, a negative batch count.
  for (const auto& [field, value] :
       {std::pair<std::string, nlohmann::json>{"max_bins", 2e9}, {"nonfinite", -1}, {"zeros", 1e300}}) {
    CalibrationTable table = good;
    nlohmann::json statistic = nlohmann::json::parse(table.statistics["conv_out"]);
    statistic[field] = value;
    table.statistics["conv_out"] = statistic.dump();
    EXPECT_FALSE(RangesFromTable(table, {"conv_out"}, Settings(CalibrationMethod::kEntropy)).ok()) << field;
  }
  std::filesystem::remove_all(dir);
}

// Numbers a table's fields cannot hold (found by the load_calibration_table_fuzzer): each is an error
// naming the table, where reading them converted 1e300 to an integer (undefined behaviour), truncated
// 2.5, wrapped 127 + 2^32 to 127 or made 1e300 an infinite float.
TEST(CalibrationTableTest, NumbersThatDoNotFitTheirFieldsAreMalformed) {
  const nlohmann::json valid = ToJson(TableOf(Settings(CalibrationMethod::kMinMax), 0, 2));
  ASSERT_TRUE(CalibrationTableFromJson(valid, "t.json").ok());
  const auto malformed = [&valid](const nlohmann::json::json_pointer& field, const nlohmann::json& value) {
    nlohmann::json json = valid;
    json[field] = value;
    const auto table = ParseCalibrationTable(json.dump(), "t.json");
    EXPECT_FALSE(table.ok()) << field << " = " << value;
    if (!table.ok()) {
      EXPECT_NE(table.status().message().find("'t.json'"), std::string::npos) << table.status().message();
    }
  };
  malformed("/samples"_json_pointer, 6.7e82);
  malformed("/samples"_json_pointer, -1);
  malformed("/samples"_json_pointer, 2.5);
  malformed("/settings/num_bins"_json_pointer, 10000000000);
  malformed("/settings/num_bins"_json_pointer, 1e10);
  malformed("/settings/unsigned_symmetric_zero_point"_json_pointer, 4294967423U);  // 127 + 2^32
  malformed("/tensors/conv_out/rmin"_json_pointer, 1e300);
  malformed("/tensors/conv_out/pos"_json_pointer, 2.5);
  malformed("/channel_means"_json_pointer, nlohmann::json{{"conv_out", {1.0, 1e39}}});
  // Statistics are read when ranges are recomputed from them.
  nlohmann::json minmax = valid;
  minmax["tensors"]["conv_out"]["statistic"]["batches"] = 1e300;
  const auto minmax_table = CalibrationTableFromJson(minmax, "t.json");
  ASSERT_TRUE(minmax_table.ok()) << minmax_table.status().message();
  const auto pof2 = RangesFromTable(*minmax_table, {"conv_out"}, Settings(CalibrationMethod::kNonOverflow));
  ASSERT_FALSE(pof2.ok());
  EXPECT_NE(pof2.status().message().find("min/max statistic: batches is 1e+300"), std::string::npos)
      << pof2.status().message();
  nlohmann::json histogram = ToJson(TableOf(Settings(CalibrationMethod::kPercentile), 0, 2));
  histogram["tensors"]["conv_out"]["statistic"]["counts"][0] = 6.7e82;
  const auto table = CalibrationTableFromJson(histogram, "t.json");
  ASSERT_TRUE(table.ok()) << table.status().message();
  const auto ranges = RangesFromTable(*table, {"conv_out"}, Settings(CalibrationMethod::kEntropy));
  ASSERT_FALSE(ranges.ok());
  EXPECT_NE(ranges.status().message().find("histogram statistic: a count is 6.7e+82"), std::string::npos)
      << ranges.status().message();
}

}  // namespace
}  // namespace onnxq
