#include "algorithms/histogram.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>

#include "common/simd.h"

#if defined(ONNXQ_HAS_AVX512_PATH)
#include <immintrin.h>
#endif

namespace onnxq {
namespace {

constexpr int kFloatMantissaBits = 23;

// Smallest width exponent whose bins are at least ulp(max_abs) wide: keeps |index| < 2^24.
int FloorExponent(float max_abs) {
  if (!(max_abs > 0.0F)) return Histogram::kMinWidthExponent;
  return std::max(std::ilogb(max_abs) - kFloatMantissaBits, Histogram::kMinWidthExponent);
}

// Grid index as a double, valid for any exponent (used while the exponent is still being chosen).
double GridIndexAsDouble(float x, int exponent) {
  const double j = std::floor(std::ldexp(std::fabs(static_cast<double>(x)), -exponent));
  return x < 0.0F ? -j - 1.0 : j;
}

// Grid index once the exponent is known to satisfy FloorExponent (|index| < 2^24 + 1).
inline int64_t GridIndex(float x, double inverse_width) {
  const auto j = static_cast<int64_t>(std::fabs(static_cast<double>(x)) * inverse_width);
  return x < 0.0F ? ~j : j;  // ~j == -1 - j
}

// Packed lanes (GCC/Clang vector extensions), 64 bytes: see common/simd.h. The helpers taking and
// returning lanes are always inlined, so the ABI for passing them (which -Wpsabi warns about when
// AVX-512 is off) never applies.
#pragma GCC diagnostic ignored "-Wpsabi"
using FloatLanes = float __attribute__((vector_size(64)));
using IntLanes = int32_t __attribute__((vector_size(64)));
constexpr std::size_t kLanes = 16;
constexpr float kInfinity = std::numeric_limits<float>::infinity();
constexpr int32_t kAbsMask = 0x7fffffff;
constexpr int32_t kLargestFiniteBits = 0x7f7fffff;  // bits of FLT_MAX: larger |x| bits are +-Inf or NaN

[[gnu::always_inline]] inline FloatLanes LoadLanes(const float* data) {
  FloatLanes v;
  std::memcpy(&v, data, sizeof(v));
  return v;
}

[[gnu::always_inline]] inline FloatLanes Broadcast(float x) { return FloatLanes{} + x; }
[[gnu::always_inline]] inline IntLanes Broadcast(int32_t x) { return IntLanes{} + x; }

// -1 in the lanes holding NaN or +-Inf, 0 elsewhere.
[[gnu::always_inline]] inline IntLanes NonfiniteMask(FloatLanes v) {
  return (std::bit_cast<IntLanes>(v) & kAbsMask) > Broadcast(kLargestFiniteBits);
}

struct FiniteRange {
  float lo = kInfinity;
  float hi = -kInfinity;
  int64_t nonfinite = 0;
};

// The scalar loop that defines the result of ScanRange.
void ScanRangeScalar(const float* data, std::size_t n, FiniteRange* range) {
  for (std::size_t i = 0; i < n; ++i) {
    const float x = data[i];
    if (!std::isfinite(x)) {
      ++range->nonfinite;
      continue;
    }
    range->lo = std::min(range->lo, x);
    range->hi = std::max(range->hi, x);
  }
}

// Extremes of the finite values and the number of the others, bit for bit as ScanRangeScalar
// computes them (of 0 and -0 the first one met is kept).
ONNXQ_FOR_EACH_X86_LEVEL FiniteRange ScanRange(std::span<const float> values) {
  // Packed min / max (NaN never compares smaller or larger, so it is skipped; +-Inf is not) and a
  // flag for NaN / +-Inf; a batch that holds any is scanned again value by value.
  constexpr std::size_t kUnroll = 2;
  constexpr std::size_t kStep = kLanes * kUnroll;
  FloatLanes lo[kUnroll];
  FloatLanes hi[kUnroll];
  IntLanes nonfinite[kUnroll];
  for (std::size_t u = 0; u < kUnroll; ++u) {
    lo[u] = Broadcast(kInfinity);
    hi[u] = Broadcast(-kInfinity);
    nonfinite[u] = Broadcast(0);
  }
  const float* data = values.data();
  const std::size_t n = values.size();
  std::size_t i = 0;
  for (; i + kStep <= n; i += kStep) {
    for (std::size_t u = 0; u < kUnroll; ++u) {
      const FloatLanes v = LoadLanes(data + i + u * kLanes);
      lo[u] = v < lo[u] ? v : lo[u];
      hi[u] = v > hi[u] ? v : hi[u];
      nonfinite[u] |= NonfiniteMask(v);
    }
  }
  FiniteRange range;
  bool any_nonfinite = false;
  for (std::size_t u = 0; u < kUnroll; ++u) {
    for (std::size_t k = 0; k < kLanes; ++k) {
      range.lo = std::min(range.lo, lo[u][k]);
      range.hi = std::max(range.hi, hi[u][k]);
      any_nonfinite = any_nonfinite || nonfinite[u][k] != 0;
    }
  }
  if (any_nonfinite) {
    range = FiniteRange{};
    ScanRangeScalar(data, n, &range);
    return range;
  }
  ScanRangeScalar(data + i, n - i, &range);
  // The lanes lost the order in which 0 and -0 were met.
  if (range.lo == 0.0F) range.lo = *std::find(values.begin(), values.end(), 0.0F);
  if (range.hi == 0.0F) range.hi = *std::find(values.begin(), values.end(), 0.0F);
  return range;
}

// |x| / w as two exact float scalings (2^-k may lie outside the float range, each factor does not).
struct InverseWidth {
  explicit InverseWidth(int exponent)
      : as_double(std::ldexp(1.0, -exponent)),
        first(std::ldexp(1.0F, std::min(-exponent, std::numeric_limits<float>::max_exponent - 1))),
        second(std::ldexp(1.0F, -exponent - std::min(-exponent, std::numeric_limits<float>::max_exponent - 1))) {}
  double as_double;
  float first;
  float second;
};

// offsets[i] = GridIndex(values[i]) - first_bin for values[0, n), computed in lanes; returns how
// many values are exactly 0 (either sign). The exponent satisfies FloorExponent, so |x| / w < 2^24:
// both float scalings are exact whenever the product is a normal float, and when it is not, the
// product is < 1 and truncates to 0 either way; int32 holds every index. With kSkipNonfinite, NaN and
// +-Inf are binned (and counted) as 0.
template <bool kSkipNonfinite>
[[gnu::always_inline]] inline std::size_t BinOffsets(const float* values, std::size_t n, const InverseWidth& scale,
                                                     int32_t first_bin, int32_t* offsets) {
  IntLanes zeros = Broadcast(0);
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    FloatLanes v = LoadLanes(values + i);
    if constexpr (kSkipNonfinite) v = std::bit_cast<FloatLanes>(std::bit_cast<IntLanes>(v) & ~NonfiniteMask(v));
    const auto magnitude = std::bit_cast<FloatLanes>(std::bit_cast<IntLanes>(v) & kAbsMask);
    const auto j = __builtin_convertvector(magnitude * scale.first * scale.second, IntLanes);
    const IntLanes offset = (j ^ (v < Broadcast(0.0F))) - first_bin;  // ~j == j ^ -1 below 0
    zeros -= v == Broadcast(0.0F);
    std::memcpy(offsets + i, &offset, sizeof(offset));
  }
  std::size_t count = 0;
  for (std::size_t k = 0; k < kLanes; ++k) count += static_cast<std::size_t>(zeros[k]);
  for (; i < n; ++i) {
    const float x = (kSkipNonfinite && !std::isfinite(values[i])) ? 0.0F : values[i];
    offsets[i] = static_cast<int32_t>(GridIndex(x, scale.as_double) - first_bin);
    count += x == 0.0F ? 1 : 0;
  }
  return count;
}

// The hot instantiation, once per instruction set.
ONNXQ_FOR_EACH_X86_LEVEL std::size_t FiniteBinOffsets(const float* values, std::size_t n, const InverseWidth& scale,
                                                      int32_t first_bin, int32_t* offsets) {
  return BinOffsets<false>(values, n, scale, first_bin, offsets);
}

#if defined(ONNXQ_HAS_AVX512_PATH)
// Counts values[0, n) that lie in [lo, hi] (the histogram's range, so its grid holds them) into
// `counts`, a block of 256 at a time, until a block holds a value outside it or not finite; returns
// how many values it counted (the rest need the general path). Zeros are added to *zeros (and their
// bin) at once, the others count into 16-bit `scratch` added to `counts` every 65535 values. One
// pass: bin offsets, the range test and the zero test together.
[[gnu::target("avx512f")]] std::size_t CountWithinRange(const float* values, std::size_t n, float lo, float hi,
                                                        const InverseWidth& scale, int32_t first_bin, uint16_t* scratch,
                                                        int64_t* counts, int64_t* zeros) {
  constexpr std::size_t kBlock = 256;
  constexpr std::size_t kChunk = std::numeric_limits<uint16_t>::max() / kBlock * kBlock;
  const __m512 first = _mm512_set1_ps(scale.first);
  const __m512 second = _mm512_set1_ps(scale.second);
  const __m512 low = _mm512_set1_ps(lo);
  const __m512 high = _mm512_set1_ps(hi);
  const __m512i abs_mask = _mm512_set1_epi32(kAbsMask);
  const __m512i all_ones = _mm512_set1_epi32(-1);
  const __m512i first_bins = _mm512_set1_epi32(first_bin);
  const __m512 zero = _mm512_setzero_ps();
  int32_t packed[kBlock + kLanes];
  std::size_t done = 0;
  int64_t zero_count = 0;     // zeros left out of `packed`, added to their bin at the end
  int64_t zeros_counted = 0;  // zeros counted in place, as any value
  // A block without zeros (most blocks of a tensor that is not a Relu's output) stores every offset
  // and counts them all, with no compress; a block of a tensor with zeros leaves them out. Each block
  // takes the way that suited the one before.
  bool dense = false;
  while (done + kBlock <= n) {
    const std::size_t chunk_end = done + std::min(kChunk, (n - done) / kBlock * kBlock);
    // Bounds of the offsets counted into scratch, to add up only those bins. (Vector extensions, not
    // _mm512_min_epi32 and friends, which trip GCC 12's uninitialized warning.)
    IntLanes lowest = Broadcast(std::numeric_limits<int32_t>::max());
    IntLanes highest = Broadcast(std::numeric_limits<int32_t>::min());
    bool outside = false;
    for (; done < chunk_end; done += kBlock) {
      __mmask16 rejected = 0;
      __mmask16 any_zero = 0;
      std::size_t m = 0;
      IntLanes block_lowest = lowest;
      IntLanes block_highest = highest;
      for (std::size_t i = done; i < done + kBlock; i += kLanes) {
        const __m512 v = _mm512_loadu_ps(values + i);
        // Out of [lo, hi], or NaN (unordered).
        rejected |= _mm512_cmp_ps_mask(v, low, _CMP_NGE_UQ) | _mm512_cmp_ps_mask(v, high, _CMP_NLE_UQ);
        const __m512 magnitude = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), abs_mask));
        __m512i j = std::bit_cast<__m512i>(__builtin_convertvector(
            std::bit_cast<FloatLanes>(_mm512_mul_ps(_mm512_mul_ps(magnitude, first), second)), IntLanes));
        j = _mm512_sub_epi32(_mm512_mask_xor_epi32(j, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), j, all_ones),
                             first_bins);
        const auto offsets = std::bit_cast<IntLanes>(j);
        block_lowest = offsets < block_lowest ? offsets : block_lowest;
        block_highest = offsets > block_highest ? offsets : block_highest;
        if (dense) {
          any_zero |= _mm512_cmp_ps_mask(v, zero, _CMP_EQ_OQ);
          _mm512_storeu_si512(packed + (i - done), j);
        } else {
          const __mmask16 nonzero = _mm512_cmp_ps_mask(v, zero, _CMP_NEQ_UQ);
          _mm512_storeu_si512(packed + m, _mm512_maskz_compress_epi32(nonzero, j));
          m += static_cast<std::size_t>(std::popcount(static_cast<unsigned>(nonzero)));
        }
      }
      // A block with a value outside the bins is not counted (its offsets may lie outside them too).
      if (rejected != 0) {
        outside = true;
        break;
      }
      lowest = block_lowest;
      highest = block_highest;
      if (dense) {
        m = kBlock;
        if (any_zero != 0) {
          int64_t block_zeros = 0;
          for (std::size_t i = done; i < done + kBlock; i += kLanes) {
            block_zeros +=
                std::popcount(static_cast<unsigned>(_mm512_cmp_ps_mask(_mm512_loadu_ps(values + i), zero, _CMP_EQ_OQ)));
          }
          zeros_counted += block_zeros;
          dense = block_zeros == 0;
        }
      } else {
        zero_count += static_cast<int64_t>(kBlock - m);
        dense = m == kBlock;
      }
      for (std::size_t i = 0; i < m; ++i) ++scratch[packed[i]];
    }
    int32_t from = std::numeric_limits<int32_t>::max();
    int32_t to = std::numeric_limits<int32_t>::min();
    for (std::size_t k = 0; k < kLanes; ++k) {
      from = std::min(from, lowest[k]);
      to = std::max(to, highest[k]);
    }
    for (int32_t b = from; b <= to; ++b) {
      counts[b] += scratch[b];
      scratch[b] = 0;
    }
    if (outside) break;
  }
  if (zero_count > 0) counts[-first_bin] += zero_count;  // zeros lie in [lo, hi], so bin 0 is there
  *zeros += zero_count + zeros_counted;
  return done;
}

