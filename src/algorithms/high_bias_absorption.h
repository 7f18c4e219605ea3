// High-bias absorption (DFQ, Nagel et al. 2019; AIMET HighBiasFold). Pure math, no graph.
//
// A head layer whose output was batch-normalized has pre-activations h_i ~ N(beta_i, gamma_i^2), with
// gamma and beta from the BN that was folded into it. Through a Relu, for every h_i >= c_i
//     relu(h_i - c_i) = relu(h_i) - c_i
// so part of the head bias can move into the tail:
//     b_head' = b_head - c
//     b_tail'[o] = b_tail[o] + sum_i (sum_spatial W_tail[o, i, ...]) * c_i      (dense tail)
//     b_tail'[i] = b_tail[i] + (sum_spatial W_tail[i, 0, ...]) * c_i             (depthwise tail)
// with c_i = max(0, beta_i - 3 |gamma_i|), which keeps h_i >= c_i for ~99.87% of a Gaussian's mass.
// Without an activation in between the whole of beta moves (exactly).
//
// Exactness caveats for the graph code: the tail sum is exact for Gemm / MatMul tails and for Conv tails
// without padding; zero padding at the borders sees 0 instead of -c_i, and a strided ConvTranspose
// tail adds a varying number of kernel taps per output position, so both are approximations.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "algorithms/batch_norm_fold.h"

namespace onnxq {

// Which activation sits between head and tail. kRelu covers any activation that is the identity on
// [0, inf) (Relu; PRelu / LeakyRelu agree there too). kNone means no activation at all: other
// nonlinearities must not be absorbed through.
enum class ActivationBetween { kNone, kRelu };

struct AbsorbOptions {
  ActivationBetween activation = ActivationBetween::kRelu;
  // Number of standard deviations kept below the absorbed amount (AIMET and DFQ use 3).
  float num_std = 3.0F;
};

// Rescales the BN statistics of the head's output after CLE changed the head: gamma_i *= f_i and
// beta_i *= f_i, where f_i is the factor the head's output channel i was MULTIPLIED by:
//   pair (ApplyPairScales, head *= s):               f = s
//   triplet head (ApplyTripletScales, head /= s12):  f = 1 / s12
//   triplet depthwise as the head of the next pair:  f = 1 / s23
// (AIMET writes this as gamma / S, beta / S with its S = 1 / s.)
EqualizationStatus ScaleBatchNormStats(std::span<float> gamma, std::span<float> beta,
                                       std::span<const float> output_scale);

// The BN statistics of the head's output after `absorbed` left its bias (AbsorbHighBias): the output,
// and so its mean, moves down by c: beta_i -= c_i.
EqualizationStatus ShiftBatchNormMeans(std::span<float> beta, std::span<const float> absorbed);

// c_i = max(0, beta_i - num_std * |gamma_i|) with a Relu between, c = beta without an activation.
// Empty when the sizes differ.
std::vector<float> AbsorbableBias(std::span<const float> beta, std::span<const float> gamma,
                                  const AbsorbOptions& options = {});

// How the tail uses the head's channels.
enum class TailKind {
  kDense,      // every output channel reads every input channel (group 1 Conv, Gemm, ConvTranspose)
  kDepthwise,  // output channel i reads only input channel i (weight [C, 1, k...], in_axis extent 1)
};

// Axes of the tail weight. Conv [O, I, k...]: in 1, out 0 (the default); Gemm transB=0 [K, N]: in 0,
// out 1; Gemm transB=1 [N, K]: in 1, out 0; ConvTranspose [I, O, k...]: in 0, out 1.
struct TailLayout {
  int in_axis = 1;
  int out_axis = 0;
  TailKind kind = TailKind::kDense;
};

// head_bias -= absorbed and the tail bias gains the absorbed amount pushed through the tail weight (see
// the file comment). `tail_bias` may be empty (the tail had none): it is then created as zeros. Sizes
// must agree: absorbed and head_bias have one value per shared channel, which is dims[in_axis] for a
// dense tail and dims[out_axis] (with dims[in_axis] == 1) for a depthwise one.
EqualizationStatus AbsorbHighBias(std::span<const float> absorbed, std::span<float> head_bias,
                                  std::span<const float> tail_weight, std::span<const int64_t> tail_dims,
                                  const TailLayout& layout, std::vector<float>& tail_bias);

}  // namespace onnxq
