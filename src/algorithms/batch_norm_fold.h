// Batch-normalization folding, plus the per-channel tensor primitives that all the equalization math
// (batch_norm_fold, cross_layer_scales, high_bias_absorption) is written in. Pure math, no graph.
//
// Tensors are dense row-major float arrays with explicit dims. A "channel axis" selects which index of
// the weight is the channel being folded / scaled; the graph code picks it from the op:
//   Conv           W [Cout, Cin/group, k...]   output channel axis 0, input channel axis 1
//   ConvTranspose  W [Cin, Cout/group, k...]   output channel axis 1 (group 1), input channel axis 0
//   Gemm transB=0  B [K, N]                    output channel axis 1, input channel axis 0
//   Gemm transB=1  B [N, K]                    output channel axis 0, input channel axis 1
//   depthwise Conv W [C, 1, k...]              its one channel is axis 0 (input and output)
//
// Errors: every function that can fail because of a property of the user's model (sizes that do not
// agree, an axis outside the rank, a negative variance) returns an EqualizationStatus and leaves its
// outputs untouched on failure. Functions that return a vector return an empty vector for an invalid
// layout; the Apply / Fold functions that consume such a vector then report the mismatch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace onnxq {

enum class EqualizationError { kNone, kInvalidShape, kSizeMismatch, kInvalidValue };

// Outcome of an equalization primitive. The message says what was found and what was expected; the
// graph code prefixes it with the node and tensor names.
class [[nodiscard]] EqualizationStatus {
 public:
  EqualizationStatus() = default;
  static EqualizationStatus Error(EqualizationError code, std::string message) {
    EqualizationStatus status;
    status.code_ = code;
    status.message_ = std::move(message);
    return status;
  }

  bool ok() const { return code_ == EqualizationError::kNone; }
  EqualizationError code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  EqualizationError code_ = EqualizationError::kNone;
  std::string message_;
};

// A mutable weight tensor: row-major data and its dims (owned, so a view never dangles on its dims).
struct WeightView {
  std::span<float> data = {};
  std::vector<int64_t> dims = {};
};

// ---------------------------------------------------------------------------------------------------
// Per-channel primitives.

// Ok when dims are non-negative, their product equals data_size and 0 <= axis < rank.
EqualizationStatus CheckAxisLayout(std::size_t data_size, std::span<const int64_t> dims, int axis);

// data[..., i, ...] *= scale[i] for every slice i along `axis`. Requires scale.size() == dims[axis].
EqualizationStatus ScaleAlongAxis(std::span<float> data, std::span<const int64_t> dims, int axis,
                                  std::span<const float> scale);
// data[..., i, ...] /= divisor[i] (a true division, not a multiplication by the reciprocal).
EqualizationStatus DivideAlongAxis(std::span<float> data, std::span<const int64_t> dims, int axis,
                                   std::span<const float> divisor);

// Per-channel range: result[i] = max |data[..., i, ...]| (0 for an empty slice). Empty if the layout is
// invalid.
std::vector<float> AbsMaxAlongAxis(std::span<const float> data, std::span<const int64_t> dims, int axis);

// Copy of data with `axis` moved to the front and the other axes flattened in order: row-major
// [dims[axis], size / dims[axis]]. Row i holds every element of channel i. Empty if the layout is invalid.
std::vector<float> ChannelMajorCopy(std::span<const float> data, std::span<const int64_t> dims, int axis);

// Sums over every axis except `row_axis` and `col_axis` (accumulated in double). The result is row-major
// [dims[row_axis], dims[col_axis]] even when col_axis < row_axis. For a Conv weight [O, I, kh, kw] with
// row_axis 0, col_axis 1 it is the spatial sum M[o, i] = sum_hw W[o, i, h, w]; for Gemm B [K, N] with
// row_axis 1, col_axis 0 it is B transposed.
// Empty if the layout is invalid or row_axis == col_axis.
std::vector<float> SumOverOtherAxes(std::span<const float> data, std::span<const int64_t> dims, int row_axis,
                                    int col_axis);

// ---------------------------------------------------------------------------------------------------
// Batch normalization: y = gamma * (x - mean) / sigma + beta, sigma = sqrt(var + epsilon).

struct BatchNormParams {
  std::vector<float> gamma;
  std::vector<float> beta;
  std::vector<float> mean;
  std::vector<float> var;
  float epsilon = 1e-5F;  // ONNX BatchNormalization default.
};

// Ok when all four vectors have the same size and every var + epsilon is finite and > 0.
EqualizationStatus CheckBatchNormParams(const BatchNormParams& bn);

// Backward fold of a BN that follows a Conv / ConvTranspose / Gemm (AIMET BatchNormFold "backward"):
//   W'[.., o, ..] = W[.., o, ..] * gamma_o / sigma_o          (o indexes `out_axis`)
//   b'_o          = beta_o + (b_o - mean_o) * gamma_o / sigma_o
// `bias` may be empty (the layer had none): it is then created as zeros of size dims[out_axis].
// Preconditions the graph code checks: `out_axis` indexes output channels one to one (so no grouped
// ConvTranspose except a depthwise one, whose output channel is axis 0).
EqualizationStatus FoldBatchNorm(std::span<float> weight, std::span<const int64_t> dims, int out_axis,
                                 std::vector<float>& bias, const BatchNormParams& bn);

// A stand-alone BN as a depthwise 1x1 Conv (Quark ConvertBNToConv): weight_c = gamma_c / sigma_c,
// bias_c = beta_c - mean_c * weight_c. `weight` gets C values; the graph code gives it dims [C, 1, 1, 1]
// (one trailing 1 per spatial axis of the input) and sets group = C.
EqualizationStatus BatchNormAsDepthwise(const BatchNormParams& bn, std::vector<float>& weight,
                                        std::vector<float>& bias);

}  // namespace onnxq