std::atomic<bool> avx512_allowed{true};

bool UseAvx512() { return CpuHasAvx512() && avx512_allowed.load(std::memory_order_relaxed); }

// CountWithinRange's 16-bit scratch, one per thread, all zeros between calls.
uint16_t* Uint16Scratch(std::size_t bins) {
  thread_local std::vector<uint16_t> scratch;
  if (scratch.size() < bins) scratch.resize(bins, 0);
  return scratch.data();
}
#endif

// Index of grid bin g after the width doubled `shift` times: floor(g / 2^shift).
int64_t CoarserIndex(int64_t g, int shift) {
  if (shift >= 63) return g < 0 ? -1 : 0;
  return g >> shift;  // arithmetic shift (C++20): floor division for negative g too
}

// Smallest exponent satisfying both width conditions of histogram.h for [lo, hi].
int RequiredExponent(float lo, float hi, int max_bins) {
  int exponent = FloorExponent(std::max(std::fabs(lo), std::fabs(hi)));
  const double range = static_cast<double>(hi) - static_cast<double>(lo);
  if (range > 0.0) {
    // At exponent e - 2 (2^e <= range / (max_bins - 1)) the span is > 4 (max_bins - 1) >= max_bins
    // bins, so the answer is >= e - 1; the loop below then takes at most a few steps.
    exponent = std::max(exponent, std::ilogb(range / (max_bins - 1)) - 1);
  }
  while (exponent < Histogram::kMaxWidthExponent &&
         GridIndexAsDouble(hi, exponent) - GridIndexAsDouble(lo, exponent) + 1.0 > max_bins) {
    ++exponent;
  }
  return exponent;
}

}  // namespace

