#include "algorithms/raw_weights.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>

#include "common/simd.h"
#include "common/worker_pool.h"

namespace onnxq {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
// Values copied at a time into an aligned buffer on the stack (16 KiB of floats).
constexpr size_t kBlock = 4096;
// Values per task of a pass over runs (256 KiB of floats).
constexpr size_t kTaskValues = size_t{1} << 16;

using Lanes = float __attribute__((vector_size(64)));
constexpr size_t kWidth = sizeof(Lanes) / sizeof(float);

// Values [first, first + n) of `raw` into `block`.
void CopyValues(std::string_view raw, size_t first, size_t n, float* block) {
  std::memcpy(block, raw.data() + first * sizeof(float), n * sizeof(float));
}

enum class Taken { kAll, kFinite };

// Widens [*lo, *hi] to the lanes' ranges and then to the `tail` values (the finite ones only, or all
// but NaN, which never compares smaller or larger).
void Fold(const Lanes& lo_lanes, const Lanes& hi_lanes, std::span<const float> tail, Taken taken, float* lo,
          float* hi) {
  float l = *lo;
  float h = *hi;
  for (size_t k = 0; k < kWidth; ++k) {
    l = lo_lanes[k] < l ? lo_lanes[k] : l;
    h = hi_lanes[k] > h ? hi_lanes[k] : h;
  }
  for (const float v : tail) {
    if (taken == Taken::kFinite && !std::isfinite(v)) continue;
    l = v < l ? v : l;
    h = v > h ? v : h;
  }
  *lo = l;
  *hi = h;
}

// Widens [*lo, *hi] to the values of data[0, n) `taken`. NaN never compares smaller or larger, and
// with Taken::kFinite an infinity is never taken: -inf is not >= -max, +inf not <= max. (Each select
// reads one comparison: GCC takes masks combined with & lane by lane.)
ONNXQ_FOR_EACH_X86_LEVEL
void Widen(const float* data, size_t n, Taken taken, float* lo, float* hi) {
  constexpr float kMax = std::numeric_limits<float>::max();
  Lanes lo_lanes = Lanes{} + *lo;
  Lanes hi_lanes = Lanes{} + *hi;
  size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) {
    Lanes v;
    std::memcpy(&v, data + i, sizeof(v));
    Lanes lo_candidate = v;
    Lanes hi_candidate = v;
    if (taken == Taken::kFinite) {
      lo_candidate = v >= -kMax ? v : lo_lanes;
      hi_candidate = v <= kMax ? v : hi_lanes;
    }
    lo_lanes = lo_candidate < lo_lanes ? lo_candidate : lo_lanes;
    hi_lanes = hi_candidate > hi_lanes ? hi_candidate : hi_lanes;
  }
  Fold(lo_lanes, hi_lanes, std::span(data + i, n - i), taken, lo, hi);
}

// Whether data[0, n) are all finite: v - v is 0 for a finite v and NaN for NaN and the infinities,
// and a sum of zeros stays 0 while one NaN makes it NaN.
ONNXQ_FOR_EACH_X86_LEVEL
bool AllFinite(const float* data, size_t n) {
  Lanes sum{};
  size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) {
    Lanes v;
    std::memcpy(&v, data + i, sizeof(v));
    sum += v - v;
  }
  float total = 0.0F;
  for (size_t k = 0; k < kWidth; ++k) total += sum[k];
  for (; i < n; ++i) total += data[i] - data[i];
  return total == 0.0F;
}

// Widens each [lo[i], hi[i]] to data[i], i < n, NaN skipped.
ONNXQ_FOR_EACH_X86_LEVEL
void WidenEach(const float* data, size_t n, float* lo, float* hi) {
  for (size_t i = 0; i < n; ++i) {
    lo[i] = data[i] < lo[i] ? data[i] : lo[i];
    hi[i] = data[i] > hi[i] ? data[i] : hi[i];
  }
}

