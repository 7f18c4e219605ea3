#include "algorithms/power_of_two.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <vector>

#include "common/simd.h"

#if defined(ONNXQ_HAS_AVX512_PATH)
#include <immintrin.h>
#endif

// Packed lanes (GCC vector extensions, 64 bytes) never cross a call here, so the ABI for passing them,
// which -Wpsabi warns about when AVX-512 is off, never applies (see src/common/simd.h).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace onnxq {
namespace {

// Squared-error passes sum a block of values at a time in float lanes, and read (and pack) a few
// blocks at a time.
constexpr std::size_t kErrorBlock = 256;
constexpr std::size_t kPackedBlocks = 4;

#if defined(ONNXQ_HAS_AVX512_PATH)
// The nonzero values of values[0, n), in order, into `out`, followed by zeros up to
// a multiple of 16; returns that length. (The compress goes through a register: a compressing store
// is slow on some CPUs.)
[[gnu::target("avx512f")]] std::size_t PackNonzero(const float* values, std::size_t n, float* out) {
  const __m512 zero = _mm512_setzero_ps();
  std::size_t m = 0;
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(values + i);
    const __mmask16 nonzero = _mm512_cmp_ps_mask(v, zero, _CMP_NEQ_UQ);  // NaN is kept
    _mm512_storeu_ps(out + m, _mm512_maskz_compress_ps(nonzero, v));
    m += static_cast<std::size_t>(std::popcount(static_cast<unsigned>(nonzero)));
  }
  for (; i < n; ++i) {
    if (values[i] != 0.0F) out[m++] = values[i];
  }
  const std::size_t padded = (m + 15) / 16 * 16;
  std::fill(out + m, out + padded, 0.0F);
  return padded;
}
#endif

// True when x quantizes outside the integer range before saturation (QuantizeValue's arithmetic).
bool Saturates(float x, const QuantParams& params, const IntRange& range) {
  const double q = std::nearbyint(static_cast<double>(x) / params.scale) + static_cast<double>(params.zero_point);
  return q < static_cast<double>(range.qmin) || q > static_cast<double>(range.qmax);
}

bool FitsWithoutOverflow(int pos, float rmin, float rmax, QuantType type, const RangeOptions& options,
                         const IntRange& range) {
  const QuantParams params = PowerOfTwoQuantParams(pos, rmin, rmax, type, options);
  return !Saturates(rmin, params, range) && !Saturates(rmax, params, range);
}

template <typename LossFn>
int ArgMinPos(int pos0, const MinMseOptions& mse_options, LossFn loss) {
  const int first = std::clamp(pos0 - std::max(mse_options.candidates_below, 0), kMinPos, kMaxPos);
  const int last = std::clamp(pos0 + std::max(mse_options.candidates_above, 0), kMinPos, kMaxPos);
  int best = first;
  double best_loss = std::numeric_limits<double>::infinity();
  for (int pos = first; pos <= last; ++pos) {
    const double value = loss(pos);
    if (value < best_loss) {  // strict: ties keep the smaller pos
      best_loss = value;
      best = pos;
    }
  }
  return best;
}

}  // namespace

float PosToScale(int pos) { return std::ldexp(1.0F, -pos); }

int ScaleToPos(float scale) {
  if (!(scale > 0.0F)) return kMaxPos;
  const double clamped = std::clamp(static_cast<double>(scale), std::ldexp(1.0, kMinPos), std::ldexp(1.0, kMaxPos));
  return static_cast<int>(std::nearbyint(-std::log2(clamped)));
}

int RoundPos(float rmin, float rmax, QuantType type, const RangeOptions& options) {
  assert(IsIntegerType(type));
  return ScaleToPos(ComputeQuantParams(rmin, rmax, type, options).scale);
}

int NonOverflowPos(float rmin, float rmax, QuantType type, const RangeOptions& options) {
  assert(IsIntegerType(type) && std::isfinite(rmin) && std::isfinite(rmax));
  if (std::min(rmin, 0.0F) == 0.0F && std::max(rmax, 0.0F) == 0.0F) return 0;
  const IntRange range = QuantRange(type, options);
  int pos = std::clamp(RoundPos(rmin, rmax, type, options), kMinPos, kMaxPos);
  if (FitsWithoutOverflow(pos, rmin, rmax, type, options, range)) {
    while (pos < kMaxPos && FitsWithoutOverflow(pos + 1, rmin, rmax, type, options, range)) ++pos;
  } else {
    while (pos > kMinPos && !FitsWithoutOverflow(pos, rmin, rmax, type, options, range)) --pos;
  }
  return pos;
}