bool AllowHistogramAvx512(bool allowed) {
#if defined(ONNXQ_HAS_AVX512_PATH)
  return avx512_allowed.exchange(allowed);
#else
  return allowed;
#endif
}

Histogram::Histogram(const HistogramOptions& options) : max_bins_(std::max(options.max_bins, 2)) {}

std::optional<Histogram> Histogram::FromState(const HistogramState& state) {
  if (state.max_bins < 2 || state.nonfinite_count < 0) return std::nullopt;
  Histogram histogram(HistogramOptions{.max_bins = state.max_bins});
  histogram.nonfinite_count_ = state.nonfinite_count;
  if (state.counts.empty()) return histogram;

  if (!std::isfinite(state.min) || !std::isfinite(state.max) || !(state.min <= state.max)) return std::nullopt;
  if (state.width_exponent < FloorExponent(std::max(std::fabs(state.min), std::fabs(state.max))) ||
      state.width_exponent > kMaxWidthExponent) {
    return std::nullopt;
  }
  if (state.counts.size() > static_cast<std::size_t>(state.max_bins)) return std::nullopt;
  const double inverse_width = std::ldexp(1.0, -state.width_exponent);
  if (GridIndex(state.min, inverse_width) != state.first_bin_index ||
      GridIndex(state.max, inverse_width) != state.first_bin_index + static_cast<int64_t>(state.counts.size()) - 1) {
    return std::nullopt;
  }
  // The bins holding min and max are not empty; no count is negative; the total fits.
  if (state.counts.front() <= 0 || state.counts.back() <= 0) return std::nullopt;
  int64_t total = 0;
  for (int64_t count : state.counts) {
    if (count < 0 || count > std::numeric_limits<int64_t>::max() - total) return std::nullopt;
    total += count;
  }
  histogram.width_exponent_ = state.width_exponent;
  histogram.first_bin_index_ = state.first_bin_index;
  histogram.counts_ = state.counts;
  histogram.min_ = state.min;
  histogram.max_ = state.max;
  histogram.total_count_ = total;
  return histogram;
}

