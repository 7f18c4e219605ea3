// A float weight's quantization read straight from its raw bytes (float32, little-endian, as an ONNX
// tensor's raw_data holds them): the ranges its parameters come from, then its 8-bit codes, each one
// vectorized pass over the values on every worker of a pool, without a float copy of the tensor
// (values are read through small aligned copies of a few KiB).
//
// The values are seen as [outer, channels, inner]: channel c holds values[o][c][:] for every o (per
// tensor: one channel). Two ways through them, both cut into tasks that write disjoint outputs:
//   inner >= kWideRun:  runs of `inner` values sharing a channel, one after the other;
//   inner <  kWideRun:  column blocks of each row of channels x inner values (a MatMul weight
//                       [K, N] per channel along N has inner 1), every row's block in turn, each
//                       value with its own channel's parameters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "algorithms/qparams.h"

namespace onnxq {

class WorkerPool;

struct ValueRange {
  float lo = 0.0F;
  float hi = 0.0F;
};

struct ChannelLayout {
  size_t outer = 1;
  size_t channels = 1;
  size_t inner = 0;
};

// The layout of a tensor of `dims` per channel along `axis`, or per tensor (axis < 0).
ChannelLayout LayoutOf(std::span<const int64_t> dims, int axis);

// Runs at least this long are taken one after the other; shorter ones by column blocks.
inline constexpr size_t kWideRun = 64;

// Whether every value is finite (no NaN, no infinity).
bool AllFiniteOfRaw(std::string_view raw);

// [min, max] of the finite values (NaN and infinities skipped); {0, 0} when none is finite. The same
// as a scalar loop over the values in any order: min and max do not depend on it.
ValueRange FiniteRangeOfRaw(std::string_view raw, WorkerPool& pool);

// Per channel of `layout`: [min(0, values), max(0, values)] of the channel's values, NaN skipped and
// infinities counted (std::min and std::max from 0, value by value).
std::vector<ValueRange> ChannelRangesOfRaw(std::string_view raw, const ChannelLayout& layout, WorkerPool& pool);

// The 8-bit codes of the values (QuantizeValuesTo8Bit), channel c with params[c] (one entry per
// tensor), into `out` of one byte per value.
void QuantizeRawTo8Bit(std::string_view raw, const ChannelLayout& layout, std::span<const QuantParams> params,
                       const IntRange& range, WorkerPool& pool, std::span<uint8_t> out);

}  // namespace onnxq
