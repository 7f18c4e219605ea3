#include "algorithms/bias_correction.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace onnxq {

bool ChannelMeanDifference::Add(std::span<const float> a, std::span<const float> b, std::span<const int64_t> shape) {
  if (shape.size() < 2 || shape[1] != static_cast<int64_t>(sums_.size()) || a.size() != b.size()) return false;
  int64_t inner = 1;
  for (size_t d = 2; d < shape.size(); ++d) inner *= shape[d];
  const int64_t outer = shape[0];
  const auto channels = static_cast<int64_t>(sums_.size());
  if (outer * channels * inner != static_cast<int64_t>(a.size())) return false;
  for (int64_t n = 0; n < outer; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      const auto base = static_cast<size_t>((n * channels + c) * inner);
      double sum = 0.0;
      for (int64_t i = 0; i < inner; ++i) {
        sum += static_cast<double>(a[base + static_cast<size_t>(i)]) -
               static_cast<double>(b[base + static_cast<size_t>(i)]);
      }
      sums_[static_cast<size_t>(c)] += sum;
    }
  }
  count_ += outer * inner;
  return true;
}

void ChannelMeanDifference::Merge(const ChannelMeanDifference& other) {
  for (size_t c = 0; c < sums_.size() && c < other.sums_.size(); ++c) sums_[c] += other.sums_[c];
  count_ += other.count_;
}

std::vector<float> ChannelMeanDifference::Mean() const {
  std::vector<float> mean(sums_.size(), 0.0F);
  if (count_ == 0) return mean;
  for (size_t c = 0; c < sums_.size(); ++c) mean[c] = static_cast<float>(sums_[c] / static_cast<double>(count_));
  return mean;
}

std::vector<int64_t> QuantizeInt32(std::span<const float> bias, std::span<const float> scale,
                                   std::span<const int64_t> zero_point) {
  std::vector<int64_t> q(bias.size());
  for (size_t o = 0; o < bias.size(); ++o) {
    const double s = scale[scale.size() == 1 ? 0 : o];
    const int64_t z = zero_point.empty() ? 0 : zero_point[zero_point.size() == 1 ? 0 : o];
    const double v = s > 0 ? std::nearbyint(static_cast<double>(bias[o]) / s) + static_cast<double>(z) : 0.0;
    q[o] = static_cast<int64_t>(std::clamp(v, static_cast<double>(std::numeric_limits<int32_t>::min()),
                                           static_cast<double>(std::numeric_limits<int32_t>::max())));
  }
  return q;
}

std::vector<float> DequantizeInt32(std::span<const int64_t> q, std::span<const float> scale,
                                   std::span<const int64_t> zero_point) {
  std::vector<float> b(q.size());
  for (size_t o = 0; o < q.size(); ++o) {
    const int64_t z = zero_point.empty() ? 0 : zero_point[zero_point.size() == 1 ? 0 : o];
    b[o] = static_cast<float>(static_cast<double>(q[o] - z) * scale[scale.size() == 1 ? 0 : o]);
  }
  return b;
}

}  // namespace onnxq