HistogramState Histogram::State() const {
  return HistogramState{.width_exponent = width_exponent_,
                        .first_bin_index = first_bin_index_,
                        .counts = counts_,
                        .min = min_,
                        .max = max_,
                        .nonfinite_count = nonfinite_count_,
                        .max_bins = max_bins_};
}

double Histogram::bin_width() const { return std::ldexp(1.0, width_exponent_); }

float Histogram::max_abs() const { return std::max(std::fabs(min_), std::fabs(max_)); }

int64_t Histogram::BinIndexOf(float x) const { return GridIndex(x, std::ldexp(1.0, -width_exponent_)); }

double Histogram::BinLowerEdge(std::size_t i) const {
  return static_cast<double>(first_bin_index_ + static_cast<int64_t>(i)) * bin_width();
}

double Histogram::BinUpperEdge(std::size_t i) const {
  return static_cast<double>(first_bin_index_ + static_cast<int64_t>(i) + 1) * bin_width();
}

double Histogram::BinCenter(std::size_t i) const {
  return (static_cast<double>(first_bin_index_ + static_cast<int64_t>(i)) + 0.5) * bin_width();
}

void Histogram::CoverRange(float lo, float hi, int min_exponent) {
  const int exponent = std::max(min_exponent, RequiredExponent(lo, hi, max_bins_));
  const double inverse_width = std::ldexp(1.0, -exponent);
  const int64_t first = GridIndex(lo, inverse_width);
  const int64_t last = GridIndex(hi, inverse_width);
  const auto size = static_cast<std::size_t>(last - first + 1);
  if (exponent != width_exponent_ || first != first_bin_index_ || size != counts_.size()) {
    assert(counts_.empty() || exponent >= width_exponent_);
    std::vector<int64_t> bins(size, 0);
    const int shift = exponent - width_exponent_;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      if (counts_[i] == 0) continue;
      bins[static_cast<std::size_t>(CoarserIndex(first_bin_index_ + static_cast<int64_t>(i), shift) - first)] +=
          counts_[i];
    }
    counts_ = std::move(bins);
    width_exponent_ = exponent;
    first_bin_index_ = first;
  }
  min_ = lo;
  max_ = hi;
}

