#include "algorithms/histogram.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

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

void Histogram::Add(std::span<const float> values) {
  float lo = std::numeric_limits<float>::infinity();
  float hi = -std::numeric_limits<float>::infinity();
  int64_t nonfinite = 0;
  for (float x : values) {
    if (!std::isfinite(x)) {
      ++nonfinite;
      continue;
    }
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  nonfinite_count_ += nonfinite;
  const auto finite = static_cast<int64_t>(values.size()) - nonfinite;
  if (finite == 0) return;
  if (empty()) {
    CoverRange(lo, hi, kMinWidthExponent);
  } else {
    CoverRange(std::min(lo, min_), std::max(hi, max_), width_exponent_);
  }

  const double inverse_width = std::ldexp(1.0, -width_exponent_);
  const int64_t first = first_bin_index_;
  int64_t* const bins = counts_.data();
  if (nonfinite == 0) {
    for (float x : values) ++bins[GridIndex(x, inverse_width) - first];
  } else {
    for (float x : values) {
      if (std::isfinite(x)) ++bins[GridIndex(x, inverse_width) - first];
    }
  }
  total_count_ += finite;
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
