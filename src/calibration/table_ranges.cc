#include "calibration/table_ranges.h"

#include <algorithm>
#include <mutex>

#include "common/worker_pool.h"

namespace onnxq {
namespace {

std::string NameList(const std::vector<std::string>& names) {
  constexpr size_t kShown = 5;
  std::string text;
  for (size_t i = 0; i < names.size() && i < kShown; ++i) text += (i > 0 ? ", '" : "'") + names[i] + "'";
  if (names.size() > kShown) text += " and " + std::to_string(names.size() - kShown) + " more";
  return text;
}

bool SameSettings(const CalibrationSettings& a, const CalibrationSettings& b) { return ToJson(a) == ToJson(b); }

std::string MethodLabel(const CalibrationOptions& options) {
  std::string label = CalibrationMethodName(options.method);
  if (options.method == CalibrationMethod::kMinMSE) {
    label += options.minmse_mode == MinMseMode::kAll ? " (All)" : " (MostCommon)";
  }
  return label;
}

// Ranges of the given statistics (of model inputs where is_input), computed in parallel; the first
// error wins.
Result<std::vector<TensorRange>> ComputeRanges(const std::vector<const TensorStatistic*>& statistics,
                                               const std::vector<bool>& is_input, const Calibrator& calibrator,
                                               int threads) {
  std::vector<TensorRange> ranges(statistics.size());
  std::mutex mutex;
  Status first_error;
  WorkerPool pool(threads);
  pool.ParallelFor(static_cast<int64_t>(statistics.size()), [&](int64_t i) {
    const TensorStatistic& statistic = *statistics[static_cast<size_t>(i)];
    auto range = is_input[static_cast<size_t>(i)] ? calibrator.ComputeModelInputRange(statistic)
                                                  : calibrator.ComputeRange(statistic);
    if (range.ok()) {
      ranges[static_cast<size_t>(i)] = *range;
      return;
    }
    std::lock_guard<std::mutex> lock(mutex);
    if (first_error.ok()) first_error = range.status();
  });
  ONNXQ_RETURN_IF_ERROR(first_error);
  return ranges;
}

}  // namespace

Result<CalibrationTable> BuildCalibrationTable(
    const std::map<std::string, std::unique_ptr<TensorStatistic>>& statistics, int64_t samples,
    const Calibrator& calibrator, const CalibrationSettings& settings, const std::set<std::string>& model_inputs,
    int threads, TableContent content) {
  CalibrationTable table;
  table.settings = settings;
  table.samples = samples;
  std::vector<std::string> names;
  std::vector<const TensorStatistic*> stats;
  std::vector<bool> is_input;
  for (const auto& [name, stat] : statistics) {
    if (stat->empty()) {
      table.non_float.insert(name);
    } else {
      names.push_back(name);
      stats.push_back(stat.get());
      is_input.push_back(model_inputs.contains(name));
      if (is_input.back()) table.model_inputs.insert(name);
    }
  }
  ONNXQ_ASSIGN_OR_RETURN(const auto ranges, ComputeRanges(stats, is_input, calibrator, threads));
  for (size_t i = 0; i < names.size(); ++i) {
    table.ranges[names[i]] = ranges[i];
    if (content == TableContent::kRangesAndStatistics) table.statistics[names[i]] = stats[i]->ToJson().dump();
  }
  return table;
}

Result<TableRanges> RangesFromTable(const CalibrationTable& table, const std::vector<std::string>& tensors,
                                    const CalibrationSettings& settings) {
  std::vector<std::string> missing;
  std::vector<std::string> needed;
  for (const auto& name : tensors) {
    if (table.non_float.contains(name)) continue;
    if (!table.ranges.contains(name)) {
      missing.push_back(name);
    } else {
      needed.push_back(name);
    }
  }
  if (!missing.empty()) {
    return InvalidArgument("the calibration table has no range for " + std::to_string(missing.size()) +
                           " tensor(s) the quantizer needs: " + NameList(missing) +
                           " (calibrate with the same model, graph passes and node selection)");
  }
  const std::string asked = MethodLabel(settings.calibration);
  const std::string stored = MethodLabel(table.settings.calibration);
  TableRanges result;
  if (SameSettings(table.settings, settings)) {
    for (const auto& name : needed) result.ranges[name] = table.ranges.at(name);
    return result;
  }
  // Other settings: recompute every range from its statistic.
  ONNXQ_ASSIGN_OR_RETURN(const auto calibrator, MakeCalibrator(settings));
  std::vector<std::unique_ptr<TensorStatistic>> owned;
  std::vector<const TensorStatistic*> stats;
  std::vector<bool> is_input;
  for (const auto& name : needed) {
    is_input.push_back(table.model_inputs.contains(name));
    const auto it = table.statistics.find(name);
    if (it == table.statistics.end()) {
      return InvalidArgument("the calibration table holds only a range for '" + name + "', computed with " + stored +
                             " and other settings than asked now (" + asked +
                             "); without its statistic it cannot be recomputed: calibrate again");
    }
    ONNXQ_ASSIGN_OR_RETURN(const nlohmann::json json, ParseStatistic(it->second, name));
    auto stat = calibrator->StatisticFromJson(json);
    if (!stat.ok()) {
      return InvalidArgument("the calibration table was computed with " + stored + "; its statistic for '" + name +
                             "' cannot give " + asked + " ranges (" + stat.status().message() + "): calibrate with " +
                             asked + " or quantize with " + stored);
    }
    stats.push_back(stat->get());
    owned.push_back(std::move(*stat));
  }
  ONNXQ_ASSIGN_OR_RETURN(const auto ranges, ComputeRanges(stats, is_input, *calibrator, settings.calibration.threads));
  for (size_t i = 0; i < needed.size(); ++i) result.ranges[needed[i]] = ranges[i];
  if (asked != stored) {
    result.warnings.push_back("calibration table computed with " + stored + ": " + asked +
                              " ranges recomputed from its statistics");
  }
  return result;
}

Result<CalibrationTable> MergeCalibrationTables(std::span<const CalibrationTable> tables) {
  if (tables.empty()) return InvalidArgument("no calibration tables to merge");
  const CalibrationSettings& settings = tables[0].settings;
  for (size_t t = 1; t < tables.size(); ++t) {
    if (tables[t].model_fingerprint != tables[0].model_fingerprint) {
      return InvalidArgument("calibration table #" + std::to_string(t + 1) +
                             " was computed on a different model (or with other graph passes) than table #1");
    }
    if (!SameSettings(tables[t].settings, settings)) {
      return InvalidArgument("calibration table #" + std::to_string(t + 1) + " was computed with other settings (" +
                             ToJson(tables[t].settings).dump() + ") than table #1 (" + ToJson(settings).dump() +
                             "); only tables of the same method and settings merge");
    }
  }
  ONNXQ_ASSIGN_OR_RETURN(const auto calibrator, MakeCalibrator(settings));
  std::map<std::string, std::unique_ptr<TensorStatistic>> merged;
  int64_t samples = 0;
  std::set<std::string> non_float;
  std::set<std::string> model_inputs;
  for (size_t t = 0; t < tables.size(); ++t) {
    const CalibrationTable& table = tables[t];
    samples += table.samples;
    non_float.insert(table.non_float.begin(), table.non_float.end());
    model_inputs.insert(table.model_inputs.begin(), table.model_inputs.end());
    for (const auto& [name, range] : table.ranges) {
      const auto it = table.statistics.find(name);
      if (it == table.statistics.end()) {
        return InvalidArgument("calibration table #" + std::to_string(t + 1) + " has no statistic for '" + name +
                               "': tables without statistics cannot be merged");
      }
      ONNXQ_ASSIGN_OR_RETURN(const nlohmann::json json, ParseStatistic(it->second, name));
      auto stat = calibrator->StatisticFromJson(json);
      if (!stat.ok()) {
        return InvalidArgument("calibration table #" + std::to_string(t + 1) + ", tensor '" + name +
                               "': " + stat.status().message());
      }
      auto& slot = merged[name];
      if (slot == nullptr) {
        slot = std::move(*stat);
      } else {
        ONNXQ_RETURN_IF_ERROR(slot->Merge(**stat));
      }
    }
  }
  // A tensor float in one shard is float in all of them.
  for (const auto& [name, stat] : merged) non_float.erase(name);
  ONNXQ_ASSIGN_OR_RETURN(CalibrationTable table, BuildCalibrationTable(merged, samples, *calibrator, settings,
                                                                       model_inputs, settings.calibration.threads));
  table.non_float.insert(non_float.begin(), non_float.end());
  table.model_fingerprint = tables[0].model_fingerprint;
  // Channel means: weighted by each table's samples; a tensor missing from a shard, or measured with
  // another channel count, has none.
  std::map<std::string, std::vector<double>> sums;
  std::map<std::string, int64_t> weights;
  for (const CalibrationTable& shard : tables) {
    for (const auto& [name, means] : shard.channel_means) {
      auto& sum = sums[name];
      if (sum.empty()) sum.assign(means.size(), 0.0);
      if (sum.size() != means.size()) {
        weights[name] = -1;
        continue;
      }
      for (size_t c = 0; c < means.size(); ++c)
        sum[c] += static_cast<double>(means[c]) * static_cast<double>(shard.samples);
      if (weights[name] >= 0) weights[name] += shard.samples;
    }
  }
  for (const auto& [name, sum] : sums) {
    const int64_t weight = weights[name];
    const bool everywhere = std::all_of(tables.begin(), tables.end(), [&tensor = name](const CalibrationTable& shard) {
      return shard.channel_means.contains(tensor);
    });
    if (weight <= 0 || !everywhere) continue;
    auto& means = table.channel_means[name];
    for (const double v : sum) means.push_back(static_cast<float>(v / static_cast<double>(weight)));
  }
  return table;
}

}  // namespace onnxq
