#pragma once

#include "passes/graph_pass.h"

namespace onnxq {

// split_large_kernel_pool: a GlobalAveragePool over more values per channel than the DPU averages in one
// go (kDpuMaxGlobalPoolSize, 512) becomes an AveragePool over blocks followed by a GlobalAveragePool
// over the block means (vai_q_onnx / Quark SplitLargeKernelPool; one split level).
//
//   Before:  y = GlobalAveragePool(x)                                  x: [N, C, H, W], H W > 512
//   After:   t = AveragePool<kernel_shape = strides = [kh, kw]>(x);  y = GlobalAveragePool(t)
//            kh = f(H), kw = f(W); f(n) = the largest factor of n that is <= sqrt(n)
//            (LargestFactorUpToRoot; 32 x 32: 4 x 4 blocks, then a pool over 8 x 8)
//
//   t[n, c, i, j] = 1 / (kh kw) sum of block (i, j);  y = 1 / ((H / kh) (W / kw)) sum_{i, j} t = mean of x
//
// kh and kw divide H and W, so the blocks tile x without padding and hold kh kw values each: the
// function is the same up to float rounding. The block pool (and the second pool, when it still holds
// more than 512 values) is not split further.
//
// Preconditions: default domain; the input's rank 4 and H, W known (shape inference); kh kw > 1 (when
// H and W are both prime there is nothing to split: the pool stays with a note). The new tensor t gets
// value_info [N, C, H / kh, W / kw], so that later passes (simulate_dpu's multipliers) know the second
// pool's size without another shape inference.
class SplitLargeKernelPoolPass final : public GraphPass {
 public:
  std::string_view name() const override { return "split_large_kernel_pool"; }
  std::string_view summary() const override {
    return "GlobalAveragePool over > 512 values -> AveragePool over blocks + GlobalAveragePool (SplitLargeKernelPool)";
  }
  Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const override;
};

}  // namespace onnxq
