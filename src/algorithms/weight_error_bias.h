// The mean output error a layer's weight quantization causes, from the mean of its input: the bias
// correction of DFQ (Nagel et al. 2019, section 4.2) with the input's expectation measured while
// calibrating instead of derived from batch-norm statistics, so it costs no extra pass over the data.
//
// For a layer y = W * x + b (a convolution or a matrix product) with quantized weight W~, the output
// error is (W - W~) * x; its expectation over the data, per output channel o, is
//
//   d_o = sum over input channels c of the group of o, and kernel taps t:
//           (W - W~)[o, c, t] * E[x_c] * coverage(t)
//
// where E[x_c] is the mean of input channel c over samples and positions and coverage(t) the
// fraction of output positions at which tap t reads the input rather than zero padding (1 for a
// matrix product). Adding d to the bias makes the quantized layer's output right on average:
// b' = b + d. It assumes E[x_c] does not vary with the position, which padding aside is what a mean
// over all positions gives.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace onnxq {

// Per-tap coverage along one spatial axis: for each of `kernel` taps, the fraction of the `out`
// output positions (stride, dilation, `pad_begin` zeros before the input) whose tap lands inside
// the `in` input positions. Empty when a size is not positive.
std::vector<double> TapCoverage(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t pad_begin,
                                int64_t dilation);

// The coverage of each tap of a kernel with several spatial axes (row-major over the axes): the
// product of the per-axis coverages.
std::vector<double> KernelCoverage(std::span<const std::vector<double>> per_axis);

// The layer's weight laid out [out_channels, in_channels / groups, taps], float and dequantized.
struct LayerWeights {
  std::span<const float> weight;
  std::span<const float> dequantized;
  int64_t out_channels = 0;
  int64_t groups = 1;
  int64_t taps = 1;
};

// d_o above for each output channel; `input_means` has in_channels values (in_channels / groups a
// group), `coverage` one value a tap or is empty for 1 everywhere. Empty when the sizes disagree.
std::vector<float> WeightErrorBias(const LayerWeights& layer, std::span<const float> input_means,
                                   std::span<const double> coverage);

}  // namespace onnxq
