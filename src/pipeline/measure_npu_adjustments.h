#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <string>

#include "calibration/collect_statistics.h"
#include "calibration/inference_backend.h"
#include "onnxq/calibrate.h"
#include "onnxq/quantize.h"
#include "quantizer/quant_plan.h"

namespace onnxq {

// The SQNR of each activation that NPULimitationCheck moved, at its old and its new position. From
// the calibration histogram over every calibration value where its range carries both positions
// (TensorRange::sqnr_db_by_pos, power-of-two MinMSE); otherwise measured on the float model's values of
// that tensor over the first two of the output check's runs (`runs`, their inputs), in a session
// without graph optimizations (the quickest to make). A tensor the engine cannot hand back keeps NaN.
// `float_model` is the prepared model before Q/DQ.
Status MeasureActivationAdjustments(const InferenceBackend& backend, const onnx::ModelProto& float_model,
                                    const std::map<std::string, TensorRange>& ranges, const ReferenceRuns& runs,
                                    const QuantPlan& plan, NpuRefinementReport* report);

}  // namespace onnxq