double SquaredQuantError(std::span<const float> values, const QuantParams& params, const IntRange& range) {
  double sum = 0.0;
  for (float x : values) {
    if (!std::isfinite(x)) continue;
    const double error = static_cast<double>(x) - static_cast<double>(FakeQuantize(x, params, range));
    sum += error * error;
  }
  return sum;
}

namespace {

// Calls f(centre, count) for each non-empty bin of `histogram`, `centre` being the middle (as a float)
// of the part of the bin inside the observed [min, max], with the edges Histogram::BinLowerEdge and
// BinUpperEdge compute.
template <typename F>
inline void ForEachBinCentre(const Histogram& histogram, F&& f) {
  const std::vector<int64_t>& counts = histogram.counts();
  const auto lo = static_cast<double>(histogram.min());
  const auto hi = static_cast<double>(histogram.max());
  const double width = histogram.bin_width();
  const int64_t first = histogram.first_bin_index();
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    const auto index = static_cast<double>(first + static_cast<int64_t>(i));
    const double left = std::max(index * width, lo);
    const double right = std::min((index + 1.0) * width, hi);
    f(static_cast<float>((left + right) / 2.0), static_cast<double>(counts[i]));
  }
}

}  // namespace

// Compiled per x86 level so that rounding is an instruction rather than a call into libm.
ONNXQ_FOR_EACH_X86_LEVEL
double SquaredQuantError(const Histogram& histogram, const QuantParams& params, const IntRange& range) {
  // FakeQuantize's arithmetic.
  const auto scale = static_cast<double>(params.scale);
  const auto zero_point = static_cast<double>(params.zero_point);
  const auto qmin = static_cast<double>(range.qmin);
  const auto qmax = static_cast<double>(range.qmax);
  double sum = 0.0;
  ForEachBinCentre(histogram, [&](float centre, double count) {
    const double q = std::nearbyint(static_cast<double>(centre) / scale) + zero_point;
    const double clamped = q >= qmin ? (q > qmax ? qmax : q) : qmin;
    const auto dequantized = static_cast<float>(static_cast<int64_t>(clamped) - params.zero_point) * params.scale;
    const double error = static_cast<double>(centre) - static_cast<double>(dequantized);
    sum += count * error * error;
  });
  return sum;
}

double SquaredSignal(const Histogram& histogram) {
  double sum = 0.0;
  ForEachBinCentre(histogram, [&sum](float centre, double count) {
    sum += count * static_cast<double>(centre) * static_cast<double>(centre);
  });
  return sum;
}

std::map<int, double> PowerOfTwoSqnrByPos(const Histogram& histogram, float rmin, float rmax, int first, int last,
                                          QuantType type, const RangeOptions& options) {
  std::map<int, double> sqnr;
  const double signal = SquaredSignal(histogram);
  const IntRange range = QuantRange(type, options);
  for (int pos = std::max(first, kMinPos); pos <= std::min(last, kMaxPos); ++pos) {
    const double noise = SquaredQuantError(histogram, PowerOfTwoQuantParams(pos, rmin, rmax, type, options), range);
    if (noise == 0.0) {
      sqnr[pos] = std::numeric_limits<double>::infinity();
    } else if (signal == 0.0) {
      sqnr[pos] = -std::numeric_limits<double>::infinity();
    } else {
      sqnr[pos] = 10.0 * std::log10(signal / noise);
    }
  }
  return sqnr;
}

double PowerOfTwoSquaredError(std::span<const float> values, int pos, int64_t zero_point, const IntRange& range) {
  const std::array<PosCandidate, 1> candidate = {PosCandidate{.pos = pos, .zero_point = zero_point}};
  double loss = 0.0;
  PowerOfTwoSquaredErrors(values, candidate, range, std::span(&loss, 1));
  return loss;
}

