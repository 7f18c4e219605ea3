#pragma once

#include "onnxq/options.h"
#include "passes/graph_pass.h"

namespace onnxq {

// simulate_dpu: the float constants an AMD DPU / NPU approximates are replaced by the hardware's, so
// that the quantized model computes what the NPU computes (vai_q_onnx / Quark SimulateDPU; the constants
// and their derivation: algorithms/dpu_approximations.h). Each rewrite can be turned off
// (SimulateDpuOptions, onnxq/options.h).
//
//   Before:  y = LeakyRelu<alpha = 0.1>(x)
//   After:   y = LeakyRelu<alpha = 0.1015625>(x)                            (26 / 256)
//
//   Before:  y = AveragePool<kernel_shape = [3, 3]>(x)
//   After:   t = AveragePool<kernel_shape = [3, 3]>(x);  y = Mul(t, 0.984375)  (9 x 7 / 64)
//
//   Before:  y = GlobalAveragePool(x)        x: [N, C, 7, 7]
//   After:   t = GlobalAveragePool(x);  y = Mul(t, 1.0048828125)             (49 x 21 / 1024)
//
//   Before:  y = ReduceMean<axes>(x)         the reduced dims of x known, n values each
//   After:   t = ReduceMean<axes>(x);  y = Mul(t, n M / 2^N)                 (DpuMeanMultiplier(n))
//
// A correction of exactly 1 (2x2, 4x4 windows) adds nothing. Preconditions: default domain; AveragePool
// with a two-dimensional kernel; GlobalAveragePool and ReduceMean whose input's reduced dims are known
// (shape inference), else left with a note; ReduceMean's axes as an attribute or a constant input.
class SimulateDpuPass final : public GraphPass {
 public:
  explicit SimulateDpuPass(SimulateDpuOptions options = {}) : options_(options) {}
  std::string_view name() const override { return "simulate_dpu"; }
  std::string_view summary() const override {
    return "use an AMD DPU's LeakyRelu alpha and average multipliers (SimulateDPU)";
  }
  Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const override;

 private:
  SimulateDpuOptions options_;
};

}  // namespace onnxq
