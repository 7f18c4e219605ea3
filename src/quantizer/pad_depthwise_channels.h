// ONNX Runtime's QLinearConv runs a depthwise convolution on MLAS's symmetric kernel only when its
// channel count is a multiple of 16 (MlasConvSymPackWSize); any other count takes a generic kernel that
// measured 2.6-3x slower than the float convolution: MNASNet's 72-channel 3x3 at 56 x 56, 139 us against
// 53, its 120-channel 5x5 at 28 x 28, 128 us against 41 (bench/RESULTS.md). An inverted-residual
// block's expansion, depthwise and projection convolutions are padded together to the next multiple of
// 16: the expansion gains zero filters (bias 0), the depthwise convolution zero filters for them, and
// the projection zero weights where it reads them; per-channel scales repeat their last entry.
// MobileNetV3's blocks put more between them, all of it channel by channel: a HardSwish (an Add of a
// scalar and a Mul after ExpressHardSigmoidAsAdd) after the expansion and the depthwise convolution,
// and a squeeze-excite gate (GlobalAveragePool, a 1x1 convolution down, one up, a Mul) before the
// projection. The group padded together is therefore every tensor with the depthwise convolution's C
// channels that reaches it, or that it reaches, through per-tensor Q / DQ, channel-wise ops (Add and
// Mul with scalar constants, Relu, Clip, Sigmoid, HardSigmoid, LeakyRelu, GlobalAveragePool) and
// other depthwise convolutions of C channels; the Convs of group 1 at its edges either write such a
// tensor (the expansion, the gate's up-projection: zero filters and biases for the new channels) or read
// one (the projection, the gate's down-projection: zero weights for them). What the new channels hold
// then reaches no output: channel-wise ops keep them apart and the readers weigh them by 0.
// Every output code is unchanged; the tensors of the group gain channels.
//
//   Before:  P (C out) -> Q -> DQ -> depthwise (group C) -> Q -> DQ -> R (C in)
//   After:   P (C' out) -> Q -> DQ -> depthwise (group C') -> Q -> DQ -> R (C' in), C' = C rounded up to 16
//
// Preconditions, per group: a default-domain depthwise Conv (group = channels = C > 1, C not a
// multiple of 16, one input and one output channel per group); every tensor of the group read and
// written only by the ops above (not a graph output, not read by a subgraph), at least one Conv of
// group 1 writing into it; every weight an int8 initializer with zero points 0 (symmetric), every bias
// an int32 initializer, each read by its one DequantizeLinear and that by its one Conv; per-channel
// scales along the output channels (axis 0). Other groups are left as they are.
#pragma once

#include <onnx/onnx_pb.h>

#include "onnxq/options.h"

namespace onnxq {

// Whether quantizing with `options` pads depthwise chains: the same conditions as PadsConvInputChannels
// (Q/DQ placed for ONNX Runtime's CPU provider, 8-bit activations, symmetric int8 weights).
bool PadsDepthwiseChannels(const QuantizeOptions& options);

// Pads every chain of the materialized QDQ `graph` that meets the preconditions; returns how many.
int PadDepthwiseChannels(onnx::GraphProto* graph);

}  // namespace onnxq