ONNXQ_FOR_EACH_X86_LEVEL
void PowerOfTwoSquaredErrors(std::span<const float> values, std::span<const PosCandidate> candidates,
                             const IntRange& range, std::span<double> losses) {
  using FloatLanes = float __attribute__((vector_size(64)));
  using IntLanes = int32_t __attribute__((vector_size(64)));
  constexpr std::size_t kLanes = 16;
  constexpr std::size_t kMost = 8;
  // Round half to even by adding and subtracting 1.5 * 2^23: exact for |v| < 2^22. x * 2^pos is exact
  // (or saturates to +-inf, which the clamp handles); clamping before rounding gives clamp(round(v))
  // because the bounds are integers.
  constexpr float kRoundMagic = 12582912.0F;
  const std::size_t k = candidates.size();
  bool lanes_apply = k <= kMost;
  for (const PosCandidate& c : candidates) {
    const float lo = static_cast<float>(range.qmin - c.zero_point);
    const float hi = static_cast<float>(range.qmax - c.zero_point);
    lanes_apply = lanes_apply && std::fabs(lo) < 4194304.0F && std::fabs(hi) < 4194304.0F;
  }
  if (!lanes_apply) {
    for (std::size_t c = 0; c < k; ++c) {
      losses[c] =
          SquaredQuantError(values, QuantParams{std::ldexp(1.0F, -candidates[c].pos), candidates[c].zero_point}, range);
    }
    return;
  }
  float inverse[kMost];
  float scale[kMost];
  float lo[kMost];
  float hi[kMost];
  bool clamp[kMost];
  for (std::size_t c = 0; c < k; ++c) {
    clamp[c] = candidates[c].may_clip;
    inverse[c] = std::ldexp(1.0F, candidates[c].pos);
    scale[c] = std::ldexp(1.0F, -candidates[c].pos);
    lo[c] = static_cast<float>(range.qmin - candidates[c].zero_point);
    hi[c] = static_cast<float>(range.qmax - candidates[c].zero_point);
  }
  double totals[kMost] = {};
  constexpr int32_t kExponentMask = 0x7f800000;
  const float* data = values.data();
  const std::size_t whole = values.size() / kLanes * kLanes;
  // Zeros (often half of a Relu's output) quantize exactly on every grid, whose zero point is a grid
  // value, and add nothing to any loss: where the CPU packs nonzero values cheaply, the lanes see
  // only those (and zeros to fill the last lane). Values are packed a few blocks at a time, so that
  // they are read well after being written (a load spanning two recent stores would wait for them).
#if defined(ONNXQ_HAS_AVX512_PATH)
  alignas(64) float packed[kErrorBlock * kPackedBlocks];
  const bool pack = CpuHasAvx512();
#endif
  for (std::size_t begin = 0; begin < whole; begin += kErrorBlock * kPackedBlocks) {
    const float* block = data + begin;
    std::size_t block_size = std::min(whole, begin + kErrorBlock * kPackedBlocks) - begin;
#if defined(ONNXQ_HAS_AVX512_PATH)
    if (pack) {
      block_size = PackNonzero(block, block_size, packed);
      block = packed;
    }
#endif
    for (std::size_t sub = 0; sub < block_size; sub += kErrorBlock) {
      FloatLanes sums[kMost] = {};
      for (std::size_t i = sub; i < std::min(block_size, sub + kErrorBlock); i += kLanes) {
        FloatLanes x;
        std::memcpy(&x, block + i, sizeof(x));
        // One load for every candidate. NaN and +-Inf become 0, whose error is 0 on every grid (0 lies
        // within [lo, hi], a zero point being a grid value).
        const IntLanes finite = (std::bit_cast<IntLanes>(x) & kExponentMask) != kExponentMask;
        x = std::bit_cast<FloatLanes>(std::bit_cast<IntLanes>(x) & finite);
        for (std::size_t c = 0; c < k; ++c) {
          FloatLanes v = x * inverse[c];
          if (clamp[c]) {
            v = v < lo[c] ? lo[c] : v;
            v = v > hi[c] ? hi[c] : v;
          }
          const FloatLanes q = (v + kRoundMagic) - kRoundMagic;
          const FloatLanes error = x - q * scale[c];
          sums[c] += error * error;
        }
      }
      for (std::size_t c = 0; c < k; ++c) {
        double block_total = 0.0;
        for (std::size_t lane = 0; lane < kLanes; ++lane) block_total += static_cast<double>(sums[c][lane]);
        totals[c] += block_total;
      }
    }
  }
  // The last values, fewer than a lane's worth, one by one in the same arithmetic.
  for (std::size_t c = 0; c < k; ++c) {
    double tail = 0.0;
    for (std::size_t i = whole; i < values.size(); ++i) {
      const float x = std::isfinite(values[i]) ? values[i] : 0.0F;
      float v = x * inverse[c];
      v = v < lo[c] ? lo[c] : v;
      v = v > hi[c] ? hi[c] : v;
      const float q = (v + kRoundMagic) - kRoundMagic;
      const float error = x - q * scale[c];
      tail += static_cast<double>(error * error);
    }
    losses[c] = totals[c] + tail;
  }
}

