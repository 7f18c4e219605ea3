#pragma once

#include "onnxq/options.h"
#include "passes/graph_pass.h"

namespace onnxq {

// equalize_cross_layer: cross-layer equalization (DFQ, Nagel et al. 2019; vai_q_onnx / Quark
// include_cle; AIMET cross-layer scaling). Rescales consecutive layers per channel so that their
// weights have the same per-channel ranges, which per-tensor quantization needs when channel ranges
// differ widely (depthwise models).
//
//   Before:  Conv(x, W1, b1) -> Relu -> Conv(., W2, b2)
//   After:   Conv(x, W1 * s, b1 * s) -> Relu -> Conv(., W2 / s, b2)        (s per shared channel)
//
// Patterns (passes/equalization_chains.h): chains of Conv (group 1 or depthwise) / Gemm (transA 0)
// linked by single-reader Relu, LeakyRelu, PRelu or zero Pad, split into sets from the start:
//   dense -> depthwise -> dense   a triplet (Quark / AIMET depthwise-separable scaling)
//   any other two neighbours      a pair
// The last layer of a set starts the next one. Grouped non-depthwise convs, layers with shared
// weights or biases and heads whose output has several readers break chains.
//
// Formulas (algorithms/cross_layer_scales.h): pair s_i = sqrt(r_tail_i / r_head_i) with head ranges
// that include the bias when scale_append_bias (CLEScaleAppendBias) and s_i = 1 where r_head_i +
// r_tail_i < small_range_threshold (CLEScaleUseThreshold / CLEWeightThreshold); triplet s12, s23
// from cbrt(m0 m1 m2). One step equalizes every set once, in graph order; `steps` (CLESteps) steps
// run, or with -1 steps until the summed mean |change| of the weights is <= total_layer_diff_threshold
// (CLETotalLayerDiffThreshold) or stagnates.
//
// The function is preserved exactly up to float rounding. Batch-norm statistics recorded by
// fold_batch_norm for a rescaled layer's output are rescaled with it (PassContext).
class EqualizeCrossLayerPass final : public GraphPass {
 public:
  explicit EqualizeCrossLayerPass(const CleOptions& options = {}) : options_(options) {}
  std::string_view name() const override { return "equalize_cross_layer"; }
  std::string_view summary() const override {
    return "cross-layer equalization of Conv / Gemm pairs and depthwise triplets";
  }
  Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const override;

 private:
  CleOptions options_;
};

}  // namespace onnxq