// QuantizeValuesTo8Bit of data[i] with its own scales[i] and zero_points[i], i < n.
ONNXQ_FOR_EACH_X86_LEVEL
void QuantizeEachTo8Bit(const float* data, const double* scales, const double* zero_points, size_t n, double qmin,
                        double qmax, uint8_t* out) {
  constexpr double kRound = 6755399441055744.0;  // 1.5 * 2^52: see QuantizeValuesTo8Bit
  for (size_t i = 0; i < n; ++i) {
    const double q = ((static_cast<double>(data[i]) / scales[i] + kRound) - kRound) + zero_points[i];
    const double clamped = q >= qmin ? (q > qmax ? qmax : q) : qmin;
    out[i] = static_cast<uint8_t>(static_cast<int32_t>(clamped));
  }
}

size_t ValueCount(std::string_view raw) { return raw.size() / sizeof(float); }

// Whole channels of `inner` values in a column block of at most kBlock values.
size_t ColumnBlockWidth(const ChannelLayout& layout) { return layout.inner * (kBlock / layout.inner); }

int64_t CeilDiv(size_t a, size_t b) { return static_cast<int64_t>((a + b - 1) / b); }

}  // namespace

ChannelLayout LayoutOf(std::span<const int64_t> dims, int axis) {
  size_t count = 1;
  for (const int64_t d : dims) count *= static_cast<size_t>(d);
  if (axis < 0 || static_cast<size_t>(axis) >= dims.size()) return {.outer = 1, .channels = 1, .inner = count};
  ChannelLayout layout{.outer = 1, .channels = static_cast<size_t>(dims[static_cast<size_t>(axis)]), .inner = 1};
  for (size_t d = 0; d < dims.size(); ++d) {
    if (d < static_cast<size_t>(axis)) layout.outer *= static_cast<size_t>(dims[d]);
    if (d > static_cast<size_t>(axis)) layout.inner *= static_cast<size_t>(dims[d]);
  }
  return layout;
}

bool AllFiniteOfRaw(std::string_view raw) {
  alignas(64) float block[kBlock];
  const size_t count = ValueCount(raw);
  for (size_t pos = 0; pos < count; pos += kBlock) {
    const size_t n = std::min(kBlock, count - pos);
    CopyValues(raw, pos, n, block);
    if (!AllFinite(block, n)) return false;
  }
  return true;
}

ValueRange FiniteRangeOfRaw(std::string_view raw, WorkerPool& pool) {
  const size_t count = ValueCount(raw);
  const int64_t tasks = CeilDiv(count, kTaskValues);
  std::vector<ValueRange> partial(static_cast<size_t>(tasks), {kInf, -kInf});
  pool.ParallelFor(tasks, [&](int64_t t) {
    alignas(64) float block[kBlock];
    ValueRange& r = partial[static_cast<size_t>(t)];
    const size_t end = std::min(count, static_cast<size_t>(t + 1) * kTaskValues);
    for (size_t pos = static_cast<size_t>(t) * kTaskValues; pos < end; pos += kBlock) {
      const size_t n = std::min(kBlock, end - pos);
      CopyValues(raw, pos, n, block);
      Widen(block, n, Taken::kFinite, &r.lo, &r.hi);
    }
  });
  ValueRange range{kInf, -kInf};
  for (const ValueRange& r : partial) {
    range.lo = std::min(range.lo, r.lo);
    range.hi = std::max(range.hi, r.hi);
  }
  return range.lo <= range.hi ? range : ValueRange{};
}