int MinMsePos(const Histogram& histogram, QuantType type, const RangeOptions& options,
              const MinMseOptions& mse_options) {
  if (histogram.empty()) return RoundPos(0.0F, 0.0F, type, options);
  const float rmin = histogram.min();
  const float rmax = histogram.max();
  const IntRange range = QuantRange(type, options);
  return ArgMinPos(RoundPos(rmin, rmax, type, options), mse_options, [&](int pos) {
    return SquaredQuantError(histogram, PowerOfTwoQuantParams(pos, rmin, rmax, type, options), range);
  });
}

int MinMsePos(std::span<const float> values, QuantType type, const RangeOptions& options,
              const MinMseOptions& mse_options) {
  float rmin = std::numeric_limits<float>::infinity();
  float rmax = -std::numeric_limits<float>::infinity();
  for (float x : values) {
    if (!std::isfinite(x)) continue;
    rmin = std::min(rmin, x);
    rmax = std::max(rmax, x);
  }
  if (rmin > rmax) return RoundPos(0.0F, 0.0F, type, options);
  const int pos0 = RoundPos(rmin, rmax, type, options);
  const int first = std::clamp(pos0 - std::max(mse_options.candidates_below, 0), kMinPos, kMaxPos);
  const int last = std::clamp(pos0 + std::max(mse_options.candidates_above, 0), kMinPos, kMaxPos);
  return LeastSquaredErrorPos(values, first, last, rmin, rmax, type, options);
}

int LeastSquaredErrorPos(std::span<const float> values, int first, int last, float lo, float hi, QuantType type,
                         const RangeOptions& options) {
  const IntRange range = QuantRange(type, options);
  int best = first;
  double best_loss = std::numeric_limits<double>::infinity();
  // Up to kMaxCandidates a pass (the sums in float lanes: equal to SquaredQuantError's to rounding).
  for (int from = first; from <= last; from += kMaxCandidates) {
    std::array<PosCandidate, kMaxCandidates> candidates{};
    std::array<double, kMaxCandidates> losses{};
    const auto count = static_cast<std::size_t>(std::min(last - from + 1, kMaxCandidates));
    for (std::size_t c = 0; c < count; ++c) {
      const int pos = from + static_cast<int>(c);
      const int64_t zero_point = PowerOfTwoQuantParams(pos, lo, hi, type, options).zero_point;
      // x * 2^pos is exact (or saturates, and then may clip): within the grid's bounds at both ends of
      // [lo, hi], it is within them for every value.
      const bool within = std::ldexp(lo, pos) >= static_cast<float>(range.qmin - zero_point) &&
                          std::ldexp(hi, pos) <= static_cast<float>(range.qmax - zero_point);
      candidates[c] = {.pos = pos, .zero_point = zero_point, .may_clip = !within};
    }
    PowerOfTwoSquaredErrors(values, std::span(candidates).first(count), range, std::span(losses).first(count));
    for (std::size_t c = 0; c < count; ++c) {
      if (losses[c] < best_loss) {  // strict: ties keep the smaller pos, the coarser scale
        best_loss = losses[c];
        best = candidates[c].pos;
      }
    }
  }
  return best;
}

int MostCommonPos(std::span<const int> per_batch_pos) {
  if (per_batch_pos.empty()) return 0;
  std::vector<int> sorted(per_batch_pos.begin(), per_batch_pos.end());
  std::sort(sorted.begin(), sorted.end());
  int best = sorted.front();
  std::size_t best_run = 0;
  for (std::size_t i = 0; i < sorted.size();) {
    std::size_t j = i;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    if (j - i > best_run) {  // ascending order: ties keep the smaller pos
      best_run = j - i;
      best = sorted[i];
    }
    i = j;
  }
  return best;
}

}  // namespace onnxq
