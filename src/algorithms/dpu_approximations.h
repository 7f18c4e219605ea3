// The constants an AMD DPU / NPU computes with instead of the float ones, so that a quantized model
// simulates the hardware (vai_q_onnx / Quark SimulateDPU; ../shared/reference/ptq-anchors.md 1.7).
//
//   LeakyRelu    alpha -> round(alpha * 256) / 256                        0.1 -> 26/256 = 0.1015625
//   mean of n    1/n   -> M / 2^N                                          3x3 -> 7/64, 7x7 -> 21/1024
//
// The DPU averages (AveragePool, GlobalAveragePool, ReduceMean) with an integer multiplier M and a
// right shift N. Square pooling kernels of 3, 5, 6, 7 and 14 use the hardware's fixed pairs (7/64,
// 10/256, 7/256, 21/1024, 21/4096); any other count n gets the pair closest to 1/n over the shifts
// N in [0, ceil(log2(128 n))), M = round(2^N / n), the smallest N on ties. A simulated average is the
// float average times the correction n * M / 2^N (3x3: 0.984375).
#pragma once

#include <cstdint>

namespace onnxq {

// round(alpha * 256) / 256, halves to even.
float DpuLeakyReluAlpha(float alpha);

// An average's multiplier: the DPU computes sum * m / 2^shift.
struct DpuMultiplier {
  int64_t m = 1;
  int shift = 0;
};

// The closest M / 2^N to 1 / count (count >= 1).
DpuMultiplier DpuMeanMultiplier(int64_t count);

// A kernel_h x kernel_w pooling window's multiplier: the fixed pairs of square 3, 5, 6, 7 and 14
// kernels, DpuMeanMultiplier of the window's size otherwise.
DpuMultiplier DpuPoolMultiplier(int64_t kernel_h, int64_t kernel_w);

// count * m / 2^shift: the factor by which the DPU's average differs from the true one.
double DpuMeanCorrection(DpuMultiplier multiplier, int64_t count);

}  // namespace onnxq
