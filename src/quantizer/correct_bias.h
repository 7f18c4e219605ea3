// correct_bias: empirical bias correction after quantization (vai_q_onnx / Quark BiasCorrection;
// AIMET empirical bias correction; DFQ, Nagel et al. 2019). Not a registered graph pass: it needs the
// quantized model, the float model it came from and calibration data, and runs after materialization.
//
//   Before:  DQ(x) -> Conv(DQ(W_q), DQ(b_q)) -> y
//   After:   DQ(x) -> Conv(DQ(W_q), DQ(b_q')) -> y
//
// Formula, for each quantized Conv / ConvTranspose / Gemm and each output channel o:
//   d_o   = mean over calibration samples and output positions of
//           [ Layer(x_q; W, b~) - Layer(x_q; W~, b~) ]_o
//   b'_o  = b~_o + d_o
// where x_q is the layer's quantized (dequantized) input in the quantized model, W the float weight,
// W~ = DQ(W_q) and b~ = DQ(b_q) the quantized ones. So d is the mean output error the weight's
// quantization causes on the inputs the layer really sees: each layer corrects its own error, and all
// layers are measured in one pass over the data (one run of the quantized model with a float twin of
// every layer beside it). A quantized bias is requantized with its own scale (int32, clamped); a float
// bias gets d added; a layer without bias gets an int32 bias with scale = input scale x weight scale.
// The numbers (the running channel means, the int32 requantization): algorithms/bias_correction.h.
// The workers running the data: calibration/parallel_batches.h.
//
// Preconditions: `quantized` was made from `float_model` by the QDQ materializer, which keeps the
// order and names of Conv / ConvTranspose / Gemm nodes; a layer is corrected when its weight is a
// DequantizeLinear of an initializer and its float twin's weight a float32 initializer, and when its
// bias (if any) is read by that layer alone. Other layers are left alone and counted in the notes.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>

#include "calibration/inference_backend.h"
#include "onnxq/data_reader.h"
#include "passes/graph_pass.h"

namespace onnxq {

struct BiasCorrectionOptions {
  int64_t max_samples = -1;  // use at most this many samples of the reader (-1: all)
  int threads = 0;           // workers running the data (0: one a core)
};

// Corrects `quantized` in place, reading `reader` from its current position once and running the
// measuring model (the quantized one with a float twin beside each layer) in sessions of `backend`.
Result<PassReport> CorrectBias(const InferenceBackend& backend, const onnx::ModelProto& float_model,
                               onnx::ModelProto& quantized, CalibrationDataReader& reader,
                               const BiasCorrectionOptions& options = {});

}  // namespace onnxq
