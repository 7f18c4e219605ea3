// Reproducible random data for the math tests (header-only: the algorithm tests link nothing else).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace onnxq::testing {

// Laplace(0, scale) by inverse CDF from raw mt19937 output (same numbers on every standard library).
inline std::vector<float> LaplaceData(int n, double scale, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<float> data(static_cast<std::size_t>(n));
  for (float& x : data) {
    const double u = (static_cast<double>(rng()) + 0.5) / 4294967296.0;
    x = static_cast<float>(u < 0.5 ? scale * std::log(2.0 * u) : -scale * std::log(2.0 * (1.0 - u)));
  }
  return data;
}

// `size` values uniform in [low, high).
inline std::vector<float> RandomVector(std::size_t size, float low, float high, std::mt19937& rng) {
  std::uniform_real_distribution<float> distribution(low, high);
  std::vector<float> values(size);
  for (float& value : values) value = distribution(rng);
  return values;
}

// `count` values uniform in [low, high) from a 32-bit linear congruential generator whose state starts
// at `state` (plain integer arithmetic: the same numbers everywhere).
inline std::vector<float> LcgUniform(std::size_t count, uint32_t state, float low, float high) {
  std::vector<float> values(count);
  for (float& v : values) {
    state = state * 1664525U + 1013904223U;
    v = low + (high - low) * static_cast<float>(state >> 8U) / static_cast<float>(1U << 24U);
  }
  return values;
}

}  // namespace onnxq::testing