int64_t Histogram::Add(std::span<const float> values) {
  int64_t within_range_zeros = 0;
#if defined(ONNXQ_HAS_AVX512_PATH)
  // Once the range is known, most batches lie within it: they are counted in one pass, with no
  // range scan first. A batch that leaves the range goes on, from the block that does, below.
  if (UseAvx512() && !empty() && values.size() >= counts_.size()) {
    const std::size_t counted = CountWithinRange(values.data(), values.size(), min_, max_,
                                                 InverseWidth(width_exponent_), static_cast<int32_t>(first_bin_index_),
                                                 Uint16Scratch(counts_.size()), counts_.data(), &within_range_zeros);
    total_count_ += static_cast<int64_t>(counted);
    values = values.subspan(counted);
    if (values.empty()) return within_range_zeros;
  }
#endif
  return within_range_zeros + AddAnyRange(values);
}

int64_t Histogram::AddAnyRange(std::span<const float> values) {
  const FiniteRange range = ScanRange(values);
  nonfinite_count_ += range.nonfinite;
  const auto finite = static_cast<int64_t>(values.size()) - range.nonfinite;
  if (finite == 0) return 0;
  if (empty()) {
    CoverRange(range.lo, range.hi, kMinWidthExponent);
  } else {
    CoverRange(std::min(range.lo, min_), std::max(range.hi, max_), width_exponent_);
  }

  // Offsets are computed in lanes a block at a time, then counted. Consecutive increments of one
  // bin (the zeros of a Relu output, the saturated values of a Relu6) would each wait for the one
  // before, so a large batch counts each quarter of a block into a histogram of its own (four
  // independent chains), added up at the end. A small batch, for which that sum would cost more than
  // it saves, counts in place.
  constexpr std::size_t kBlockSize = 256;
  constexpr std::size_t kStreams = 4;
  constexpr std::size_t kQuarter = kBlockSize / kStreams;
  const InverseWidth scale(width_exponent_);
  const auto first_bin = static_cast<int32_t>(first_bin_index_);
  const std::size_t bins = counts_.size();
  int64_t* const counts = counts_.data();
  int32_t offsets[kBlockSize];
  int64_t exact_zeros = 0;
  if (range.nonfinite > 0) {
    // Rare: NaN and +-Inf are binned as 0, which may lie outside the bins; count value by value.
    for (std::size_t start = 0; start < values.size(); start += kBlockSize) {
      const std::size_t n = std::min(kBlockSize, values.size() - start);
      BinOffsets<true>(values.data() + start, n, scale, first_bin, offsets);
      for (std::size_t i = 0; i < n; ++i) {
        const float x = values[start + i];
        if (!std::isfinite(x)) continue;
        ++counts[offsets[i]];
        exact_zeros += x == 0.0F ? 1 : 0;
      }
    }
  } else if (values.size() < bins) {
    for (std::size_t start = 0; start < values.size(); start += kBlockSize) {
      const std::size_t n = std::min(kBlockSize, values.size() - start);
      exact_zeros += static_cast<int64_t>(FiniteBinOffsets(values.data() + start, n, scale, first_bin, offsets));
      for (std::size_t i = 0; i < n; ++i) ++counts[offsets[i]];
    }
  } else {
#if defined(ONNXQ_HAS_AVX512_PATH)
    if (UseAvx512()) {
      // The range now holds every value, so CountWithinRange counts every whole block (zeros apart,
      // the others in 16-bit bins that stay in the first-level cache); the last partial block is
      // counted in place.
      const std::size_t counted = CountWithinRange(values.data(), values.size(), min_, max_, scale, first_bin,
                                                   Uint16Scratch(bins), counts, &exact_zeros);
      const std::size_t n = values.size() - counted;
      assert(n < kBlockSize);
      exact_zeros += static_cast<int64_t>(FiniteBinOffsets(values.data() + counted, n, scale, first_bin, offsets));
      for (std::size_t i = 0; i < n; ++i) ++counts[offsets[i]];
      total_count_ += finite;
      return exact_zeros;
    }
#endif
    // One scratch per thread: a batch never holds 2^32 values, so 32-bit counts do.
    thread_local std::vector<uint32_t> scratch;
    if (scratch.size() < kStreams * bins) scratch.resize(kStreams * bins, 0);
    uint32_t* const s0 = scratch.data();
    uint32_t* const s1 = s0 + bins;
    uint32_t* const s2 = s1 + bins;
    uint32_t* const s3 = s2 + bins;
    for (std::size_t start = 0; start < values.size(); start += kBlockSize) {
      const std::size_t n = std::min(kBlockSize, values.size() - start);
      const auto zeros = FiniteBinOffsets(values.data() + start, n, scale, first_bin, offsets);
      exact_zeros += static_cast<int64_t>(zeros);
      if (zeros == n) {  // a dead channel: one bin
        s0[offsets[0]] += static_cast<uint32_t>(n);
      } else if (n == kBlockSize) {
        for (std::size_t i = 0; i < kQuarter; ++i) {
          ++s0[offsets[i]];
          ++s1[offsets[kQuarter + i]];
          ++s2[offsets[2 * kQuarter + i]];
          ++s3[offsets[3 * kQuarter + i]];
        }
      } else {
        for (std::size_t i = 0; i < n; ++i) ++s0[offsets[i]];
      }
    }
    // Only the bins between this batch's extremes were counted into.
    const auto low = static_cast<std::size_t>(GridIndex(range.lo, scale.as_double) - first_bin_index_);
    const auto high = static_cast<std::size_t>(GridIndex(range.hi, scale.as_double) - first_bin_index_);
    for (std::size_t b = low; b <= high; ++b) {
      counts[b] += static_cast<int64_t>(s0[b]) + s1[b] + s2[b] + s3[b];
      s0[b] = s1[b] = s2[b] = s3[b] = 0;
    }
  }
  total_count_ += finite;
  return exact_zeros;
}

