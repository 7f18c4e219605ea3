// Classification accuracy of a model on labelled data (top-1 / top-5), its speed, and its per-sample
// top-1 predictions, for float-vs-quantized comparisons.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "onnxq/data_reader.h"
#include "onnxq/quantize.h"
#include "onnxq/status.h"

namespace onnxq {

struct AccuracyReport {
  int64_t samples = 0;
  double top1 = 0;                   // percent
  double top5 = 0;                   // percent
  double seconds = 0;                // the whole loop: reading the data and running the model
  double run_seconds = 0;            // in the model's runs only
  int64_t batches = 0;               // runs of the model
  int64_t skipped = 0;               // samples the reader could not read (CalibrationDataReader::SkippedSamples)
  std::vector<int64_t> predictions;  // the top-1 class of each sample, in the reader's order

  // Samples per second of the model's runs, and their mean time per run (batch).
  double SamplesPerSecond() const { return run_seconds > 0 ? static_cast<double>(samples) / run_seconds : 0; }
  double SecondsPerBatch() const { return batches > 0 ? run_seconds / static_cast<double>(batches) : 0; }
};

struct EvaluateOptions {
  // Called after each batch with the samples done and the reader's SampleCount (-1: unknown).
  ProgressCallback progress;
};

// Runs the model over every batch of `reader`; the first output holds per-class scores [N, classes].
// The labels are `labels`, one per sample in the reader's order; or, when `labels` is empty, the
// reader's own (BatchLabels: the class folders of an image folder), and then a reader without any is
// an error. Given labels and a reader that skipped samples do not line up: also an error.
Result<AccuracyReport> EvaluateClassifier(const onnx::ModelProto& model, CalibrationDataReader& reader,
                                          std::span<const int64_t> labels, const EvaluateOptions& options = {});

// The percentage of samples on which `other` predicts the same top-1 class as `reference`. Reports
// of different sample counts are an error.
Result<double> Top1Agreement(const AccuracyReport& reference, const AccuracyReport& other);

// Labels as one uint8 per sample (a .u8 file) or a .npy integer array.
Result<std::vector<int64_t>> LoadLabels(const std::filesystem::path& path);

}  // namespace onnxq
