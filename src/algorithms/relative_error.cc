#include "algorithms/relative_error.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace onnxq {

void MagnitudeHistogram::Add(std::span<const float> values) {
  for (const float v : values) {
    const uint32_t bits = std::bit_cast<uint32_t>(v) & 0x7FFFFFFFU;
    const uint32_t exponent = bits >> 23U;
    if (exponent == 255U) {
      ++non_finite;
    } else if (bits == 0U) {
      ++zeros;
    } else {
      ++counts[exponent];
    }
  }
}

void MagnitudeHistogram::AddRowDeviations(std::span<const float> values, size_t row) {
  if (row == 0) return;
  for (size_t start = 0; start + row <= values.size(); start += row) {
    double sum = 0.0;
    double squares = 0.0;
    for (size_t i = start; i < start + row; ++i) {
      sum += values[i];
      squares += static_cast<double>(values[i]) * values[i];
    }
    const double mean = sum / static_cast<double>(row);
    const double variance = std::max(0.0, squares / static_cast<double>(row) - mean * mean);
    const float deviation = static_cast<float>(std::sqrt(variance));
    Add(std::span<const float>(&deviation, 1));
  }
}

void MagnitudeHistogram::Merge(const MagnitudeHistogram& other) {
  for (size_t b = 0; b < counts.size(); ++b) counts[b] += other.counts[b];
  zeros += other.zeros;
  non_finite += other.non_finite;
}

int64_t MagnitudeHistogram::nonzero_finite() const {
  int64_t n = 0;
  for (const int64_t c : counts) n += c;
  return n;
}

namespace {

// Mean squared relative error of values of `magnitude` on a grid of `step`.
double RelativeError(double magnitude, double step) {
  return magnitude < step / 2 ? 1.0 : std::min(1.0, step * step / 12.0 / (magnitude * magnitude));
}

// The middle of octave bin `b` (subnormals, b == 0, sit below 2^-126 like the first normal octave).
double OctaveMiddle(size_t b) { return std::ldexp(std::sqrt(2.0), static_cast<int>(b == 0 ? 1 : b) - 127); }

double ToDb(double mean) { return mean <= 0.0 ? std::numeric_limits<double>::infinity() : -10.0 * std::log10(mean); }

}  // namespace

double WorstRelativeSqnrDb(const MagnitudeHistogram& histogram, float scale) {
  if (!(scale > 0.0F)) return std::numeric_limits<double>::infinity();
  for (size_t b = 0; b < histogram.counts.size(); ++b) {
    if (histogram.counts[b] > 0) return ToDb(RelativeError(OctaveMiddle(b), scale));
  }
  return std::numeric_limits<double>::infinity();
}

double RelativeSqnrDb(const MagnitudeHistogram& histogram, float scale) {
  const int64_t n = histogram.nonzero_finite();
  if (n == 0 || !(scale > 0.0F)) return std::numeric_limits<double>::infinity();
  double error = 0.0;
  for (size_t b = 0; b < histogram.counts.size(); ++b) {
    if (histogram.counts[b] > 0)
      error += RelativeError(OctaveMiddle(b), scale) * static_cast<double>(histogram.counts[b]);
  }
  return ToDb(error / static_cast<double>(n));
}

}  // namespace onnxq