std::vector<ValueRange> ChannelRangesOfRaw(std::string_view raw, const ChannelLayout& layout, WorkerPool& pool) {
  assert(layout.outer * layout.channels * layout.inner == ValueCount(raw));
  std::vector<ValueRange> ranges(layout.channels);
  if (layout.inner == 0) return ranges;
  const size_t row = layout.channels * layout.inner;
  if (layout.inner >= kWideRun) {
    pool.ParallelFor(static_cast<int64_t>(layout.channels), [&](int64_t c) {
      alignas(64) float block[kBlock];
      ValueRange& r = ranges[static_cast<size_t>(c)];
      for (size_t o = 0; o < layout.outer; ++o) {
        const size_t first = o * row + static_cast<size_t>(c) * layout.inner;
        for (size_t j = 0; j < layout.inner; j += kBlock) {
          const size_t n = std::min(kBlock, layout.inner - j);
          CopyValues(raw, first + j, n, block);
          Widen(block, n, Taken::kAll, &r.lo, &r.hi);
        }
      }
    });
    return ranges;
  }
  const size_t width = ColumnBlockWidth(layout);
  pool.ParallelFor(CeilDiv(row, width), [&](int64_t b) {
    alignas(64) float block[kBlock];
    alignas(64) float lo[kBlock] = {};
    alignas(64) float hi[kBlock] = {};
    const size_t begin = static_cast<size_t>(b) * width;
    const size_t n = std::min(width, row - begin);
    for (size_t o = 0; o < layout.outer; ++o) {
      CopyValues(raw, o * row + begin, n, block);
      WidenEach(block, n, lo, hi);
    }
    for (size_t k = 0; k < n; k += layout.inner) {
      // lo[] holds values <= 0 and hi[] values >= 0, so each widens only its own end.
      ValueRange& r = ranges[(begin + k) / layout.inner];
      Widen(lo + k, layout.inner, Taken::kAll, &r.lo, &r.hi);
      Widen(hi + k, layout.inner, Taken::kAll, &r.lo, &r.hi);
    }
  });
  return ranges;
}

void QuantizeRawTo8Bit(std::string_view raw, const ChannelLayout& layout, std::span<const QuantParams> params,
                       const IntRange& range, WorkerPool& pool, std::span<uint8_t> out) {
  const size_t count = ValueCount(raw);
  assert(layout.outer * layout.channels * layout.inner == count && out.size() == count);
  assert(params.size() == layout.channels && range.qmin >= -128 && range.qmax <= 255);
  if (count == 0) return;
  if (layout.inner >= kWideRun) {
    pool.ParallelFor(CeilDiv(count, kTaskValues), [&](int64_t t) {
      alignas(64) float block[kBlock];
      const size_t end = std::min(count, static_cast<size_t>(t + 1) * kTaskValues);
      for (size_t pos = static_cast<size_t>(t) * kTaskValues; pos < end;) {
        const size_t run = pos / layout.inner;  // runs of `inner` values share a channel
        const size_t n = std::min({kBlock, end - pos, (run + 1) * layout.inner - pos});
        CopyValues(raw, pos, n, block);
        QuantizeValuesTo8Bit(std::span<const float>(block, n), params[run % layout.channels], range,
                             out.subspan(pos, n));
        pos += n;
      }
    });
    return;
  }
  const size_t row = layout.channels * layout.inner;
  const size_t width = ColumnBlockWidth(layout);
  pool.ParallelFor(CeilDiv(row, width), [&](int64_t b) {
    alignas(64) float block[kBlock];
    alignas(64) double scales[kBlock];
    alignas(64) double zero_points[kBlock];
    const size_t begin = static_cast<size_t>(b) * width;
    const size_t n = std::min(width, row - begin);
    for (size_t k = 0; k < n; ++k) {
      const QuantParams& p = params[(begin + k) / layout.inner];
      scales[k] = static_cast<double>(p.scale);
      zero_points[k] = static_cast<double>(p.zero_point);
    }
    for (size_t o = 0; o < layout.outer; ++o) {
      CopyValues(raw, o * row + begin, n, block);
      QuantizeEachTo8Bit(block, scales, zero_points, n, static_cast<double>(range.qmin),
                         static_cast<double>(range.qmax), out.data() + o * row + begin);
    }
  });
}

}  // namespace onnxq
