#include "algorithms/cross_layer_scales.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>

namespace onnxq {
namespace {

constexpr double kMinBiasShrinkWeight = 1e-7;

std::string Count(std::size_t n) { return std::to_string(n); }

// Checks the layer's weight layout and, if it has one, its bias; returns its channel count in `channels`.
EqualizationStatus CheckLayer(const EqualizedLayer& layer, const char* role, std::size_t& channels) {
  EqualizationStatus status = CheckAxisLayout(layer.weight.data.size(), layer.weight.dims, layer.channel_axis);
  if (!status.ok()) {
    return EqualizationStatus::Error(status.code(), std::string(role) + " weight: " + status.message());
  }
  channels = static_cast<std::size_t>(layer.weight.dims[static_cast<std::size_t>(layer.channel_axis)]);
  return status;
}

EqualizationStatus CheckBias(const EqualizedLayer& layer, const char* role, std::size_t channels) {
  if (!layer.bias.empty() && layer.bias.size() != channels) {
    return EqualizationStatus::Error(
        EqualizationError::kSizeMismatch,
        std::string(role) + " bias has " + Count(layer.bias.size()) + " values, expected " + Count(channels));
  }
  return {};
}

EqualizationStatus CheckScales(std::span<const float> scales, const char* name, std::size_t channels) {
  if (scales.size() != channels) {
    return EqualizationStatus::Error(
        EqualizationError::kSizeMismatch,
        std::string(name) + " has " + Count(scales.size()) + " values, expected " + Count(channels));
  }
  for (std::size_t i = 0; i < scales.size(); ++i) {
    if (!std::isfinite(scales[i]) || scales[i] <= 0.0F) {
      return EqualizationStatus::Error(
          EqualizationError::kInvalidValue,
          std::string(name) + "[" + Count(i) + "] = " + std::to_string(scales[i]) + " is not a finite positive scale");
    }
  }
  return {};
}

EqualizationStatus ChannelCountMismatch(const char* first, std::size_t first_count, const char* second,
                                        std::size_t second_count) {
  return EqualizationStatus::Error(
      EqualizationError::kSizeMismatch,
      std::string(first) + " has " + Count(first_count) + " channels but " + second + " has " + Count(second_count));
}

// Replaces a factor that cannot be applied (NaN, infinite, zero or negative) by 1.
float UsableScale(double scale) { return (std::isfinite(scale) && scale > 0.0) ? static_cast<float>(scale) : 1.0F; }

double Median(std::vector<double> values) {
  const std::size_t middle = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle), values.end());
  const double upper = values[middle];
  if (values.size() % 2 == 1) return upper;
  const double lower = *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle));
  return 0.5 * (lower + upper);
}

}  // namespace

std::vector<float> PairScales(std::span<const float> head_range, std::span<const float> tail_range,
                              const PairScaleOptions& options) {
  if (head_range.size() != tail_range.size()) return {};
  std::vector<float> scales(head_range.size(), 1.0F);
  for (std::size_t i = 0; i < scales.size(); ++i) {
    const double head = head_range[i];
    const double tail = tail_range[i];
    if (options.use_small_range_threshold && head + tail < static_cast<double>(options.small_range_threshold)) {
      continue;
    }
    if (head == 0.0 || tail == 0.0) continue;
    scales[i] = UsableScale(std::sqrt(tail / head));
  }
  return scales;
}

