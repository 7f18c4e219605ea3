// ONNX Runtime's CPU provider runs a QLinearConv with its fastest kernels (MLAS's symmetric
// convolution: int8 weights with zero point 0, the requantization fused) only when the input channels
// are a multiple of 4 (and the output channels at least 16 and a multiple of 8); otherwise it falls
// back to an im2col and a generic GEMM. The first convolution of an image network reads 3 channels
// (RGB), so it misses that path, and it is one of the network's costliest layers (on MobileNetV3 its
// QLinearConv takes longer than MLAS's float one).
//
// An input channel of zeros changes nothing: the rewrite pads the quantized input with the zero
// point's code (the DequantizeLinear gives 0.0 for it) and the weights with zero filters, so the
// convolution computes the same sums and ONNX Runtime still fuses DQ -> Conv -> Q into a QLinearConv:
//
//   Before:  x_q -> DQ(s, z) -> Conv(W[M, 3, k, k]) -> ...
//   After:   x_q -> Pad(channels 3 -> 4, value z) -> DQ(s, z) -> Conv(W'[M, 4, k, k]) -> ...
//
// Preconditions, per node: Conv in the default domain with group 1; its input written by a
// DequantizeLinear of an 8-bit tensor with a scalar zero point initializer; its weights a
// DequantizeLinear of an int8 initializer whose zero points are all 0; input channels not a multiple
// of 4, output channels at least 16 and a multiple of 8 (the kernel's other conditions); at least 1024
// output positions (input positions over the strides), or an input of unknown spatial size (below that
// the Pad costs what the kernel saves: a squeeze-excite convolution on a 1x1 map, a transformer's
// stride-8 patch embedding on 64x64); opset 11 or later (Pad takes its value as an input). Other
// convolutions are left as they are.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <span>

#include "onnxq/options.h"

namespace onnxq {

// Whether quantizing with `options` runs PadConvInputChannels: Q/DQ placed for ONNX Runtime's CPU
// provider (not an NPU mode) with 8-bit activations and int8 weights.
bool PadsConvInputChannels(const QuantizeOptions& options);

// Pads every convolution that meets the preconditions in `graph` (of a model importing the default
// domain at `opset`); returns how many. Input sizes come from the graph's own shapes or else from
// `float_shapes`: the value_info of the float graph the Q/DQ nodes were placed in (MaterializeQdq
// drops value_info; the float tensors the QuantizeLinear nodes read keep their names and shapes).
int PadConvInputChannels(onnx::GraphProto* graph, int64_t opset,
                         std::span<const onnx::ValueInfoProto> float_shapes = {});

}  // namespace onnxq
