// Static post-training quantization: the library's main entry point, shaped like vai_q_onnx's
// quantize_static(model_input, model_output, calibration_data_reader, ...).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "onnxq/data_reader.h"
#include "onnxq/options.h"
#include "onnxq/status.h"

namespace onnxq {

// Called as work advances: `stage` names the step ("calibrate"), done/total count samples (total -1
// when unknown).
using ProgressCallback = std::function<void(const std::string& stage, int64_t done, int64_t total)>;

struct NodeDecision {
  std::string node;  // node name (or "<op> #index" when unnamed)
  std::string op_type;
  std::string reason;  // why it stays float; empty when quantized
};

struct QuantizeReport {
  int64_t nodes_total = 0;
  int64_t nodes_quantized = 0;
  int64_t biases_corrected = 0;          // layers whose bias MeanBiasCorrection corrected
  int64_t nodes_folded = 0;              // Relu / Clip absorbed into their producer's quantized output
  std::vector<NodeDecision> left_float;  // with reasons
  int64_t activations_quantized = 0;
  int64_t weights_quantized = 0;
  int64_t calibration_samples = 0;
  double seconds_prepare = 0;
  double seconds_calibrate = 0;
  double seconds_quantize = 0;
  std::vector<std::string> warnings;
};

// Quantizes an in-memory model. `reader` may be null: random data is used (with a warning).
Result<onnx::ModelProto> QuantizeModel(const onnx::ModelProto& model, CalibrationDataReader* reader,
                                       const QuantizeOptions& options, QuantizeReport* report = nullptr,
                                       const ProgressCallback& progress = {});

// Loads model_input, quantizes it and writes model_output atomically.
Result<QuantizeReport> QuantizeStatic(const std::filesystem::path& model_input,
                                      const std::filesystem::path& model_output, CalibrationDataReader* reader,
                                      const QuantizeOptions& options, const ProgressCallback& progress = {});

}  // namespace onnxq
