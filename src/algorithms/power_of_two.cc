#include "algorithms/power_of_two.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace onnxq {
namespace {

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

double SquaredQuantError(const Histogram& histogram, const QuantParams& params, const IntRange& range) {
  const std::vector<int64_t>& counts = histogram.counts();
  const auto lo = static_cast<double>(histogram.min());
  const auto hi = static_cast<double>(histogram.max());
  double sum = 0.0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    const double left = std::max(histogram.BinLowerEdge(i), lo);
    const double right = std::min(histogram.BinUpperEdge(i), hi);
    const auto centre = static_cast<float>((left + right) / 2.0);
    const double error = static_cast<double>(centre) - static_cast<double>(FakeQuantize(centre, params, range));
    sum += static_cast<double>(counts[i]) * error * error;
  }
  return sum;
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
  const IntRange range = QuantRange(type, options);
  return ArgMinPos(RoundPos(rmin, rmax, type, options), mse_options, [&](int pos) {
    return SquaredQuantError(values, PowerOfTwoQuantParams(pos, rmin, rmax, type, options), range);
  });
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
