// Typed options of every step. The vai_q_onnx-style `extra_options` dictionary is parsed once, at the
// edge (CLI, Python), into these structs; nothing inside onnxq looks options up by string.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "onnxq/model_io.h"
#include "onnxq/quant_types.h"
#include "onnxq/status.h"

namespace onnxq {

// Limits of the numeric options (ValidateOptions). They bound memory and time, not accuracy: each is
// far above any useful value.
inline constexpr int64_t kMaxCalibrationBatch = 1 << 20;             // --calib-batch-size
inline constexpr int kMaxCalibrationWorkers = 1024;                  // CalibWorkerNum
inline constexpr int kMinHistogramBins = 2;                          // NumBins, NumQuantizedBins
inline constexpr int kMaxHistogramBins = 1 << 17;                    // (the histogram keeps 4x NumBins per tensor)
inline constexpr int kDefaultHistogramBins = 2048;                   // NumBins unset
inline constexpr int kEntropyDefaultBins = 256;                      // NumBins unset, Entropy
inline constexpr int kMaxCleSteps = 10000;                           // CLESteps
inline constexpr int64_t kMaxRandomDataElements = int64_t{1} << 31;  // one random sample of one input
inline constexpr int64_t kMaxRandomDataSamples = 1 << 20;
inline constexpr int64_t kMaxOutputCheckSamples = 1 << 20;  // OutputCheckSamples
inline constexpr int kMaxNpuLoops = 100;                    // MaxLoopNum

enum class QuantFormat { kQDQ, kQOperator };

// CalibrationMethod.{MinMax, Percentile, Entropy} and PowerOfTwoMethod.{NonOverflow, MinMSE}.
enum class CalibrationMethod { kMinMax, kPercentile, kEntropy, kNonOverflow, kMinMSE };

enum class MinMseMode { kAll, kMostCommon };

// Which marked nodes get Q/DQ (extra option QdqPlacement).
enum class QdqPlacement {
  // RuntimeFused (default): only where ONNX Runtime's CPU provider runs the node group as an integer
  // kernel, or data movement it passes quantized tensors through (quantizer/keep_unfused_ops_float.h);
  // other ops stay float, so the quantized model is not slower than the float one.
  kRuntimeFused,
  // AllQuantizable: every node an op quantizer accepts (for runtimes that run them all in integers).
  kAllQuantizable,
};

// WeightCalibrateMethod: how a weight's range is chosen from its values (per tensor or per channel).
enum class WeightCalibrationMethod {
  kMinMax,  // the full [min, max] (power-of-two: the finest scale that does not clip, as NonOverflow)
  kMinMSE,  // the range with the smallest squared quantization error (power-of-two: MinMSE candidates)
};

struct CalibrationOptions {
  CalibrationMethod method = CalibrationMethod::kMinMax;
  // CalibTensorRangeSymmetric: calibrate ranges as [-max|x|, max|x|]. Unset: the method's default
  // (true for Percentile and the power-of-two methods, false for MinMax and Entropy).
  std::optional<bool> range_symmetric;
  bool moving_average = false;            // CalibMovingAverage (MinMax only)
  float moving_average_constant = 0.01F;  // CalibMovingAverageConstant
  double percentile = 99.999;             // Percentile
  // NumBins: resolution of the histogram methods. Unset: 2048, and 256 for Entropy. Entropy resamples
  // |x| into this many bins and searches thresholds from num_quantized_bins to num_bins of them:
  // 256 / 128 gives 129 candidates from max|x| / 2 to max|x|. TensorRT's 2048 / 128 reaches down to
  // max|x| / 16, which on data with spikes (image backgrounds, Relu6 saturation) the KL divergence
  // always prefers, costing MobileNetV2 over a point of accuracy; ONNX Runtime's 128 / 128 leaves a
  // single candidate, the MinMax range. The streaming histogram behind every method keeps
  // 4 x max(NumBins, 2048) bins over the observed range.
  std::optional<int> num_bins;
  int num_quantized_bins = 128;               // NumQuantizedBins (Entropy): quantization levels per side
  MinMseMode minmse_mode = MinMseMode::kAll;  // MinMSEMode
  int64_t batch_size = 0;                     // samples per inference run when the batch axis is dynamic; 0: automatic
  int64_t max_samples = -1;                   // CalibDataSize: use at most this many samples; -1: all
  int threads = 0;                            // statistics workers; 0: one per core
};

// A range of random values for one input: [low, high) for float inputs, the whole numbers in
// [low, high] for integer inputs.
struct RandomValueRange {
  double low = 0.0;
  double high = 1.0;
};

// Random calibration data, used when no reader is given (UseRandomData). A scalar input gets a
// scalar; dynamic dims become 1.
struct RandomDataOptions {
  std::map<std::string, std::vector<int64_t>> input_shapes;  // RandomDataReaderInputShape
  float low = 0.0F;                                          // RandomDataReaderInputDataRange (float inputs)
  float high = 1.0F;
  // RandomDataReaderInputRange "NAME:LOW,HIGH;NAME2:LOW,HIGH" (CLI --random-data-input-range), per
  // input by name; a name the model lacks is an error. Integer inputs without one get their type's
  // range for bool, uint8 and int8, and [0, 1] for int32 and int64 (which cannot be guessed: a sample
  // rate, token ids), with a warning in the report for every integer type but bool.
  std::map<std::string, RandomValueRange> input_ranges;
  int64_t samples = 1;
  uint64_t seed = 0;
};

// Cross-layer equalization (include_cle and the vai_q_onnx / Quark CLE* extra options).
struct CleOptions {
  // CLESteps: equalize every pattern this many times; -1: adaptive, repeat until the total weight
  // change falls below total_layer_diff_threshold or stops changing.
  int steps = 1;
  bool scale_append_bias = true;             // CLEScaleAppendBias: the head bias counts in its range
  double total_layer_diff_threshold = 2e-7;  // CLETotalLayerDiffThreshold (adaptive steps)
  bool use_small_range_threshold = true;     // CLEScaleUseThreshold: leave near-dead channels alone
  float small_range_threshold = 0.5F;        // CLEWeightThreshold: ... when r_head + r_tail is below it
};

// SimulateDPU: the constants an AMD DPU / NPU approximates, replaced by the hardware's before
// calibration (the simulate_dpu pass; NPU mode turns it on). Each rewrite can be turned off.
struct SimulateDpuOptions {
  bool leaky_relu = true;   // ConvertLeakyReluToDPUVersion: alpha -> round(alpha * 256) / 256
  bool avg_pool = true;     // ConvertAvgPoolToDPUVersion: AveragePool, GlobalAveragePool x n M / 2^N
  bool reduce_mean = true;  // ConvertReduceMeanToDPUVersion: ReduceMean x n M / 2^N
  // ConvertSigmoidToHardSigmoid: Sigmoid -> HardSigmoid(alpha = 1/6, beta = 0.5), the DPU's version.
  bool sigmoid = true;
  // ConvertHardSigmoidToDPUVersion: HardSigmoid(1/6) (and the one inside HardSwish) times
  // (2731 / 16384) / (1 / 6), the DPU's 1/6.
  bool hard_sigmoid = true;
};

// Graph passes and accuracy algorithms the quantize pipeline runs besides its fixed preparation
// (batch-norm folding always runs). Order: pipeline/prepare_model.h.
struct PassOptions {
  // convert_nchw_to_nhwc (vai_q_onnx / Quark): every 4-D graph input takes NHWC data, a Transpose to NCHW
  // after it; the calibration data, and the quantized model's users, then feed NHWC.
  bool convert_nchw_to_nhwc = false;
  // FoldBatchNorm (vai_q_onnx / Quark: optimize_model): BatchNormalization after a Conv, ConvTranspose
  // or Gemm folded into its weights before calibrating. Off, batch norms stay float ops between Q/DQ
  // pairs, and CLE and high-bias absorption, which need the folded statistics, change less.
  bool fold_batch_norm = true;
  bool convert_bn_to_conv = false;  // ConvertBNToConv: stand-alone BatchNormalization -> depthwise Conv
  bool replace_clip6_relu = false;  // ReplaceClip6Relu: Clip(0, 6) -> Relu (changes the function)
  // The graph forms an NPU compiler expects (on by default in the NPU modes):
  bool convert_reduce_mean_to_gap = false;  // ConvertReduceMeanToGlobalAvgPool: ReduceMean over H, W
  bool split_large_kernel_pool = false;     // SplitLargeKernelPool: GlobalAveragePool over > 512 values
  bool convert_split_to_slice = false;      // ConvertSplitToSlice: Split -> one Slice per output
  bool include_cle = false;                 // include_cle: cross-layer equalization
  CleOptions cle;
  bool high_bias_absorption = false;  // HighBiasAbsorption: AIMET high-bias fold, after CLE
  bool simulate_dpu = false;          // SimulateDPU: the simulate_dpu pass, last
  SimulateDpuOptions dpu;
  // BiasCorrection: after quantization, fold each Conv / Gemm's mean output error over the
  // calibration data into its bias.
  bool bias_correction = false;
  // MeanBiasCorrection: fold each quantized Conv / Gemm's weight-quantization error on its mean input
  // (measured while calibrating, no extra pass) into its bias. Skipped when BiasCorrection runs.
  bool mean_bias_correction = true;
};

// The output check, the pipeline's last step: the quantized model runs on the first calibration
// samples, and each float graph output's SQNR and cosine similarity against the float model (as
// prepared) go into QuantizeReport::outputs. Running the quantized model also proves that it runs in
// ONNX Runtime.
struct OutputCheckOptions {
  // OutputCheckSamples: samples to compare; 0: no check (the quantized model is not run). Unset: the
  // first 8, fewer when they hold more than 4 MiB of inputs together, but at least 2. A model
  // with a fixed batch, or per-batch statistics (CalibMovingAverage), compares whole runs.
  std::optional<int64_t> samples;
  // OutputCheckSqnrThreshold: an output whose SQNR (dB) is below this gets a warning that names it and
  // what to try.
  double sqnr_threshold_db = 10.0;
  // RangeFallback: when the ranges came from MinMax (the default method) over calibration data and an
  // output measures below RangeFallbackSqnrThreshold dB, a few outliers probably stretched some ranges:
  // the data is read again for Percentile ranges, the model is quantized with them and checked on the
  // same samples, and the model whose worst output is better is kept (QuantizeReport::range_fallback).
  // Only for models whose weights take less than 256 MiB, of which the pipeline keeps a float copy.
  bool range_fallback = true;
  double range_fallback_sqnr_db = 20.0;
};

// The NPU modes of vai_q_onnx / Quark: enable_npu_cnn (aliases enable_dpu, enable_ipu_cnn) and
// enable_npu_transformer. A mode is a set of defaults (ApplySettings, onnxq/presets.h) plus rules
// ValidateOptions enforces and steps the pipeline adds.
enum class NpuMode {
  kNone,
  // Power-of-two scales, symmetric per-tensor activations and weights, int8 power-of-two biases, no
  // Q/DQ between a conv-like node and its fused activation, the DPU's constants (SimulateDPU) and
  // shift limits (NPULimitationCheck).
  kCnn,
  // Float scales, MatMul with a constant B only, no Q/DQ between a node and its fused activation.
  kTransformer,
};

// NPULimitationCheck: the power-of-two positions (pos = -log2(scale)) of an NPU-CNN model are moved
// until the DPU's shifters can compute every node, in rounds of the enabled rules until nothing
// changes or max_loops rounds ran (../shared/reference/ptq-anchors.md 1.6).
struct NpuLimitationOptions {
  bool enabled = true;       // NPULimitationCheck (IPULimitationCheck)
  int max_loops = 5;         // MaxLoopNum
  bool shift_cut = true;     // AdjustShiftCut: Conv / Gemm wpos + ipos - opos in [0, 16]
  bool shift_bias = true;    // AdjustShiftBias: wpos + ipos - bpos within the bias shifter
  bool shift_read = true;    // AdjustShiftRead: Add / Sub input positions at most 7 apart
  bool shift_write = true;   // AdjustShiftWrite: Add / Mul output shift
  bool hard_sigmoid = true;  // AdjustHardSigmoid: input and output positions of HardSigmoid
  bool shift_swish = true;   // AdjustShiftSwish: x * HardSigmoid(x)
  bool align_concat = true;  // AlignConcat: every input and the output at one position
  bool align_pool = true;    // AlignPool: MaxPool / AveragePool / GlobalAveragePool keep the position
  bool align_pad = true;     // AlignPad
  bool align_slice = true;   // AlignSlice
};

// Q/DQ between a node and the activation it fuses (Relu, Clip, LeakyRelu, PRelu) is left out in the
// NPU modes (RemoveQDQConv* of Quark): the activation reads the producer's float output and only its
// own output is quantized.
struct FusedActivationOptions {
  bool relu = true;        // RemoveQDQConvRelu
  bool clip = true;        // RemoveQDQConvClip
  bool leaky_relu = true;  // RemoveQDQConvLeakyRelu
  bool prelu = true;       // RemoveQDQConvPRelu
};

// One tensor's pinned quantization (TensorQuantOverrides, ONNX Runtime's key names in a JSON file):
// each field set replaces what calibration would give; scale and zero_point go together.
struct TensorOverride {
  std::optional<QuantType> type;      // quant_type
  std::optional<bool> symmetric;      // symmetric
  std::optional<float> scale;         // scale
  std::optional<int32_t> zero_point;  // zero_point
  std::optional<float> rmin;          // rmin: the range to quantize instead of the calibrated one
  std::optional<float> rmax;          // rmax
};

struct QuantizeOptions {
  QuantFormat quant_format = QuantFormat::kQDQ;
  QuantType activation_type = QuantType::kUInt8;
  QuantType weight_type = QuantType::kInt8;
  bool per_channel = false;
  bool reduce_range = false;
  bool activation_symmetric = false;  // ActivationSymmetric
  bool weight_symmetric = true;       // WeightSymmetric
  // WeightCalibrateMethod. Unset: MinMax, except with the power-of-two MinMSE method, whose weights
  // use MinMSE too. With a power-of-two calibration method weights get power-of-two scales as well.
  std::optional<WeightCalibrationMethod> weight_calibrate_method;
  UnsignedSymmetricZeroPoint unsigned_symmetric_zero_point = UnsignedSymmetricZeroPoint::kOnnxRuntime;
  bool quantize_bias = true;  // QuantizeBias: int32 bias with scale = input scale x weight scale
  // Int32Bias: int32 biases with scale = input scale x weight scale; false (the NPU-CNN default): int8
  // biases with a power-of-two scale of their own, quantized like weights.
  bool int32_bias = true;
  bool matmul_const_b_only = false;  // MatMulConstBOnly: MatMul only where B is a weight
  // AlignConcat=True given (Quark's A8W8 / A16W8): float scales aligned too, every quantized input of a
  // Concat taking its output's parameters. Power-of-two positions follow npu_limitation.align_concat.
  bool align_concat_scales = false;

