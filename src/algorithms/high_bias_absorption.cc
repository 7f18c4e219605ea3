#include "algorithms/high_bias_absorption.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

namespace onnxq {
namespace {

EqualizationStatus SizeMismatch(const std::string& what, std::size_t got, std::size_t expected) {
  return EqualizationStatus::Error(
      EqualizationError::kSizeMismatch,
      what + " has " + std::to_string(got) + " values, expected " + std::to_string(expected));
}

}  // namespace

EqualizationStatus ScaleBatchNormStats(std::span<float> gamma, std::span<float> beta,
                                       std::span<const float> output_scale) {
  if (beta.size() != gamma.size()) return SizeMismatch("BN beta", beta.size(), gamma.size());
  if (output_scale.size() != gamma.size()) return SizeMismatch("output scale", output_scale.size(), gamma.size());
  for (std::size_t i = 0; i < gamma.size(); ++i) {
    gamma[i] *= output_scale[i];
    beta[i] *= output_scale[i];
  }
  return {};
}

EqualizationStatus ShiftBatchNormMeans(std::span<float> beta, std::span<const float> absorbed) {
  if (absorbed.size() != beta.size()) return SizeMismatch("absorbed bias", absorbed.size(), beta.size());
  for (std::size_t i = 0; i < beta.size(); ++i) beta[i] -= absorbed[i];
  return {};
}

std::vector<float> AbsorbableBias(std::span<const float> beta, std::span<const float> gamma,
                                  const AbsorbOptions& options) {
  if (beta.size() != gamma.size()) return {};
  std::vector<float> absorbed(beta.begin(), beta.end());
  if (options.activation == ActivationBetween::kNone) return absorbed;
  for (std::size_t i = 0; i < absorbed.size(); ++i) {
    absorbed[i] = std::max(0.0F, beta[i] - options.num_std * std::fabs(gamma[i]));
  }
  return absorbed;
}

EqualizationStatus AbsorbHighBias(std::span<const float> absorbed, std::span<float> head_bias,
                                  std::span<const float> tail_weight, std::span<const int64_t> tail_dims,
                                  const TailLayout& layout, std::vector<float>& tail_bias) {
  EqualizationStatus status = CheckAxisLayout(tail_weight.size(), tail_dims, layout.in_axis);
  if (status.ok()) status = CheckAxisLayout(tail_weight.size(), tail_dims, layout.out_axis);
  if (status.ok() && layout.in_axis == layout.out_axis) {
    status = EqualizationStatus::Error(EqualizationError::kInvalidShape,
                                       "tail input and output axes are both " + std::to_string(layout.in_axis));
  }
  if (!status.ok()) return status;
  const auto inputs = static_cast<std::size_t>(tail_dims[static_cast<std::size_t>(layout.in_axis)]);
  const auto outputs = static_cast<std::size_t>(tail_dims[static_cast<std::size_t>(layout.out_axis)]);
  const bool depthwise = layout.kind == TailKind::kDepthwise;
  if (depthwise && inputs != 1) {
    return EqualizationStatus::Error(
        EqualizationError::kInvalidShape,
        "depthwise tail weight must have extent 1 on its input axis, found " + std::to_string(inputs));
  }
  const std::size_t channels = depthwise ? outputs : inputs;
  if (absorbed.size() != channels) return SizeMismatch("absorbed bias", absorbed.size(), channels);
  if (head_bias.size() != channels) return SizeMismatch("head bias", head_bias.size(), channels);
  if (!tail_bias.empty() && tail_bias.size() != outputs) return SizeMismatch("tail bias", tail_bias.size(), outputs);

  // spatial[o * inputs + i] = sum over the other axes of W[o, i, ...].
  const std::vector<float> spatial = SumOverOtherAxes(tail_weight, tail_dims, layout.out_axis, layout.in_axis);
  tail_bias.resize(outputs, 0.0F);
  for (std::size_t o = 0; o < outputs; ++o) {
    double shift = 0.0;
    if (depthwise) {
      shift = static_cast<double>(spatial[o]) * static_cast<double>(absorbed[o]);
    } else {
      for (std::size_t i = 0; i < inputs; ++i) {
        shift += static_cast<double>(spatial[o * inputs + i]) * static_cast<double>(absorbed[i]);
      }
    }
    tail_bias[o] = static_cast<float>(static_cast<double>(tail_bias[o]) + shift);
  }
  for (std::size_t i = 0; i < channels; ++i) head_bias[i] -= absorbed[i];
  return status;
}

}  // namespace onnxq
