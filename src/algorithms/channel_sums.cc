#include "algorithms/channel_sums.h"

#include <algorithm>
#include <cmath>

#include "common/simd.h"

namespace onnxq {

bool ChannelSums::Accept(size_t values, int64_t channels, int64_t inner) {
  if (!consistent) return false;
  if (channels <= 0 || inner <= 0 || values % static_cast<size_t>(channels * inner) != 0) {
    consistent = false;
    return false;
  }
  if (sums.empty() && count == 0) sums.assign(static_cast<size_t>(channels), 0.0);
  if (sums.size() != static_cast<size_t>(channels)) {
    consistent = false;
    return false;
  }
  return true;
}

void ChannelSums::AddPlanar(std::span<const float> values, int64_t channels, int64_t inner) {
  if (values.empty() || !Accept(values.size(), channels, inner)) return;
  const auto c_count = static_cast<size_t>(channels);
  const auto in = static_cast<size_t>(inner);
  const size_t outer = values.size() / (c_count * in);
  const float* p = values.data();
  if (in == 1) {
    // Rows of channels: a float row of partial sums, flushed to double every few hundred rows.
    constexpr size_t kRowsPerFlush = 256;
    std::vector<float> partial(c_count, 0.0F);
    for (size_t r = 0; r < outer; ++r, p += c_count) {
      for (size_t c = 0; c < c_count; ++c) partial[c] += p[c];
      if ((r + 1) % kRowsPerFlush == 0 || r + 1 == outer) {
        for (size_t c = 0; c < c_count; ++c) sums[c] += partial[c];
        std::fill(partial.begin(), partial.end(), 0.0F);
      }
    }
  } else {
    for (size_t o = 0; o < outer; ++o) {
      for (size_t c = 0; c < c_count; ++c, p += in) {
        float sum = 0;
        for (size_t i = 0; i < in; ++i) sum += p[i];
        sums[c] += sum;
      }
    }
  }
  count += static_cast<int64_t>(outer * in);
}

namespace {

// Sums each of the `kLanes` lanes of `inner` consecutive blocks of lanes into `out` (float).
template <size_t kLanes>
void SumWholeBlock(const float* p, size_t inner, float* out) {
  float acc[kLanes] = {};  // NOLINT(cppcoreguidelines-avoid-c-arrays): a register-sized accumulator
  for (size_t i = 0; i < inner; ++i, p += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) acc[l] += p[l];
  }
  for (size_t l = 0; l < kLanes; ++l) out[l] = acc[l];
}

// The same for any lane count (a partial last block, or an unusual block size).
void SumLanes(const float* p, size_t inner, size_t lanes, float* out) {
  std::fill(out, out + lanes, 0.0F);
  for (size_t i = 0; i < inner; ++i, p += lanes) {
    for (size_t l = 0; l < lanes; ++l) out[l] += p[l];
  }
}

}  // namespace

ONNXQ_FOR_EACH_X86_LEVEL
void ChannelSums::AddBlocked(std::span<const float> values, int64_t channels, int64_t inner, int64_t block) {
  if (values.empty() || block <= 0 || !Accept(values.size(), channels, inner)) return;
  const auto c_count = static_cast<size_t>(channels);
  const auto in = static_cast<size_t>(inner);
  const auto lanes_per_block = static_cast<size_t>(block);
  const size_t outer = values.size() / (c_count * in);
  const size_t blocks = (c_count + lanes_per_block - 1) / lanes_per_block;
  std::vector<float> partial(lanes_per_block);
  const float* p = values.data();
  for (size_t o = 0; o < outer; ++o) {
    for (size_t b = 0; b < blocks; ++b) {
      const size_t lanes = std::min(lanes_per_block, c_count - b * lanes_per_block);
      if (lanes == 16) {
        SumWholeBlock<16>(p, in, partial.data());
      } else if (lanes == 8) {
        SumWholeBlock<8>(p, in, partial.data());
      } else {
        SumLanes(p, in, lanes, partial.data());
      }
      p += in * lanes;
      for (size_t l = 0; l < lanes; ++l) sums[b * lanes_per_block + l] += partial[l];
    }
  }
  count += static_cast<int64_t>(outer * in);
}

void ChannelSums::Merge(const ChannelSums& other) {
  if (!other.consistent) consistent = false;
  if (!consistent || other.count == 0) return;
  if (count == 0 && sums.empty()) {
    sums = other.sums;
    count = other.count;
    return;
  }
  if (other.sums.size() != sums.size()) {
    consistent = false;
    return;
  }
  for (size_t c = 0; c < sums.size(); ++c) sums[c] += other.sums[c];
  count += other.count;
}

std::vector<float> ChannelSums::Mean() const {
  std::vector<float> mean;
  if (!consistent || count == 0) return mean;
  mean.reserve(sums.size());
  for (const double sum : sums) {
    const double m = sum / static_cast<double>(count);
    if (!std::isfinite(m)) return {};
    mean.push_back(static_cast<float>(m));
  }
  return mean;
}

}  // namespace onnxq
