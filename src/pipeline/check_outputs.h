// The output check, the last step of a quantization (OutputCheckOptions): the quantized model runs on
// a few samples, and each float graph output is compared with the float model's over all its values:
// SQNR and cosine similarity (algorithms/sqnr.h). An output below the SQNR threshold gets a warning
// that names it, its SQNR and what to try. Running the quantized model also proves that it runs in
// ONNX Runtime: one that does not is an error, so it is never written.
//
// Samples: the runs of calibration that hold the first 8 samples (or OutputCheckSamples), fewer when
// they take more than 4 MiB of inputs (one 1024 x 1024 image). Calibration keeps them with the float
// model's outputs on them (RunCapture), so the float model does not run again; where it cannot (an
// output of a batched rewrite that cannot be cut by sample) it keeps their inputs, and the float model
// runs on them (RunFloatReference). A table brings no data: the check then runs on random inputs.
//
// The check guards against a broken quantization; it is no accuracy evaluation: 8 samples of a
// 10-class classifier give 80 value pairs, one 1024 x 1024 mask a million, and an SQNR below 10 dB
// (an error a third of the signal) shows on either. Its cost is the quantized model's session and
// runs (bench/RESULTS.md).
#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <string>

#include "calibration/collect_statistics.h"
#include "calibration/inference_backend.h"
#include "onnxq/options.h"
#include "onnxq/quantize.h"
#include "onnxq/status.h"

namespace onnxq {

struct OutputCheck {
  ReferenceRuns reference;  // the runs, with the float model's outputs once they are known
  CheckData origin = CheckData::kCalibration;
  std::map<std::string, std::string> producers;  // graph output -> the node writing it in the float model
};

// What calibration keeps for the check, into `runs` (samples 0 when the check is off).
RunCapture CheckCapture(const OutputCheckOptions& options, ReferenceRuns* runs);

// Random runs (RandomDataOptions of `options`) when no data was read: a quantization from a table.
Result<OutputCheck> RandomCheckRuns(const onnx::ModelProto& model, const QuantizeOptions& options);

// Graph output -> NodeLabel of the node that computes it in `model`'s main graph (behind any Casts;
// empty when no node does).
std::map<std::string, std::string> OutputProducers(const onnx::ModelProto& model);

// The float model's float graph outputs on the inputs of `runs` (cut into the model's fixed batch), in
// a session of `backend`. RuntimeError when the float model does not load or run.
Result<ReferenceRuns> RunFloatReference(const InferenceBackend& backend, const onnx::ModelProto& float_model,
                                        const ReferenceRuns& runs);

// Runs `quantized` in a session of `backend` on the reference's runs and compares each output: one
// OutputAccuracy each, in graph order, without warnings. Internal when the quantized model does not
// load or run, or gives an output of another type or shape.
Result<std::vector<OutputAccuracy>> CompareWithReference(const InferenceBackend& backend,
                                                         const ReferenceRuns& reference,
                                                         const onnx::ModelProto& quantized);

// CompareWithReference into `report` (outputs, output_check_samples and _data), with a warning for
// every output whose SQNR is below options.output_check.sqnr_threshold_db, in report.warnings too.
// Nothing runs when there are no runs.
Status CheckOutputs(const InferenceBackend& backend, const OutputCheck& check, const onnx::ModelProto& quantized,
                    const QuantizeOptions& options, QuantizeReport& report);

}  // namespace onnxq
