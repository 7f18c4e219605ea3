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

namespace onnxq {

enum class QuantFormat { kQDQ, kQOperator };

// CalibrationMethod.{MinMax, Percentile, Entropy} and PowerOfTwoMethod.{NonOverflow, MinMSE}.
enum class CalibrationMethod { kMinMax, kPercentile, kEntropy, kNonOverflow, kMinMSE };

enum class MinMseMode { kAll, kMostCommon };

struct CalibrationOptions {
  CalibrationMethod method = CalibrationMethod::kMinMax;
  // CalibTensorRangeSymmetric: calibrate ranges as [-max|x|, max|x|]. Unset: the method's default
  // (true for Percentile and the power-of-two methods, false for MinMax and Entropy).
  std::optional<bool> range_symmetric;
  bool moving_average = false;            // CalibMovingAverage (MinMax only)
  float moving_average_constant = 0.01F;  // CalibMovingAverageConstant
  double percentile = 99.999;             // Percentile
  int num_bins = 2048;                    // NumBins (histogram methods)
  int num_quantized_bins = 128;           // NumQuantizedBins (Entropy)
  MinMseMode minmse_mode = MinMseMode::kAll;  // MinMSEMode
  int64_t batch_size = 0;    // samples per inference run when the batch axis is dynamic; 0: automatic
  int64_t max_samples = -1;  // CalibDataSize: use at most this many samples; -1: all
  int threads = 0;           // statistics workers; 0: one per core
};

// Random calibration data, used when no reader is given (UseRandomData).
struct RandomDataOptions {
  std::map<std::string, std::vector<int64_t>> input_shapes;  // RandomDataReaderInputShape
  float low = 0.0F;   // RandomDataReaderInputDataRange
  float high = 1.0F;
  int64_t samples = 1;
  uint64_t seed = 0;
};

struct QuantizeOptions {
  QuantFormat quant_format = QuantFormat::kQDQ;
  QuantType activation_type = QuantType::kUInt8;
  QuantType weight_type = QuantType::kInt8;
  bool per_channel = false;
  bool reduce_range = false;
  bool activation_symmetric = false;  // ActivationSymmetric
  bool weight_symmetric = true;       // WeightSymmetric
  UnsignedSymmetricZeroPoint unsigned_symmetric_zero_point = UnsignedSymmetricZeroPoint::kOnnxRuntime;
  bool quantize_bias = true;  // QuantizeBias: int32 bias with scale = input scale x weight scale

  std::vector<std::string> op_types_to_quantize;  // empty: every supported op type
  std::vector<std::string> nodes_to_quantize;     // empty: every node
  std::vector<std::string> nodes_to_exclude;
  std::vector<std::string> input_nodes;   // quantize only from these nodes on
  std::vector<std::string> output_nodes;  // ... up to these nodes

  CalibrationOptions calibration;
  RandomDataOptions random_data;
  SaveOptions save;  // use_external_data_format -> ExternalData::kAlways
};

}  // namespace onnxq
