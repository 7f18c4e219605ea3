#include "algorithms/batch_norm_fold.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace onnxq {
namespace {

std::string DimsToString(std::span<const int64_t> dims) {
  std::string text = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(dims[i]);
  }
  return text + "]";
}

// data viewed as [outer, channels, inner] around one axis.
struct AxisLayout {
  std::size_t outer = 1;
  std::size_t channels = 0;
  std::size_t inner = 1;
};

AxisLayout LayoutAround(std::span<const int64_t> dims, int axis) {
  AxisLayout layout;
  const auto axis_index = static_cast<std::size_t>(axis);
  for (std::size_t d = 0; d < dims.size(); ++d) {
    const auto extent = static_cast<std::size_t>(dims[d]);
    if (d < axis_index) {
      layout.outer *= extent;
    } else if (d == axis_index) {
      layout.channels = extent;
    } else {
      layout.inner *= extent;
    }
  }
  return layout;
}

template <typename Op>
EqualizationStatus ApplyAlongAxis(std::span<float> data, std::span<const int64_t> dims, int axis,
                                  std::span<const float> factors, Op op) {
  EqualizationStatus status = CheckAxisLayout(data.size(), dims, axis);
  if (!status.ok()) return status;
  const AxisLayout layout = LayoutAround(dims, axis);
  if (factors.size() != layout.channels) {
    return EqualizationStatus::Error(EqualizationError::kSizeMismatch,
                                     "per-channel factor has " + std::to_string(factors.size()) +
                                         " values, expected dims[" + std::to_string(axis) +
                                         "] = " + std::to_string(layout.channels) + " of dims " + DimsToString(dims));
  }
  float* element = data.data();
  for (std::size_t o = 0; o < layout.outer; ++o) {
    for (std::size_t c = 0; c < layout.channels; ++c) {
      const float factor = factors[c];
      for (std::size_t k = 0; k < layout.inner; ++k, ++element) *element = op(*element, factor);
    }
  }
  return status;
}

// gamma / sqrt(var + epsilon) per channel, in double before rounding to float.
std::vector<float> BatchNormMultiplier(const BatchNormParams& bn) {
  std::vector<float> multiplier(bn.gamma.size());
  for (std::size_t c = 0; c < multiplier.size(); ++c) {
    const double sigma = std::sqrt(static_cast<double>(bn.var[c]) + static_cast<double>(bn.epsilon));
    multiplier[c] = static_cast<float>(static_cast<double>(bn.gamma[c]) / sigma);
  }
  return multiplier;
}

}  // namespace

EqualizationStatus CheckAxisLayout(std::size_t data_size, std::span<const int64_t> dims, int axis) {
  if (axis < 0 || static_cast<std::size_t>(axis) >= dims.size()) {
    return EqualizationStatus::Error(
        EqualizationError::kInvalidShape,
        "axis " + std::to_string(axis) + " is outside the rank of dims " + DimsToString(dims));
  }
  std::size_t product = 1;
  bool overflow = false;
  for (const int64_t extent : dims) {
    if (extent < 0) {
      return EqualizationStatus::Error(EqualizationError::kInvalidShape,
                                       "negative extent in dims " + DimsToString(dims));
    }
    const auto size = static_cast<std::size_t>(extent);
    if (size != 0 && product > std::numeric_limits<std::size_t>::max() / size) overflow = true;
    product *= size;
  }
  if (overflow || product != data_size) {
    return EqualizationStatus::Error(EqualizationError::kSizeMismatch, "tensor has " + std::to_string(data_size) +
                                                                           " values but dims " + DimsToString(dims) +
                                                                           " describe a different count");
  }
  return {};
}

EqualizationStatus ScaleAlongAxis(std::span<float> data, std::span<const int64_t> dims, int axis,
                                  std::span<const float> scale) {
  return ApplyAlongAxis(data, dims, axis, scale, [](float value, float factor) { return value * factor; });
}

EqualizationStatus DivideAlongAxis(std::span<float> data, std::span<const int64_t> dims, int axis,
                                   std::span<const float> divisor) {
  return ApplyAlongAxis(data, dims, axis, divisor, [](float value, float factor) { return value / factor; });
}

std::vector<float> AbsMaxAlongAxis(std::span<const float> data, std::span<const int64_t> dims, int axis) {
  if (!CheckAxisLayout(data.size(), dims, axis).ok()) return {};
  const AxisLayout layout = LayoutAround(dims, axis);
  std::vector<float> range(layout.channels, 0.0F);
  const float* element = data.data();
  for (std::size_t o = 0; o < layout.outer; ++o) {
    for (std::size_t c = 0; c < layout.channels; ++c) {
      for (std::size_t k = 0; k < layout.inner; ++k, ++element) range[c] = std::max(range[c], std::fabs(*element));
    }
  }
  return range;
}

