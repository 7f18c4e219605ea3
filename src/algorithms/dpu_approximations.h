// The constants an AMD DPU / NPU computes with instead of the float ones, so that a quantized model
// simulates the hardware (vai_q_onnx / Quark SimulateDPU; ../shared/reference/ptq-anchors.md 1.7).
//
//   LeakyRelu    alpha -> round(alpha * 256) / 256                        0.1 -> 26/256 = 0.1015625
//   mean of n    1/n   -> M / 2^N                                          3x3 -> 7/64, 7x7 -> 21/1024
//   HardSigmoid  1/6   -> 2731 / 2^14                                      output x 8193/8192
//
// The DPU averages (AveragePool, GlobalAveragePool, ReduceMean) with an integer multiplier M and a
// right shift N. Square pooling kernels of 3, 5, 6, 7 and 14 use the hardware's fixed pairs (7/64,
// 10/256, 7/256, 21/1024, 21/4096); any other count n gets the pair closest to 1/n over the shifts
// N in [0, ceil(log2(128 n))), M = round(2^N / n), the smallest N on ties. A simulated average is the
// float average times the correction n * M / 2^N (3x3: 0.984375).
//
// The DPU computes HardSigmoid(x; alpha = 1/6, beta = 0.5) = clip(x + 3, 0, 6) / 6 as
// clip(x + 3, 0, 6) * 2731 / 2^14: its 1/6 is 2731 / 16384 = 0.16668701..., the closest 14-bit fraction
// (16384 / 6 = 2730.67). The simulated HardSigmoid is the float one times
// (2731 / 16384) / (1 / 6) = 6 * 2731 / 16384 = 16386 / 16384 = 8193 / 8192 = 1.0001220703125 (1 + 2^-13,
// exact in float), Quark's HARD_SIGMOID_SCALE. Sigmoid runs on the DPU as that HardSigmoid.
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

// The DPU's HardSigmoid and Sigmoid: alpha 1/6, beta 0.5.
inline constexpr float kDpuHardSigmoidAlpha = 1.0F / 6.0F;
inline constexpr float kDpuHardSigmoidBeta = 0.5F;
// The DPU's 1/6: 2731 / 2^14.
inline constexpr DpuMultiplier kDpuOneSixth = {.m = 2731, .shift = 14};

// Whether a HardSigmoid's alpha is 1/6, up to the rounding of a printed float: within 1e-6 of it, which
// admits 1/6 printed with 6 or more significant digits (0.166667) but not 0.16667 or 2731 / 16384.
bool IsDpuHardSigmoidAlpha(float alpha);

// (2731 / 16384) / (1 / 6) = 8193 / 8192: the factor by which the DPU's HardSigmoid(1/6) differs from
// the float one (DpuMeanCorrection(kDpuOneSixth, 6)).
double DpuHardSigmoidScale();

// The most values per channel a GlobalAveragePool averages on the DPU in one go; a larger one is split
// into an AveragePool over blocks and a GlobalAveragePool over their means (split_large_kernel_pool).
inline constexpr int64_t kDpuMaxGlobalPoolSize = 512;

// The largest factor of n that is at most sqrt(n) (n >= 1): the block size along one axis of a split
// GlobalAveragePool. 32 -> 4, 28 -> 4, 49 -> 7, 30 -> 5, a prime -> 1.
int64_t LargestFactorUpToRoot(int64_t n);

}  // namespace onnxq
