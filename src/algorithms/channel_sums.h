// The mean of each channel of a tensor over every sample and position, accumulated run by run as the
// tensor is computed (mean bias correction's input means). A run's values come in one of the
// engine's layouts:
//
//   planar   [outer, channels, inner]           NCHW (inner = H*W), [N, C] (inner = 1), or
//                                               channels last [rows, C] (outer = rows, inner = 1)
//   blocked  [outer, ceil(C/b), inner, b]       the CPU engine's NCHWc, the last block holding only
//                                               its real C - (ceil(C/b) - 1) * b lanes
//
//   mean[c] = sum of channel c's values / (outer * inner), over every run
//
// Sums are kept in double; each (outer, channel) run of inner values is summed in float first.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace onnxq {

struct ChannelSums {
  std::vector<double> sums;  // one per channel, empty until the first values
  int64_t count = 0;         // values summed into each channel
  bool consistent = true;    // false once runs disagreed on the channel count, or a layout was unusable

  // Adds a run in the planar layout: values.size() must be outer * channels * inner.
  void AddPlanar(std::span<const float> values, int64_t channels, int64_t inner);
  // Adds a run in the blocked layout with `block` lanes a block.
  void AddBlocked(std::span<const float> values, int64_t channels, int64_t inner, int64_t block);
  void Merge(const ChannelSums& other);
  // The means; empty when nothing was added or the runs were inconsistent, or a mean is not finite.
  std::vector<float> Mean() const;

 private:
  // Whether `values` can be `channels` channels of `inner` values each per outer index; sizes the
  // sums on the first call. Marks the sums inconsistent when not.
  bool Accept(size_t values, int64_t channels, int64_t inner);
};

}  // namespace onnxq
