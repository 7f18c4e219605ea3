// Calibrating a model exported with a fixed batch of 1 one sample at a time pays the runtime's
// per-run cost on every sample. Most such graphs are batch-independent, so onnxq runs them with a
// symbolic batch axis instead, after checking on the first batch that every calibrated tensor matches
// single-sample runs (CollectStatistics does the check and falls back when it fails).
#pragma once

#include <onnx/onnx_pb.h>

namespace onnxq {

// True when every graph input has a fixed batch (axis 0) of 1.
bool HasFixedBatchOfOne(const onnx::ModelProto& model);

// The model with axis 0 of every graph input and output made symbolic and intermediate shapes
// dropped (the runtime infers them again).
onnx::ModelProto WithSymbolicBatch(const onnx::ModelProto& model);

}  // namespace onnxq
