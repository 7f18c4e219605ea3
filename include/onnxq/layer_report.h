// Which layer loses the accuracy: a per-tensor comparison of a float model and its QDQ model on the
// same inputs (AIMET's QuantAnalyzer and ONNX Runtime's qdq_loss_debug, as one report).
//
//   activations  Every QuantizeLinear -> DequantizeLinear pair on an activation X of the quantized model:
//                the float model's X against the pair's dequantized output, over every value of the
//                first `max_samples` samples. The error is the whole network's up to X (the layers
//                before it are quantized too), not X's own rounding alone. SQNR (dB) and cosine
//                (algorithms/sqnr.h); the node that computes X in the float model, its position in the
//                float graph's node list (topological), the quantized type, scale and zero point, the
//                real range [(qmin - zp) * scale, (qmax - zp) * scale] and the fraction of the float
//                values outside it (clipped), and a 64-bin histogram of the float values over the
//                observed range joined with the quantized one. Worst SQNR first.
//   weights      Every quantized initializer (an integer initializer read by a DequantizeLinear, or a
//                float initializer through QuantizeLinear -> DequantizeLinear): its dequantized values
//                against the float model's initializer of the same name (for "W_quantized", W; else
//                the one the consuming node of the same name reads at the same input), per channel
//                where the scale is; the int32 biases last, since any bias correction folded into
//                them moves them off the float biases. Initializers the float model lacks, or holds
//                with another shape, are left out; those a graph pass changed before quantization (batch norm folded
//                into a weight, cross-layer equalization) differ by that change as well.
//   sensitivity  For the `sensitivity` worst activations: the float model with only that tensor's
//                Q/DQ pair inserted (its scale and zero point from the quantized model; every weight
//                float, every other tensor float), its graph outputs against the float model's. The
//                output SQNR tells what quantizing that tensor alone costs.
//
// A tensor that the quantized model quantizes but the float model does not compute under the same
// name (renamed by a graph pass) is listed in `unmatched`. Memory: the inputs of the first
// `max_samples` samples and the float model's graph outputs on them, plus one run's tensors of both
// models; each tensor keeps only sums, clip counts and a bounded histogram (algorithms/histogram.h).
// The quantized model runs with its dequantized tensors as graph outputs, which keeps ONNX Runtime
// from fusing the Q/DQ groups around them into integer kernels: the values are those of the QDQ
// graph evaluated in float, within rounding of the integer kernels' results.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "onnxq/data_reader.h"
#include "onnxq/model_io.h"
#include "onnxq/quantize.h"
#include "onnxq/status.h"

namespace onnxq {

struct LayerReportOptions {
  int64_t max_samples = 16;  // the first samples of the data (>= 1)
  int sensitivity = 10;      // worst activations that get a sensitivity run (0: none)
  int histogram_bins = 64;   // display bins of each activation's histogram (>= 1)
};

// A histogram for a plot: `counts` over equal bins of [lo, hi].
struct ValueBins {
  double lo = 0;
  double hi = 0;
  std::vector<double> counts;
};

struct ActivationError {
  std::string tensor;        // X, as the float model names it
  std::string producer;      // the node computing X in the float model (name, else "OpType #index"); "" for an input
  std::string producer_op;   // its op type; "input" for a graph input
  int64_t graph_index = -1;  // the producer's position in the float graph's nodes; -1 for a graph input
  std::string quant_type;    // uint8, int8, uint16, int16 (the zero point's type)
  float scale = 0;
  int64_t zero_point = 0;
  double range_min = 0;  // (qmin - zp) * scale
  double range_max = 0;  // (qmax - zp) * scale
  double sqnr_db = 0;    // float X against DQ(Q(X)) of the quantized model
  double cosine = 0;
  int64_t values = 0;
  float min = 0;  // observed float values
  float max = 0;
  int64_t clipped = 0;  // float values outside [range_min, range_max]
  double clipped_fraction = 0;
  ValueBins histogram;                   // float values over [min(min, range_min), max(max, range_max)]
  std::optional<double> sensitivity_db;  // worst output SQNR with only this pair quantized
};

struct WeightError {
  std::string tensor;    // the float model's initializer
  std::string consumer;  // the first node reading its dequantized value (quantized model)
  std::string consumer_op;
  int64_t graph_index = -1;  // the consumer's position in the quantized graph's nodes
  std::string quant_type;
  int64_t channels = 1;  // scales: 1 per tensor
  int64_t axis = -1;     // the channel axis, -1 per tensor
  double sqnr_db = 0;
  double cosine = 0;
  int64_t values = 0;
};

struct LayerReport {
  int64_t samples = 0;
  std::vector<OutputAccuracy> outputs;       // the whole quantized model against the float one
  std::vector<ActivationError> activations;  // worst SQNR first
  std::vector<WeightError> weights;          // worst SQNR first, the int32 biases after the rest
  std::vector<std::string> unmatched;        // quantized tensors the float model does not compute
};

// Runs both models on the first options.max_samples samples of `data` (batches as it gives them; the
// quantized model must accept them too). Errors: a model that does not load or run in ONNX Runtime,
// data that does not fit the float model, a quantized model without one activation Q/DQ pair, or no
// sample. `progress` hears ("compare", done, total) per batch and ("sensitivity", done, total).
Result<LayerReport> CompareLayers(const onnx::ModelProto& float_model, const onnx::ModelProto& quantized_model,
                                  CalibrationDataReader& data, const LayerReportOptions& options = {},
                                  const ProgressCallback& progress = {});

enum class LayerReportFormat { kText, kJson, kHtml };

// kHtml for a path ending in .html or .htm, kJson for .json, else kText.
LayerReportFormat LayerReportFormatOf(const std::filesystem::path& path);

// What the page and the text say the report compares.
struct LayerReportTitle {
  std::string float_model;
  std::string quantized_model;
  std::string data;  // where the samples came from
};

// The report as a table, worst first: one line per activation, then the weights.
std::string LayerReportText(const LayerReport& report, const LayerReportTitle& title);
// One JSON object (2-space indented); non-finite numbers become null.
std::string LayerReportJson(const LayerReport& report, const LayerReportTitle& title);
// One self-contained HTML page (inline CSS and SVG, no script, nothing fetched): the table, a histogram
// per activation with its quantized range and clipped fraction, and the SQNR of each activation in
// graph order.
std::string LayerReportHtml(const LayerReport& report, const LayerReportTitle& title);

// Writes the report in `format` to `path` atomically (WriteFileAtomically), refusing any of `inputs`.
Status WriteLayerReport(const LayerReport& report, const LayerReportTitle& title, LayerReportFormat format,
                        const std::filesystem::path& path, std::span<const InputFile> inputs = {});

}  // namespace onnxq