float BiasShrinkFactor(std::span<const float> head_weight, std::span<const int64_t> dims, int out_axis,
                       std::span<const float> head_bias) {
  const std::vector<float> rows = ChannelMajorCopy(head_weight, dims, out_axis);
  if (rows.empty() || head_bias.size() != static_cast<std::size_t>(dims[static_cast<std::size_t>(out_axis)])) {
    return 1.0F;
  }
  const std::size_t channels = head_bias.size();
  const std::size_t row_size = rows.size() / channels;

  std::vector<double> factors(rows.size());
  double max_bias = 0.0;
  double max_weight = 0.0;
  for (std::size_t i = 0; i < channels; ++i) {
    const auto row = std::span<const float>(rows).subspan(i * row_size, row_size);
    double min_nonzero = std::numeric_limits<double>::infinity();
    for (const float w : row) {
      if (w != 0.0F) min_nonzero = std::min(min_nonzero, std::fabs(static_cast<double>(w)));
    }
    const bool all_zero = std::isinf(min_nonzero);
    const double bias = all_zero ? 0.0 : std::fabs(static_cast<double>(head_bias[i]));
    max_bias = std::max(max_bias, std::fabs(static_cast<double>(head_bias[i])));
    for (std::size_t j = 0; j < row_size; ++j) {
      double weight = all_zero ? kMinBiasShrinkWeight : std::fabs(static_cast<double>(row[j]));
      if (weight == 0.0) weight = min_nonzero;
      weight = std::max(weight, kMinBiasShrinkWeight);
      max_weight = std::max(max_weight, weight);
      factors[i * row_size + j] = bias / weight;
    }
  }

  double mean = 0.0;
  for (const double factor : factors) mean += factor;
  mean /= static_cast<double>(factors.size());
  const double median = Median(std::move(factors));

  if (max_bias < 10.0 && max_bias / max_weight < 20.0) {
    return (median > 100.0 || mean > 1000.0) ? 5.0F : 2.0F;
  }
  if (median > 30.0 || mean > 500.0) return 20.0F;
  if (median > 15.0 || mean > 100.0) return 10.0F;
  return 5.0F;
}

std::vector<float> HeadRangeWithBias(std::span<const float> head_weight, std::span<const int64_t> dims, int out_axis,
                                     std::span<const float> head_bias) {
  std::vector<float> range = AbsMaxAlongAxis(head_weight, dims, out_axis);
  if (head_bias.empty() || range.empty()) return range;
  if (head_bias.size() != range.size()) return {};
  if (head_weight.empty()) return range;
  const float shrink = BiasShrinkFactor(head_weight, dims, out_axis, head_bias);
  for (std::size_t i = 0; i < range.size(); ++i) {
    // An all-zero channel has range 0 and its bias counts as 0 (see BiasShrinkFactor).
    if (range[i] == 0.0F) continue;
    range[i] = std::max(range[i], std::fabs(head_bias[i]) / shrink);
  }
  return range;
}

TripletScaleFactors TripletScales(std::span<const float> head_range, std::span<const float> depthwise_range,
                                  std::span<const float> tail_range) {
  if (head_range.size() != depthwise_range.size() || head_range.size() != tail_range.size()) return {};
  TripletScaleFactors scales;
  scales.s12.resize(head_range.size());
  scales.s23.resize(head_range.size());
  for (std::size_t i = 0; i < head_range.size(); ++i) {
    const double m0 = head_range[i];
    const double m2 = tail_range[i];
    const double c = std::cbrt(m0 * static_cast<double>(depthwise_range[i]) * m2);
    scales.s12[i] = UsableScale(m0 / c);
    scales.s23[i] = UsableScale(c / m2);
  }
  return scales;
}

TripletOutputScales OutputScalesOf(const TripletScaleFactors& scales) {
  const auto reciprocal = [](const std::vector<float>& v) {
    std::vector<float> r(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) r[i] = 1.0F / v[i];
    return r;
  };
  return {.head = reciprocal(scales.s12), .depthwise = reciprocal(scales.s23)};
}

