// Q/DQ placement for ONNX Runtime's CPU provider (QdqPlacement::kRuntimeFused, the default): after the
// op quantizers have marked every node they can, the marks that would only add work are dropped.
//
// The runtime turns a node group DQ -> op -> Q into an integer kernel only for the ops its QDQ
// selectors know: Conv (QLinearConv), MatMul (QLinearMatMul, MatMulIntegerToFloat), Gemm (QGemm), Add
// and Mul (QLinearAdd / QLinearMul), Sigmoid, Softmax, LeakyRelu, AveragePool, GlobalAveragePool
// (QLinear* of com.microsoft), Concat (QLinearConcat), Where (QLinearWhere); it drops the Q/DQ around
// data movement with equal parameters (Reshape, Transpose, Flatten, Squeeze, Unsqueeze, Slice, Gather,
// GatherElements, Expand, Tile, Split, MaxPool, ReduceMax, ReduceMin, Resize; ONNX Runtime 1.30 only
// around a nearest Resize: a linear one runs in float between its Q/DQ, which its quantized readers
// need anyway) and folds a Relu / Clip that the following Q makes redundant. Every other quantized op
// runs in float between a DequantizeLinear and a QuantizeLinear: two extra passes over its tensors,
// and no gain.
//
// Before (GELU as exported, every op marked):
//   MatMul -> Q/DQ -> Div -> Q/DQ -> Erf -> Q/DQ -> Add -> Q/DQ -> Mul -> Q/DQ -> Mul -> Q/DQ -> MatMul
// After:
//   MatMul -> Q/DQ -> Div -> Erf -> Add -> Mul -> Mul -> Q/DQ -> MatMul   (one float chain)
//
// Four rules, applied to the plan of MarkNodes:
//  1. A node whose op has no integer kernel in the CPU provider stays float (Erf, LayerNormalization,
//     Div, Sub, Pad, ConvTranspose ...), and so does a cheap node with a constant input that would be
//     quantized as a weight of another type than the activations (a transformer's bias Add after its
//     MatMul: int8 beside uint8), which the runtime's one-type QLinearAdd / QLinearMul cannot take.
//     HardSigmoid counts as the cheap Add it becomes after materializing (ExpressHardSigmoidAsAdd,
//     asymmetric 8-bit activations); where it cannot, the HardSigmoid of a HardSwish written out
//     (x * HardSigmoid(x)) still keeps its Q/DQ: measured, MobileNetV3 models ran 15-25% slower with
//     their HardSwish ops float between quantized Convs than with them quantized (bench/RESULTS.md).
//  2. A cheap fusable node (element-wise, pooling, Concat, Where) whose activation input is written
//     by a node that stays float stays float too: its integer kernel is no faster than the float op,
//     and the input would need a QuantizeLinear of its own. Applied until nothing changes, so a chain
//     of float ops (GELU's Div, Erf, Add, Mul, Mul) stays float as a whole. Graph inputs count as
//     quantized sources.
//  3. A data-movement node (Resize, Reshape, Transpose, MaxPool ...) whose outputs only float nodes or
//     the graph's outputs read stays float: its output would be quantized only to be dequantized again
//     (a segmentation network's final upsampling to full resolution). Applied from the outputs back.
//     Relu / Clip (folded into the producer's QuantizeLinear) and ArgMax (reads 8-bit codes, writes
//     indices) keep their marks.
//  4. A MatMul or Gemm whose output no quantized node reads keeps its quantized inputs but writes its
//     output in float: the runtime fuses DQ -> MatMul into MatMulIntegerToFloat and DQ -> Gemm into a
//     QGemm with a float output, instead of requantizing codes that a DequantizeLinear reads back (a
//     transformer's MatMul before its float bias Add and GELU, a classifier's last Gemm). An output
//     that TensorQuantOverrides names stays quantized.
// Conv, MatMul and Gemm always keep their marks: their integer kernels pay for any Q/DQ. So does data
// movement that a quantized node reads, and Relu / Clip: after a float op, one QuantizeLinear ahead of
// them lets the runtime move 8-bit values, and their output keeps the range of their input (an LSTM's
// whole sequence ahead of a Gather of its last step), which calibration on few samples would otherwise
// narrow.
// Nodes named by --op-types-to-quantize or --nodes-to-quantize keep their marks: the user asked.
#pragma once

#include "ir/graph_view.h"
#include "onnxq/options.h"
#include "quantizer/quant_plan.h"

namespace onnxq {

// Drops the marks that do not pay under options.placement; the nodes go to plan->left_float with the
// reason. Returns how many marks were dropped.
int KeepUnfusedOpsFloat(const GraphView& graph, const QuantizeOptions& options, QuantPlan* plan);

}  // namespace onnxq
