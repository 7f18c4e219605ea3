// Makes a loaded model ready for calibration and quantization. The steps, in order:
//   1. opset and IR checks        every graph output defined (CheckGraphOutputs); spatial attributes
//                                 >= 1 (CheckInferenceAttributes); opset >= 7 (the oldest ONNX Runtime
//                                 runs) and IR version >= 4
//                                 (raised from 3: new initializers need not be graph inputs). Opset
//                                 7-9 is raised to 10, the first with Q/DQ: by relabelling when no
//                                 op changes meaning in between, else by ONNX's version converter.
//                                 Nothing is converted from 10 on: a model below min_opset (13 for
//                                 per-channel) gets ONNX Runtime's com.microsoft Q/DQ instead
//                                 (PrepareReport::qdq_domain)
//   2. sort_topologically         nodes (and subgraphs' nodes) in an order every reader accepts
//   3. rename_duplicate_nodes     node names unique per graph (ONNX Runtime refuses duplicates)
//   4. constants_to_initializers  Constant weights become initializers
//   5. fold_weight_casts          Cast(to=FLOAT) of float16 / bfloat16 / double weights -> float32
//   6. convert_float16_to_float   only when the model computes in float16
//   7. float interface            float16 graph inputs and outputs a Cast away from float32 become
//                                 float32 for calibration (PrepareReport::float16_interface; the
//                                 pipeline restores them after materialization)
//   8. shape inference            convert_bn_to_conv needs ranks, steps 12-14 and 18 shapes; a failure
//                                 is a note, not an error
//   9. eliminate_identity         always (Identity of parameters hides batch norms from folding);
//                                 then, always, fold_shape_computations, unshare_biases and
//                                 crop_padding_taps (taps of dilated Convs that read only padding)
//  10. fold_batch_norm            PassOptions::fold_batch_norm (FoldBatchNorm, on by default, as ONNX
//                                 Runtime's pre-processing does); records the batch norms' gamma and
//                                 beta for step 17
//  11. convert_bn_to_conv         PassOptions::convert_bn_to_conv (ConvertBNToConv)
//  12. convert_reduce_mean_to_gap PassOptions::convert_reduce_mean_to_gap (ConvertReduceMeanToGlobalAvgPool)
//  13. split_large_kernel_pool    PassOptions::split_large_kernel_pool (SplitLargeKernelPool); after 12,
//                                 so that a ReduceMean made a GlobalAveragePool is split too
//  14. convert_split_to_slice     PassOptions::convert_split_to_slice (ConvertSplitToSlice)
//  15. replace_clip6_with_relu    PassOptions::replace_clip6_relu (ReplaceClip6Relu)
//  16. equalize_cross_layer       PassOptions::include_cle (CLESteps, CLEScaleAppendBias, ...)
//  17. absorb_high_bias           PassOptions::high_bias_absorption
//  18. simulate_dpu               PassOptions::simulate_dpu (SimulateDPU, PassOptions::dpu); last, so that
//                                 the pools step 13 made get the DPU's multipliers
//  19. shape inference            again, for the rewritten graph
// Bias correction (PassOptions::bias_correction) needs the quantized model and runs after
// materialization (pipeline/quantize.cc).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "onnxq/options.h"
#include "onnxq/status.h"
#include "passes/convert_float16_to_float.h"
#include "quantizer/quant_plan.h"

namespace onnxq {

struct PrepareOptions {
  // The opset whose QuantizeLinear / DequantizeLinear the format needs: 10 per-tensor, 13 per-channel.
  // A model at opset 10 or newer is never converted: below min_opset its Q/DQ come from com.microsoft.
  int64_t min_opset = 10;
  PassOptions passes;
};

struct PrepareReport {
  int64_t opset_before = 0;  // of the default domain
  int64_t opset_after = 0;   // differs only for opset 7-9, raised to 10
  QdqDomain qdq_domain = QdqDomain::kOnnx;
  Float16Interface float16_interface;  // to restore once the model is quantized
  std::vector<std::string> notes;
};

// The graph passes PrepareModel runs for these options, in order (steps 2-6 and 9-18 above).
std::vector<std::string> PreparePassIds(const PassOptions& options);

Result<PrepareReport> PrepareModel(onnx::ModelProto& model, const PrepareOptions& options);

}  // namespace onnxq