EqualizationStatus ApplyPairScales(const EqualizedLayer& head, const EqualizedLayer& tail,
                                   std::span<const float> scales) {
  std::size_t head_channels = 0;
  std::size_t tail_channels = 0;
  EqualizationStatus status = CheckLayer(head, "head", head_channels);
  if (status.ok()) status = CheckLayer(tail, "tail", tail_channels);
  if (status.ok() && head_channels != tail_channels) {
    status = ChannelCountMismatch("head output", head_channels, "tail input", tail_channels);
  }
  if (status.ok()) status = CheckBias(head, "head", head_channels);
  if (status.ok()) status = CheckScales(scales, "pair scale", head_channels);
  if (!status.ok()) return status;

  status = ScaleAlongAxis(head.weight.data, head.weight.dims, head.channel_axis, scales);
  if (!status.ok()) return status;
  for (std::size_t i = 0; i < head.bias.size(); ++i) head.bias[i] *= scales[i];
  return DivideAlongAxis(tail.weight.data, tail.weight.dims, tail.channel_axis, scales);
}

EqualizationStatus ApplyTripletScales(const EqualizedLayer& head, const EqualizedLayer& depthwise,
                                      const EqualizedLayer& tail, const TripletScaleFactors& scales) {
  std::size_t head_channels = 0;
  std::size_t depthwise_channels = 0;
  std::size_t tail_channels = 0;
  EqualizationStatus status = CheckLayer(head, "head", head_channels);
  if (status.ok()) status = CheckLayer(depthwise, "depthwise", depthwise_channels);
  if (status.ok()) status = CheckLayer(tail, "tail", tail_channels);
  if (status.ok() && head_channels != depthwise_channels) {
    status = ChannelCountMismatch("head output", head_channels, "depthwise", depthwise_channels);
  }
  if (status.ok() && tail_channels != depthwise_channels) {
    status = ChannelCountMismatch("tail input", tail_channels, "depthwise", depthwise_channels);
  }
  if (status.ok()) status = CheckBias(head, "head", head_channels);
  if (status.ok()) status = CheckBias(depthwise, "depthwise", depthwise_channels);
  if (status.ok()) status = CheckScales(scales.s12, "s12", head_channels);
  if (status.ok()) status = CheckScales(scales.s23, "s23", head_channels);
  if (!status.ok()) return status;

  std::vector<float> depthwise_factor(head_channels);
  for (std::size_t i = 0; i < head_channels; ++i) depthwise_factor[i] = scales.s12[i] / scales.s23[i];

  status = DivideAlongAxis(head.weight.data, head.weight.dims, head.channel_axis, scales.s12);
  if (!status.ok()) return status;
  for (std::size_t i = 0; i < head.bias.size(); ++i) head.bias[i] /= scales.s12[i];
  status = ScaleAlongAxis(depthwise.weight.data, depthwise.weight.dims, depthwise.channel_axis, depthwise_factor);
  if (!status.ok()) return status;
  for (std::size_t i = 0; i < depthwise.bias.size(); ++i) depthwise.bias[i] /= scales.s23[i];
  return ScaleAlongAxis(tail.weight.data, tail.weight.dims, tail.channel_axis, scales.s23);
}

double MeanAbsDifference(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size()) return std::numeric_limits<double>::quiet_NaN();
  if (a.empty()) return 0.0;
  double sum = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
  return sum / static_cast<double>(a.size());
}

void CleConvergence::RecordStep(double total_diff) {
  ++steps_;
  if (std::fabs(total_diff - reference_diff_) > options_.stagnation_tolerance) {
    stagnant_steps_ = 0;
    reference_diff_ = total_diff;
  } else {
    ++stagnant_steps_;
  }
}

CleStopReason CleConvergence::StopReason() const {
  if (!(reference_diff_ > options_.total_diff_threshold)) return CleStopReason::kConverged;
  if (stagnant_steps_ >= options_.max_stagnant_steps) return CleStopReason::kStagnated;
  const int step_cap = options_.max_steps >= 0 ? options_.max_steps : options_.max_adaptive_steps;
  if (steps_ >= step_cap) return CleStopReason::kStepLimit;
  return CleStopReason::kNotStopped;
}

}  // namespace onnxq