std::vector<float> ChannelMajorCopy(std::span<const float> data, std::span<const int64_t> dims, int axis) {
  if (!CheckAxisLayout(data.size(), dims, axis).ok()) return {};
  const AxisLayout layout = LayoutAround(dims, axis);
  const std::size_t row_size = layout.outer * layout.inner;
  std::vector<float> rows(data.size());
  const float* element = data.data();
  for (std::size_t o = 0; o < layout.outer; ++o) {
    for (std::size_t c = 0; c < layout.channels; ++c) {
      for (std::size_t k = 0; k < layout.inner; ++k, ++element) rows[c * row_size + o * layout.inner + k] = *element;
    }
  }
  return rows;
}

std::vector<float> SumOverOtherAxes(std::span<const float> data, std::span<const int64_t> dims, int row_axis,
                                    int col_axis) {
  if (row_axis == col_axis || !CheckAxisLayout(data.size(), dims, row_axis).ok() ||
      !CheckAxisLayout(data.size(), dims, col_axis).ok()) {
    return {};
  }
  const auto rows = static_cast<std::size_t>(dims[static_cast<std::size_t>(row_axis)]);
  const auto cols = static_cast<std::size_t>(dims[static_cast<std::size_t>(col_axis)]);
  std::vector<double> sums(rows * cols, 0.0);
  // Walk the elements in order with a multi-index; only the row and column coordinates matter.
  std::vector<std::size_t> index(dims.size(), 0);
  const auto row_dim = static_cast<std::size_t>(row_axis);
  const auto col_dim = static_cast<std::size_t>(col_axis);
  for (const float value : data) {
    sums[index[row_dim] * cols + index[col_dim]] += static_cast<double>(value);
    for (std::size_t d = dims.size(); d-- > 0;) {
      if (++index[d] < static_cast<std::size_t>(dims[d])) break;
      index[d] = 0;
    }
  }
  return {sums.begin(), sums.end()};
}

EqualizationStatus CheckBatchNormParams(const BatchNormParams& bn) {
  const std::size_t channels = bn.gamma.size();
  if (bn.beta.size() != channels || bn.mean.size() != channels || bn.var.size() != channels) {
    return EqualizationStatus::Error(EqualizationError::kSizeMismatch,
                                     "BatchNormalization parameters differ in size: scale " + std::to_string(channels) +
                                         ", B " + std::to_string(bn.beta.size()) + ", mean " +
                                         std::to_string(bn.mean.size()) + ", var " + std::to_string(bn.var.size()));
  }
  for (std::size_t c = 0; c < channels; ++c) {
    const double variance = static_cast<double>(bn.var[c]) + static_cast<double>(bn.epsilon);
    if (!std::isfinite(variance) || variance <= 0.0) {
      return EqualizationStatus::Error(EqualizationError::kInvalidValue,
                                       "BatchNormalization var + epsilon must be finite and > 0, channel " +
                                           std::to_string(c) + " has " + std::to_string(variance));
    }
  }
  return {};
}

EqualizationStatus FoldBatchNorm(std::span<float> weight, std::span<const int64_t> dims, int out_axis,
                                 std::vector<float>& bias, const BatchNormParams& bn) {
  EqualizationStatus status = CheckBatchNormParams(bn);
  if (!status.ok()) return status;
  status = CheckAxisLayout(weight.size(), dims, out_axis);
  if (!status.ok()) return status;
  const auto channels = static_cast<std::size_t>(dims[static_cast<std::size_t>(out_axis)]);
  if (bn.gamma.size() != channels) {
    return EqualizationStatus::Error(EqualizationError::kSizeMismatch,
                                     "BatchNormalization has " + std::to_string(bn.gamma.size()) +
                                         " channels but the weight has " + std::to_string(channels) +
                                         " output channels (dims " + DimsToString(dims) + ", axis " +
                                         std::to_string(out_axis) + ")");
  }
  if (!bias.empty() && bias.size() != channels) {
    return EqualizationStatus::Error(
        EqualizationError::kSizeMismatch,
        "bias has " + std::to_string(bias.size()) + " values, expected " + std::to_string(channels));
  }
  const std::vector<float> multiplier = BatchNormMultiplier(bn);
  status = ScaleAlongAxis(weight, dims, out_axis, multiplier);
  if (!status.ok()) return status;
  bias.resize(channels, 0.0F);
  for (std::size_t c = 0; c < channels; ++c) {
    bias[c] = bn.beta[c] + (bias[c] - bn.mean[c]) * multiplier[c];
  }
  return status;
}

EqualizationStatus BatchNormAsDepthwise(const BatchNormParams& bn, std::vector<float>& weight,
                                        std::vector<float>& bias) {
  EqualizationStatus status = CheckBatchNormParams(bn);
  if (!status.ok()) return status;
  weight = BatchNormMultiplier(bn);
  bias.resize(weight.size());
  for (std::size_t c = 0; c < weight.size(); ++c) bias[c] = bn.beta[c] - bn.mean[c] * weight[c];
  return status;
}

}  // namespace onnxq