void Histogram::Merge(const Histogram& other) {
  nonfinite_count_ += other.nonfinite_count_;
  if (other.empty()) return;
  if (empty()) {
    CoverRange(other.min_, other.max_, other.width_exponent_);
  } else {
    CoverRange(std::min(min_, other.min_), std::max(max_, other.max_),
               std::max(width_exponent_, other.width_exponent_));
  }
  const int shift = width_exponent_ - other.width_exponent_;
  for (std::size_t i = 0; i < other.counts_.size(); ++i) {
    const int64_t g = CoarserIndex(other.first_bin_index_ + static_cast<int64_t>(i), shift);
    counts_[static_cast<std::size_t>(g - first_bin_index_)] += other.counts_[i];
  }
  total_count_ += other.total_count_;
}

AbsHistogram Histogram::FoldedAbs() const {
  AbsHistogram folded;
  folded.bin_width = bin_width();
  folded.max_abs = max_abs();
  folded.total_count = total_count_;
  if (empty()) return folded;
  // Bin g < 0 holds the |x| of bin -1-g = ~g.
  const int64_t last = first_bin_index_ + static_cast<int64_t>(counts_.size()) - 1;
  auto fold = [](int64_t g) { return g < 0 ? ~g : g; };
  const int64_t lowest = (first_bin_index_ < 0 && last >= 0) ? 0 : std::min(fold(first_bin_index_), fold(last));
  const int64_t highest = std::max(fold(first_bin_index_), fold(last));
  folded.first_bin_index = lowest;
  folded.counts.assign(static_cast<std::size_t>(highest - lowest + 1), 0);
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    folded.counts[static_cast<std::size_t>(fold(first_bin_index_ + static_cast<int64_t>(i)) - lowest)] += counts_[i];
  }
  return folded;
}

}  // namespace onnxq
