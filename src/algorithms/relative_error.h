// How much relative error 8 bits leave on a tensor whose magnitudes span many octaves. Ops such as
// Log, Reciprocal or a Div's divisor turn a small absolute error on a small value into a large error
// of their output: a power spectrum before Log (values from 1e-10 to 1e6) rounds most of its values
// to 0 on any 8-bit grid, and log(0) is -inf. The statistic is a histogram of |x| by binary exponent
// (one bin per octave, a few nanoseconds a value); the estimate is pure math over it.
//
//   a value x with |x| < scale / 2 rounds to 0:     relative error^2 = 1
//   otherwise, rounding to the grid:                 relative error^2 ~ (scale^2 / 12) / x^2
//   relative SQNR (dB) = -10 log10(mean relative error^2 over the nonzero finite values)
//
// A value in octave e (2^e <= |x| < 2^(e+1)) is taken at its geometric middle, 2^(e + 1/2).
//
// Normalization (LayerNormalization) divides each row by its standard deviation, so what the grid
// must resolve there is each row's spread: the same estimate over a histogram of the rows' standard
// deviations (a Vision Transformer's class token is a row of ~0.02 beside patch tokens of ~7).
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace onnxq {

struct MagnitudeHistogram {
  // counts[b]: values whose float exponent field is b (|x| in [2^(b-127), 2^(b-126)) for b >= 1;
  // b == 0 holds subnormals). Zeros and non-finite values are counted apart.
  std::array<int64_t, 255> counts{};
  int64_t zeros = 0;
  int64_t non_finite = 0;

  void Add(std::span<const float> values);
  // Counts the standard deviation of each run of `row` values (values.size() a multiple of row).
  void AddRowDeviations(std::span<const float> values, size_t row);
  void Merge(const MagnitudeHistogram& other);
  int64_t nonzero_finite() const;
};

// Relative SQNR in dB of quantizing the histogram's nonzero finite values with step `scale` and no
// clipping (the calibrated range holds them); +inf when there are none or scale is 0.
double RelativeSqnrDb(const MagnitudeHistogram& histogram, float scale);

// The same for the smallest nonzero magnitude alone (its octave's middle): what the least resolved
// value, or row, keeps. For rows of which one can decide the output (a class token).
double WorstRelativeSqnrDb(const MagnitudeHistogram& histogram, float scale);

}  // namespace onnxq
