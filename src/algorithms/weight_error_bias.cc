#include "algorithms/weight_error_bias.h"

namespace onnxq {

std::vector<double> TapCoverage(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t pad_begin,
                                int64_t dilation) {
  if (in <= 0 || out <= 0 || kernel <= 0 || stride <= 0 || dilation <= 0) return {};
  std::vector<double> coverage(static_cast<size_t>(kernel), 0.0);
  for (int64_t t = 0; t < kernel; ++t) {
    int64_t inside = 0;
    for (int64_t o = 0; o < out; ++o) {
      const int64_t position = o * stride - pad_begin + t * dilation;
      if (position >= 0 && position < in) ++inside;
    }
    coverage[static_cast<size_t>(t)] = static_cast<double>(inside) / static_cast<double>(out);
  }
  return coverage;
}

std::vector<double> KernelCoverage(std::span<const std::vector<double>> per_axis) {
  std::vector<double> coverage = {1.0};
  for (const auto& axis : per_axis) {
    std::vector<double> next;
    next.reserve(coverage.size() * axis.size());
    for (const double outer : coverage) {
      for (const double inner : axis) next.push_back(outer * inner);
    }
    coverage = std::move(next);
  }
  return coverage;
}

std::vector<float> WeightErrorBias(const LayerWeights& layer, std::span<const float> input_means,
                                   std::span<const double> coverage) {
  const int64_t out = layer.out_channels;
  const int64_t groups = layer.groups;
  const int64_t taps = layer.taps;
  if (out <= 0 || groups <= 0 || taps <= 0 || out % groups != 0 || input_means.empty() ||
      input_means.size() % static_cast<size_t>(groups) != 0) {
    return {};
  }
  const auto in_per_group = static_cast<int64_t>(input_means.size()) / groups;
  const auto size = static_cast<size_t>(out * in_per_group * taps);
  if (layer.weight.size() != size || layer.dequantized.size() != size ||
      (!coverage.empty() && coverage.size() != static_cast<size_t>(taps))) {
    return {};
  }
  const int64_t out_per_group = out / groups;
  std::vector<float> correction(static_cast<size_t>(out), 0.0F);
  for (int64_t o = 0; o < out; ++o) {
    const int64_t first_input = (o / out_per_group) * in_per_group;
    double sum = 0.0;
    for (int64_t c = 0; c < in_per_group; ++c) {
      const double mean = input_means[static_cast<size_t>(first_input + c)];
      const size_t base = static_cast<size_t>((o * in_per_group + c) * taps);
      double tap_sum = 0.0;
      for (int64_t t = 0; t < taps; ++t) {
        const size_t i = base + static_cast<size_t>(t);
        const double error = static_cast<double>(layer.weight[i]) - static_cast<double>(layer.dequantized[i]);
        tap_sum += error * (coverage.empty() ? 1.0 : coverage[static_cast<size_t>(t)]);
      }
      sum += tap_sum * mean;
    }
    correction[static_cast<size_t>(o)] = static_cast<float>(sum);
  }
  return correction;
}

}  // namespace onnxq
