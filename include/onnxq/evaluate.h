// Classification accuracy of a model on labelled data (top-1 / top-5), for float-vs-quantized checks.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "onnxq/data_reader.h"
#include "onnxq/status.h"

namespace onnxq {

struct AccuracyReport {
  int64_t samples = 0;
  double top1 = 0;  // percent
  double top5 = 0;  // percent
  double seconds = 0;
};

// Runs the model over every batch of `reader`; the first output holds per-class scores [N, classes].
Result<AccuracyReport> EvaluateClassifier(const onnx::ModelProto& model, CalibrationDataReader& reader,
                                          std::span<const int64_t> labels);

// Labels as one uint8 per sample (a .u8 file) or a .npy integer array.
Result<std::vector<int64_t>> LoadLabels(const std::filesystem::path& path);

}  // namespace onnxq
