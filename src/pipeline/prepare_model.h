// Makes a loaded model ready for calibration and quantization. The steps, in order:
//   1. constants_to_initializers  Constant weights become initializers
//   2. opset upgrade              to 13 when the model is older than min_opset (Q/DQ needs 10,
//                                 per-channel axes 13)
//   3. shape inference            convert_bn_to_conv needs ranks
//   4. eliminate_identity         always (Identity of parameters hides batch norms from folding)
//   5. fold_batch_norm            always, as ONNX Runtime's pre-processing does; records the batch
//                                 norms' gamma and beta for step 9
//   6. convert_bn_to_conv         PassOptions::convert_bn_to_conv (ConvertBNToConv)
//   7. replace_clip6_with_relu    PassOptions::replace_clip6_relu (ReplaceClip6Relu)
//   8. equalize_cross_layer       PassOptions::include_cle (CLESteps, CLEScaleAppendBias, ...)
//   9. absorb_high_bias           PassOptions::high_bias_absorption
//  10. shape inference            again, for the rewritten graph
// Bias correction (PassOptions::bias_correction) needs the quantized model and runs after
// materialization (pipeline/quantize.cc).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "onnxq/options.h"
#include "onnxq/status.h"

namespace onnxq {

struct PrepareOptions {
  int64_t min_opset = 10;  // 13 when per-channel weights are asked for
  PassOptions passes;
};

struct PrepareReport {
  int64_t opset_before = 0;
  int64_t opset_after = 0;
  std::vector<std::string> notes;
};

// The graph passes PrepareModel runs for these options, in order (steps 1 and 4-9 above).
std::vector<std::string> PreparePassIds(const PassOptions& options);

Result<PrepareReport> PrepareModel(onnx::ModelProto& model, const PrepareOptions& options);

// ONNX shape inference; failures on single nodes are tolerated (their outputs stay untyped).
Status InferShapes(onnx::ModelProto& model);

}  // namespace onnxq
