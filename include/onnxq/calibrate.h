// Calibration as a step of its own: calibrate once (or in shards, then merge), quantize many times.
//
//   CalibrateModel -> CalibrationTable -> SaveCalibrationTable ... LoadCalibrationTable
//   MergeCalibrationTables(shards) -> CalibrationTable
//   QuantizeModel(model, table, options)  (no calibration run)
//
// A table holds, per calibrated tensor, the statistic the method collects (min/max, a histogram,
// per-batch power-of-two votes) and the range chosen from it, plus the settings used to choose it.
// Because the statistics are kept, ranges are recomputed whenever the settings differ: quantizing
// from a table with another activation type, Percentile value or, among methods that share a
// statistic (MinMax / NonOverflow; Percentile / Entropy / MinMSE), another method needs no new run.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "onnxq/data_reader.h"
#include "onnxq/model_io.h"
#include "onnxq/options.h"
#include "onnxq/quantize.h"
#include "onnxq/status.h"

namespace onnxq {

// What turns statistics into ranges: the calibration options and the integer grid of the
// activations (power-of-two positions depend on the type, its symmetry and the zero point).
struct CalibrationSettings {
  CalibrationOptions calibration;  // range_symmetric resolved to the method's default when unset
  QuantType activation_type = QuantType::kUInt8;
  bool activation_symmetric = false;
  UnsignedSymmetricZeroPoint unsigned_symmetric_zero_point = UnsignedSymmetricZeroPoint::kOnnxRuntime;
};

// The settings QuantizeModel calibrates activations with.
CalibrationSettings CalibrationSettingsOf(const QuantizeOptions& options);

// Positions around the calibrated one whose SQNR a MinMSE range carries (TensorRange::sqnr_db_by_pos).
inline constexpr int kPosSqnrSpan = 8;

struct TensorRange {
  float rmin = 0.0F;
  float rmax = 0.0F;
  std::optional<int> pos;  // power-of-two methods: scale = 2^-pos
  // MinMSE over a histogram: the calibrated values' SQNR (dB) on the grid of each position from
  // pos - kPosSqnrSpan to pos + kPosSqnrSpan, which NPU-CNN mode's refinement reports a move by.
  std::map<int, double> sqnr_db_by_pos;

  friend bool operator==(const TensorRange&, const TensorRange&) = default;
};

struct CalibrationTable {
  CalibrationSettings settings;
  int64_t samples = 0;
  std::map<std::string, TensorRange> ranges;
  std::map<std::string, std::string> statistics;  // per tensor, method-specific, as JSON text
  std::set<std::string> non_float;                // asked for, but not float at run time
  std::set<std::string> model_inputs;             // calibrated tensors that are inputs of the model
  // FNV-1a hash of the prepared graph the table was computed on (after the graph passes): reusing a
  // table on another model, or with other passes, is refused. Empty in tables that predate it.
  std::string model_fingerprint;
  // Per input of a layer with a weight (Conv, Gemm), its mean per channel over the data: what
  // MeanBiasCorrection corrects the layer's bias with. Merged by the samples of each table.
  std::map<std::string, std::vector<float>> channel_means;
};

// Fingerprint of a (prepared) model's graph, as stored in CalibrationTable::model_fingerprint.
std::string ModelFingerprint(const onnx::ModelProto& model);

// Loads the inference engine on a background thread (its first use costs tens of milliseconds), so
// that loading overlaps with reading the model and the graph passes. Keep the object while working:
// its destructor waits for the loading to end, so the process never exits in the middle of it.
// Calibration and evaluation need no preload; it only saves time. Loading happens once per process.
class InferenceEnginePreload {
 public:
  InferenceEnginePreload();
  ~InferenceEnginePreload();
  InferenceEnginePreload(const InferenceEnginePreload&) = delete;
  InferenceEnginePreload& operator=(const InferenceEnginePreload&) = delete;

 private:
  std::shared_future<void> loading_;
};

// Samples per batch the data of `model` is best read in: its fixed batch, options.batch_size, or for a
// dynamic batch as many as keep a run's inputs small (16 for small images). The CLI opens its data
// with it; a reader of single samples reaches it through StackBatches (data_reader.h).
int64_t CalibrationBatchSize(const onnx::ModelProto& model, const CalibrationOptions& options);

// Runs the prepared float model over the data (random data with a warning when `reader` is null)
// and returns the table of every activation the quantizer would calibrate with `options`.
Result<CalibrationTable> CalibrateModel(const onnx::ModelProto& model, CalibrationDataReader* reader,
                                        const QuantizeOptions& options, QuantizeReport* report = nullptr,
                                        const ProgressCallback& progress = {});

// Quantizes with the ranges of `table` instead of calibrating. Fails, naming the tensors, when the
// table lacks a tensor the quantizer needs, or when its statistics cannot give options' method
// (e.g. min/max statistics for Entropy). A table calibrated by another method whose statistics
// serve (Entropy table, Percentile asked) gives a warning in the report.
Result<onnx::ModelProto> QuantizeModel(const onnx::ModelProto& model, const CalibrationTable& table,
                                       const QuantizeOptions& options, QuantizeReport* report = nullptr);

// Merges tables computed on disjoint shards of the data with the same settings: min/max merge
// exactly, histograms add their counts, votes add up; ranges are recomputed from the merged
// statistics. Moving-average min/max merge as the batch-weighted mean of the shards.
Result<CalibrationTable> MergeCalibrationTables(std::span<const CalibrationTable> tables);

// JSON, one line per tensor; floats are written so that they read back bit for bit. Written like
// WriteFileAtomically: `path` may not be one of `inputs`, nor a directory, device or fifo.
Status SaveCalibrationTable(const CalibrationTable& table, const std::filesystem::path& path,
                            std::span<const InputFile> inputs = {});
Result<CalibrationTable> LoadCalibrationTable(const std::filesystem::path& path);
// The table from the text of a table file; `origin` names it in errors.
Result<CalibrationTable> ParseCalibrationTable(std::string_view text, const std::string& origin);

}  // namespace onnxq