  NpuMode npu_mode = NpuMode::kNone;
  NpuLimitationOptions npu_limitation;
  FusedActivationOptions fused_activation;
  std::map<std::string, TensorOverride> tensor_overrides;  // TensorQuantOverrides, by tensor name

  QdqPlacement placement = QdqPlacement::kRuntimeFused;  // QdqPlacement
  std::vector<std::string> op_types_to_quantize;         // empty: every supported op type
  std::vector<std::string> nodes_to_quantize;            // empty: every node
  std::vector<std::string> nodes_to_exclude;
  std::vector<std::string> input_nodes;   // quantize only from these nodes on
  std::vector<std::string> output_nodes;  // ... up to these nodes

  PassOptions passes;
  CalibrationOptions calibration;
  RandomDataOptions random_data;
  OutputCheckOptions output_check;
  SaveOptions save;  // use_external_data_format -> ExternalData::kAlways
};

// Why `pinned` cannot apply to any tensor (scale without zero point, a scale not above 0, rmin above
// rmax, a float type ...), or nullopt. ValidateOptions checks every entry of tensor_overrides with it.
std::optional<std::string> TensorOverrideProblem(const TensorOverride& pinned);

// Every number of `options` (and of its parts) within its documented range: an error naming the
// option (as the CLI and extra options spell it) otherwise. QuantizeModel and CalibrateModel call it
// first; a front end calls it to fail before loading anything.
Status ValidateOptions(const QuantizeOptions& options);
Status ValidateCalibrationOptions(const CalibrationOptions& options);

}  // namespace onnxq
