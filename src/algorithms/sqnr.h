// How far a quantized model's output is from the float model's, over all its values: signal to
// quantization noise ratio and cosine similarity, from four sums that merge exactly across runs.
//
//   SQNR (dB) = 10 log10( sum x^2 / sum (x - q)^2 )       x: float output, q: quantized output
//   cosine    = sum x q / sqrt(sum x^2 * sum q^2)
//
// Each 6 dB of SQNR is about one bit: 20 dB leaves an error a tenth of the signal's magnitude, 10 dB
// a third. Pairs where the float value is NaN or infinite and the quantized one equals it (log(0) is
// -inf in both) are skipped; a non-finite value on one side only is a mismatch, and any mismatch
// makes the SQNR -inf and the cosine NaN.
#pragma once

#include <cstdint>
#include <span>

namespace onnxq {

struct SqnrSums {
  double signal = 0;       // sum x^2
  double noise = 0;        // sum (x - q)^2
  double quantized = 0;    // sum q^2
  double cross = 0;        // sum x q
  int64_t values = 0;      // pairs summed
  int64_t mismatches = 0;  // pairs with unequal non-finite values, and values without a partner

  // Adds the pairs (float_values[i], quantized_values[i]). The spans should have the same size; the
  // values of the longer one beyond the other's end count as mismatches.
  void Add(std::span<const float> float_values, std::span<const float> quantized_values);
  void Merge(const SqnrSums& other);

  // +inf when the outputs are equal (no noise), -inf on a mismatch or when there is noise but no
  // signal; with neither signal nor noise (all zeros on both sides), +inf.
  double SqnrDb() const;
  // 1 when both sides are all zeros, 0 when one side is, NaN on a mismatch.
  double Cosine() const;
};

}  // namespace onnxq
