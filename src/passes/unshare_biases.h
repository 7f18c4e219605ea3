#pragma once

#include "passes/graph_pass.h"

namespace onnxq {

// unshare_biases: a bias initializer read by several nodes gets a copy of its own for each Conv,
// ConvTranspose and Gemm that reads it as its bias.
//
// Exporters share equal constants: torch.onnx.export writes one initializer for equal tensors and
// Identity nodes for the others (squeezenet1_1: 18 of its 26 Conv biases are zeros, read through
// Identity nodes of one), and eliminate_identity makes the readers read the one initializer. An int32
// bias is quantized with scale = scale(input) x scale(weight), which differs from layer to layer, so
// one tensor cannot serve two layers; and ONNX Runtime does not fuse a Conv whose bias DequantizeLinear
// several nodes read (measured: squeezenet1_1 ran 3.6x slower quantized than float, 18 of its Convs in
// float between Q/DQ pairs). Passes that rewrite a layer's bias (fold_batch_norm, equalize_cross_layer,
// absorb_high_bias) also skip a bias that other nodes read.
//
//   Before:  Conv(x, w1, b);  Conv(y, w2, b)
//   After:   Conv(x, w1, b);  Conv(y, w2, b_1)        b_1 = a copy of b
//
// The first reader keeps the initializer. Preconditions: default-domain Conv / ConvTranspose / Gemm
// whose input 2 is an initializer of the main graph that is not also a graph input (a graph input can
// be fed another value at run time).
class UnshareBiasesPass final : public GraphPass {
 public:
  std::string_view name() const override { return "unshare_biases"; }
  std::string_view summary() const override {
    return "give each Conv, ConvTranspose and Gemm a bias initializer no other node reads";
  }
  Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const override;
};

}  // namespace onnxq
