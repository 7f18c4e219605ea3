#include "algorithms/sqnr.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace onnxq {

void SqnrSums::Add(std::span<const float> float_values, std::span<const float> quantized_values) {
  const size_t n = std::min(float_values.size(), quantized_values.size());
  double signal_sum = 0;
  double noise_sum = 0;
  double quantized_sum = 0;
  double cross_sum = 0;
  int64_t summed = 0;
  for (size_t i = 0; i < n; ++i) {
    const double x = float_values[i];
    const double q = quantized_values[i];
    if (!std::isfinite(x) || !std::isfinite(q)) {
      // Equal infinities (log(0) on both sides) agree; NaN never equals itself.
      const bool same = x == q;
      if (!same && !(std::isnan(x) && std::isnan(q))) ++mismatches;
      continue;
    }
    const double e = x - q;
    signal_sum += x * x;
    noise_sum += e * e;
    quantized_sum += q * q;
    cross_sum += x * q;
    ++summed;
  }
  signal += signal_sum;
  noise += noise_sum;
  quantized += quantized_sum;
  cross += cross_sum;
  values += summed;
  if (float_values.size() != quantized_values.size()) {
    mismatches += static_cast<int64_t>(std::max(float_values.size(), quantized_values.size()) - n);
  }
}

void SqnrSums::Merge(const SqnrSums& other) {
  signal += other.signal;
  noise += other.noise;
  quantized += other.quantized;
  cross += other.cross;
  values += other.values;
  mismatches += other.mismatches;
}

double SqnrSums::SqnrDb() const {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (mismatches > 0) return -kInf;
  if (noise == 0) return kInf;
  if (signal == 0) return -kInf;
  return 10.0 * std::log10(signal / noise);
}

double SqnrSums::Cosine() const {
  if (mismatches > 0) return std::numeric_limits<double>::quiet_NaN();
  if (signal == 0 && quantized == 0) return 1.0;
  if (signal == 0 || quantized == 0) return 0.0;
  return cross / std::sqrt(signal * quantized);
}

}  // namespace onnxq
