#pragma once

#include "passes/graph_pass.h"

namespace onnxq {

// fold_batch_norm: a BatchNormalization that follows a Conv, ConvTranspose or Gemm is folded into
// that layer's weight and bias (AIMET BatchNormFold "backward"; ONNX Runtime's and Quark's
// pre-processing do the same).
//
//   Before:  Conv(x, W[, b]) -> t -> BatchNormalization(t, gamma, beta, mean, var) -> y
//   After:   Conv(x, W', b') -> y
//
// Formula, per output channel o with sigma_o = sqrt(var_o + epsilon):
//   W'[.., o, ..] = W[.., o, ..] * gamma_o / sigma_o
//   b'_o          = beta_o + (b_o - mean_o) * gamma_o / sigma_o       (b = 0 when the layer had none)
// The output-channel axis is 0 for Conv (any group) and for a depthwise ConvTranspose, 1 for a group-1
// ConvTranspose, 1 for Gemm with transB = 0 and 0 for transB = 1. A Gemm's bias is b = beta_attr * C;
// the folded Gemm gets C = b' and beta = 1.
//
// Preconditions (otherwise the batch norm stays and a note says why): the batch norm is in inference
// mode (training_mode 0, no spatial = 0) and its four parameters are constant (initializers, Constant
// nodes, or Identity nodes of them); the layer's output is read by the batch norm alone and is no
// graph output; the layer's weight is a float32 initializer with as many output channels as the batch
// norm has, its bias (if any) a float32 initializer with one value per channel (a Gemm's C of shape
// [N] or [1, N]); a ConvTranspose is group 1 or depthwise.
//
// A weight or bias that other nodes also read is not changed: the folded layer gets its own copy.
// Each folded batch norm's gamma and beta are recorded in PassContext::batch_norm_stats under the
// layer's new output name (absorb_high_bias needs them).
class FoldBatchNormPass final : public GraphPass {
 public:
  std::string_view name() const override { return "fold_batch_norm"; }
  std::string_view summary() const override {
    return "fold BatchNormalization into the preceding Conv, ConvTranspose or Gemm";
  }
  Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const override;
};

}  // namespace onnxq
