// Static post-training quantization: the library's main entry point, shaped like vai_q_onnx's
// quantize_static(model_input, model_output, calibration_data_reader, ...).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "onnxq/data_reader.h"
#include "onnxq/options.h"
#include "onnxq/runnability.h"
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

// An activation kept in float although the nodes around it are quantizable (quantizer/float_tensors.h):
// a non-finite range, a tensor 8 bits cannot resolve before Log ...
struct TensorDecision {
  std::string tensor;
  std::string reason;
};

// How closely one float graph output of the quantized model follows the float model's, over every
// value of the check's samples (OutputCheckOptions).
struct OutputAccuracy {
  std::string output;  // graph output name
  // 10 log10(sum x^2 / sum (x - q)^2), x float, q quantized: +inf when the outputs are equal, -inf when
  // the float output is all zeros and the quantized one is not, or when one has NaN or Inf where the
  // other does not.
  double sqnr_db = 0;
  double cosine = 0;    // sum x q / sqrt(sum x^2 sum q^2); NaN when one side has NaN or Inf alone
  int64_t values = 0;   // value pairs compared
  std::string warning;  // when sqnr_db is below the threshold: the same text as in QuantizeReport::warnings
};

// Where the output check's samples came from.
enum class CheckData {
  kCalibration,  // the first samples of the calibration data
  kRandom,       // random data: calibration had none, or ranges came from a table
};

// RangeFallback (OutputCheckOptions): the worst output's SQNR on the check's samples with the MinMax
// ranges and with the fallback method's, and which of the two models was kept.
struct RangeFallbackReport {
  std::string method;  // the fallback's calibration method: "Percentile"
  double minmax_sqnr_db = 0;
  double fallback_sqnr_db = 0;
  bool kept_fallback = false;
  double seconds = 0;  // the second calibration, quantization and check
};

// NPULimitationCheck: one power-of-two position (pos = -log2(scale)) that the refinement moved so that
// the NPU's shifters can compute a node, and what the move costs that tensor: its quantization SQNR
// (dB, 10 log10(sum x^2 / sum (x - q(x))^2)) at the old and the new position, over its values for a
// weight or bias, over the calibration histogram (power-of-two MinMSE) or else the output check's
// samples for an activation (NaN when not measured).
struct NpuAdjustment {
  std::string node;
  std::string tensor;
  std::string rule;  // as the extra option that switches it: AdjustShiftCut, AlignConcat ...
  int old_pos = 0;
  int new_pos = 0;
  int loop = 0;  // the round, from 1
  double old_sqnr_db = 0;
  double new_sqnr_db = 0;
};

struct NpuRefinementReport {
  int loops = 0;           // rounds run
  bool converged = false;  // every enabled rule holds
  std::vector<NpuAdjustment> adjustments;
  // Moves a rule asked of a tensor TensorQuantOverrides pinned, not made: the rule stays broken there
  // (new_pos: where the rule wanted the tensor; the SQNRs are NaN).
  std::vector<NpuAdjustment> held;
};

struct QuantizeReport {
  int64_t nodes_total = 0;
  int64_t nodes_quantized = 0;
  int64_t biases_corrected = 0;               // layers whose bias MeanBiasCorrection corrected
  int64_t nodes_folded = 0;                   // Relu / Clip absorbed into their producer's quantized output
  std::vector<NodeDecision> left_float;       // with reasons
  std::vector<TensorDecision> float_tensors;  // activations kept in float, with reasons (also in warnings)
  int64_t activations_quantized = 0;
  int64_t weights_quantized = 0;
  int64_t calibration_samples = 0;
  int64_t calibration_skipped = 0;  // samples the data reader could not read (unreadable images), skipped
  // The output check: samples compared (0: no check ran: disabled, or nothing was quantized), their
  // origin, and one entry per float graph output, in graph order.
  int64_t output_check_samples = 0;
  CheckData output_check_data = CheckData::kCalibration;
  std::vector<OutputAccuracy> outputs;
  // What ONNX Runtime runs of the quantized model, from its optimized graph (onnxq/runnability.h);
  // none when nothing was quantized or the engine could not write its optimized graph.
  std::optional<RunnabilityReport> runnability;
  std::optional<RangeFallbackReport> range_fallback;  // when the fallback ran
  std::optional<NpuRefinementReport> npu_refinement;  // NPU-CNN mode with NPULimitationCheck
  double seconds_prepare = 0;
  double seconds_calibrate = 0;
  double seconds_quantize = 0;
  double seconds_check = 0;
  std::vector<std::string> warnings;
};

// Quantizes an in-memory model. `reader` may be null: random data is used (with a warning).
Result<onnx::ModelProto> QuantizeModel(const onnx::ModelProto& model, CalibrationDataReader* reader,
                                       const QuantizeOptions& options, QuantizeReport* report = nullptr,
                                       const ProgressCallback& progress = {});
// The same, taking the model over: its weights are not copied (a large model is then held once).
Result<onnx::ModelProto> QuantizeModel(onnx::ModelProto&& model, CalibrationDataReader* reader,
                                       const QuantizeOptions& options, QuantizeReport* report = nullptr,
                                       const ProgressCallback& progress = {});

// Loads model_input, quantizes it and writes model_output atomically.
Result<QuantizeReport> QuantizeStatic(const std::filesystem::path& model_input,
                                      const std::filesystem::path& model_output, CalibrationDataReader* reader,
                                      const QuantizeOptions& options, const ProgressCallback& progress = {});

}  // namespace onnxq
