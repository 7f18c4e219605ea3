#pragma once

#include "passes/graph_pass.h"

namespace onnxq {

// convert_bn_to_conv: a stand-alone BatchNormalization (one fold_batch_norm could not fold) becomes a
// depthwise 1x1 Conv, which quantizes like any other conv (Quark ConvertBNToConv).
//
//   Before:  Add -> x -> BatchNormalization(x, gamma, beta, mean, var) -> y
//   After:   Add -> x -> Conv(x, W, b) <group = C, kernel_shape = [1, ...]> -> y
//
// Formula, per channel c with sigma_c = sqrt(var_c + epsilon) (epsilon defaults to 1e-5 as in ONNX):
//   W[c, 0, 1, ...] = gamma_c / sigma_c,   b_c = beta_c - mean_c * gamma_c / sigma_c
//
// Preconditions (otherwise the batch norm stays and a note says why): inference mode (training_mode
// 0, no spatial = 0), running-statistics outputs unread, constant parameters, and a float32 input of
// known rank >= 3 (shape inference must have run) whose channel dimension, when known, matches.
class ConvertBnToConvPass final : public GraphPass {
 public:
  std::string_view name() const override { return "convert_bn_to_conv"; }
  std::string_view summary() const override { return "turn stand-alone BatchNormalization into a depthwise 1x1 Conv"; }
  Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const override;
};

}  // namespace onnxq
