#include "algorithms/dpu_approximations.h"

#include <cmath>

namespace onnxq {

float DpuLeakyReluAlpha(float alpha) {
  return static_cast<float>(std::nearbyint(static_cast<double>(alpha) * 256.0) / 256.0);
}

DpuMultiplier DpuMeanMultiplier(int64_t count) {
  const double target = 1.0 / static_cast<double>(count);
  const int shifts = static_cast<int>(std::ceil(std::log2(128.0 * static_cast<double>(count))));
  DpuMultiplier best;
  double best_error = 1.0;  // M = 0 at N = 0 already errs by less than 1 for any count
  for (int n = 0; n < shifts; ++n) {
    const double power = std::ldexp(1.0, n);
    const auto m = static_cast<int64_t>(std::nearbyint(power * target));
    const double error = std::abs(static_cast<double>(m) / power - target);
    if (error < best_error) {
      best = {m, n};
      best_error = error;
    }
  }
  return best;
}

DpuMultiplier DpuPoolMultiplier(int64_t kernel_h, int64_t kernel_w) {
  if (kernel_h == kernel_w) {
    switch (kernel_h) {
      case 3:
        return {7, 6};
      case 5:
        return {10, 8};
      case 6:
        return {7, 8};
      case 7:
        return {21, 10};
      case 14:
        return {21, 12};
      default:
        break;
    }
  }
  return DpuMeanMultiplier(kernel_h * kernel_w);
}

double DpuMeanCorrection(DpuMultiplier multiplier, int64_t count) {
  return static_cast<double>(count) * static_cast<double>(multiplier.m) / std::ldexp(1.0, multiplier.shift);
}

bool IsDpuHardSigmoidAlpha(float alpha) { return std::abs(static_cast<double>(alpha) - 1.0 / 6.0) <= 1e-6; }

double DpuHardSigmoidScale() { return DpuMeanCorrection(kDpuOneSixth, 6); }

int64_t LargestFactorUpToRoot(int64_t n) {
  auto root = static_cast<int64_t>(std::sqrt(static_cast<double>(n)));
  // The double square root may be off by one either way; a <= n / a is a * a <= n without overflow.
  while (root > 1 && root > n / root) --root;
  while (root + 1 <= n / (root + 1)) ++root;
  for (int64_t f = root; f > 1; --f) {
    if (n % f == 0) return f;
  }
  return 1;
}

}  // namespace onnxq
