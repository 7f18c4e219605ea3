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
//   Before:  y = Sigmoid(x)                                                  (sigmoid)
//   After:   y = HardSigmoid<alpha = 1/6, beta = 0.5>(x)   = clip(x / 6 + 0.5, 0, 1)
//
//   Before:  y = HardSigmoid<alpha = 1/6, beta>(x)                           (hard_sigmoid)
//   After:   t = HardSigmoid<alpha = 1/6, beta>(x);  y = Mul(t, 1.0001220703125)
//                                                       (2731/16384) / (1/6) = 8193 / 8192
//
//   Before:  y = HardSwish(x)                  = x * HardSigmoid<1/6, 0.5>(x)  (hard_sigmoid)
//   After:   t = HardSigmoid<alpha = 1/6, beta = 0.5>(x);  g = Mul(t, 1.0001220703125);  y = Mul(x, g)
//
// Sigmoid -> HardSigmoid changes the function (by up to 0.069, at |x| = 1.32; the tails saturate from
// |x| = 3): it is what the DPU computes, and the HardSigmoid made here gets the DPU's 1/6 too when
// hard_sigmoid is on. Every HardSigmoid of alpha 1/6 (IsDpuHardSigmoidAlpha: up to float printing) shares one scale
// initializer; other alphas stay. A correction of exactly 1 (2x2, 4x4 windows) adds nothing.
//
// Preconditions: default domain; AveragePool with a two-dimensional kernel; GlobalAveragePool and
// ReduceMean whose input's reduced dims are known (shape inference), else left with a note;
// ReduceMean's axes as an attribute or a constant input; Sigmoid, HardSigmoid and HardSwish with one
// input whose type is float32 or unrecorded (the scale is a float32 initializer). Each Mul writes the
// rewritten node's old output, so readers and value_info stay valid; the node list keeps its order.
// Counted changes: one per alpha, scaled average, Sigmoid converted, HardSigmoid scaled and HardSwish
// rewritten (a Sigmoid made a scaled HardSigmoid counts twice).
class SimulateDpuPass final : public GraphPass {
 public:
  explicit SimulateDpuPass(SimulateDpuOptions options = {}) : options_(options) {}
  std::string_view name() const override { return "simulate_dpu"; }
  std::string_view summary() const override {
    return "use an AMD DPU's LeakyRelu alpha, average multipliers and HardSigmoid (SimulateDPU)";
  }
  Result<PassReport> Run(onnx::ModelProto& model, PassContext& context) const override;

 private:
  SimulateDpuOptions options_;
};

}  // namespace onnxq
