#pragma once

#include "passes/graph_pass.h"

namespace onnxq {

struct AbsorbHighBiasOptions {
  // Also absorb into a tail that pads its input (a Conv with pads, or a Pad in between). The padded
  // border then sees 0 where it should see -c, so border outputs change (AIMET absorbs regardless).
  bool through_padding = false;
  float num_std = 3.0F;  // c = max(0, beta - num_std * |gamma|)
};

// absorb_high_bias: high-bias absorption (DFQ, Nagel et al. 2019; AIMET HighBiasFold). Moves the part
// of a layer's bias that its activation never cuts into the next layer, which shrinks the
// activation's range after cross-layer equalization has inflated some channels.
//
//   Before:  Conv(x, W1, b1) -> Relu -> Conv(., W2, b2)
//   After:   Conv(x, W1, b1 - c) -> Relu -> Conv(., W2, b2 + (sum_spatial W2) c)
//
// Formula (algorithms/high_bias_absorption.h), per channel i of the head's output, with gamma_i and
// beta_i the statistics of the batch norm folded into the head (PassContext, recorded by
// fold_batch_norm and rescaled by equalize_cross_layer):
//   c_i = max(0, beta_i - 3 |gamma_i|)   with a Relu / LeakyRelu / PRelu in between
//   c_i = beta_i                          with nothing in between (exact)
// The head's recorded beta drops by c.
//
// Preconditions: the pair is a link of an equalization chain (passes/equalization_chains.h); the head
// has a bias and recorded batch-norm statistics (so this pass does nothing unless fold_batch_norm ran
// earlier in the same run on a model with batch norms); a Gemm in the pair has alpha = beta = 1; unless
// through_padding, the tail does not pad its input. The function changes only for the ~0.13% of
// pre-activations below c (none without an activation).
class AbsorbHighBiasPass final : public GraphPass {
 public:
  explicit AbsorbHighBiasPass(const AbsorbHighBiasOptions& options = {}) : options_(options) {}
  std::string_view name() const override { return "absorb_high_bias"; }
  std::string_view summary() const override {
    return "move bias a Relu never cuts into the next layer (needs fold_batch_norm first)";
  }
  Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const override;

 private:
  AbsorbHighBiasOptions options_;
};

}  // namespace onnxq
