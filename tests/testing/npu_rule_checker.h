// The rules an AMD DPU / NPU puts on an NPU-CNN QDQ model, checked on the model itself, for tests
// (../shared/reference/ptq-anchors.md 1.6). Written apart from the quantizer's own refinement
// (algorithms/npu_positions.h) so that each checks the other.
//
// Rules that do not depend on positions:
//   PowerOfTwoScale     every QuantizeLinear / DequantizeLinear scale is exactly a power of two (as float)
//   PerTensor           ... and holds one value (as does its zero point)
//   SymmetricZeroPoint  zero point 0 for int8 (and int16, int32), 128 for uint8 (32768 for uint16);
//                       an absent zero point counts as 0 of the type it defaults to
//   QdqParams           a scale or zero point that is not a readable initializer
//   Int8Weight          the weight of Conv, ConvTranspose, Gemm is a DequantizeLinear of an int8
//                       initializer
//   BiasType            a quantized bias (one a DequantizeLinear produces) is a DequantizeLinear of an
//                       int8 initializer, or of an int32 one when NpuRuleCheckOptions::int32_bias
//   FusedActivation     no QuantizeLinear -> DequantizeLinear between a Conv, ConvTranspose, Gemm, MatMul,
//                       Add, MaxPool, AveragePool or GlobalAveragePool whose output has that one
//                       consumer, and a Relu, Clip, LeakyRelu or PRelu reading the DequantizeLinear
//
// Rules on positions (pos = -log2(scale)), with i, w, b the positions of the DequantizeLinear feeding
// the node's input 0 (or input k), weight and bias, and o that of the QuantizeLinear on its output:
//   AdjustShiftCut      Conv, ConvTranspose, Gemm: w + i - o in [0, 16]
//   AdjustShiftBias     Conv, Gemm with a bias: w + i - b in [min(0, -(24 - (8 + w + i - o))), 15],
//                       [0, 15] when the node's output is read by a LeakyRelu
//   AdjustShiftRead     Add, Sub: max(i_k) - min(i_k) <= 7
//   AdjustShiftWrite    Add: min(i_k) - o in [-7, 25];  Mul: sum(i_k) - o in [0, 32]
//   AdjustHardSigmoid   HardSigmoid(alpha 1/6, beta 0.5): i in [0, 15], o >= 7, 14 + i - o in [0, 31]
//   AdjustShiftSwish    Mul(x, HardSigmoid(x)), that HardSigmoid the DPU's: i_0 + i_1 - o in [0, 15]
//   AlignConcat         Concat: every input and the output at one position
//   AlignPool           MaxPool, AveragePool, GlobalAveragePool: i == o
//   AlignPad, AlignSlice  Pad, Slice: i == o (data input 0)
// The output's QuantizeLinear is found on the node's output or, when that output's one consumer is a
// Relu, Clip, LeakyRelu or PRelu (a fused activation), on the activation's output; for HardSigmoid,
// AveragePool and GlobalAveragePool also after a Mul by a constant (SimulateDPU's correction). A
// rule skips a node when one of the positions it needs cannot be read (no Q/DQ there, or a scale that
// is not a single power of two, which its own rule reports).
//
// Each violation is one line: "<rule> <what>: <the numbers>", where <what> names the node (op type and
// node name, or its first output when it has none) or the scale, zero point or initializer.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

namespace onnxq::testing {

struct NpuRuleCheckOptions {
  bool int32_bias = false;  // quantized biases are expected as int32 (Int32Bias) instead of int8
};

// Every violation of the rules above in `model`'s main graph, in node order (the position-free rules of
// each Q/DQ node first, then those of the other nodes); empty when the model keeps them all.
std::vector<std::string> CheckNpuRules(const onnx::ModelProto& model, const NpuRuleCheckOptions& options = {});

}  // namespace onnxq::testing
