// The numbers of empirical bias correction (quantizer/correct_bias.h): the mean per output channel of
// the difference between a layer's float twin and the quantized layer, over the data, and the int32
// requantization of the corrected bias.
//
//   d_c  = sum over samples n and positions i of (a - b)[n, c, i] / (samples x positions)
//   q_c  = clamp(round(b_c / s_c) + z_c, int32)     (round half to even)
//   b_c  = (q_c - z_c) * s_c
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace onnxq {

// Running per-channel sums of (a - b) over tensors [N, C, ...] (channel axis 1; a Gemm's output
// [M, N] has its channels on axis 1 too). Sums are in double: merging workers' sums in any order
// gives the same mean up to rounding.
class ChannelMeanDifference {
 public:
  explicit ChannelMeanDifference(int64_t channels) : sums_(static_cast<size_t>(channels), 0.0) {}

  // Adds one run's a - b. False (and nothing added) when `shape` does not have the channels on axis 1,
  // or when a, b and shape disagree on the size.
  bool Add(std::span<const float> a, std::span<const float> b, std::span<const int64_t> shape);
  // Adds another's sums (of the same channels).
  void Merge(const ChannelMeanDifference& other);
  // d per channel; zeros when nothing was added.
  std::vector<float> Mean() const;

 private:
  std::vector<double> sums_;
  int64_t count_ = 0;  // values summed per channel
};

// `scale` and `zero_point` hold one value (per tensor) or one per channel; `zero_point` may be empty
// (0). A scale that is not positive gives q = 0.
std::vector<int64_t> QuantizeInt32(std::span<const float> bias, std::span<const float> scale,
                                   std::span<const int64_t> zero_point);
std::vector<float> DequantizeInt32(std::span<const int64_t> q, std::span<const float> scale,
                                   std::span<const int64_t> zero_point);

}  // namespace onnxq
