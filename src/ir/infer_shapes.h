// ONNX shape inference, guarded against the inputs on which ONNX's own (libonnx 1.12, as Debian 12
// ships it) crashes instead of failing:
//   - attributes it divides by or sizes with: strides, dilations and kernel_shape of Conv, ConvTranspose,
//     ConvInteger, QLinearConv and the pools must be >= 1 (a zero stride is a SIGFPE). Checked on the
//     graph before inference, an InvalidModel that names the node (CheckInferenceAttributes).
//   - nodes the ONNX checker would refuse, and input shapes that disagree with each other, which may
//     only show once inference has given the inputs their shapes. Inference runs through a schema
//     registry whose schemas check each node first: a node that fails the check fails its own
//     inference, which is tolerated like any other node's failure (its outputs stay untyped).
//       every op           as many inputs and outputs as its schema admits, every required attribute,
//                          each attribute of the schema's type (inference functions read required
//                          attributes through a pointer they do not check)
//       Conv, ConvInteger  input 1 (the weight) has as many axes as input 0: convPoolShapeInference
//       QLinearConv        takes the kernel's axes from the weight and reads the input's at the same
//                          axes. For QLinearConv, inputs 3 and 0.
//       Scan               num_scan_inputs in [1, inputs]: inference subtracts it from the input count
//                          as an unsigned number
#pragma once

#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include "onnxq/status.h"

namespace onnxq {

// InvalidModel naming the first node, at any depth, with a spatial attribute below 1.
Status CheckInferenceAttributes(const onnx::GraphProto& graph);

// ONNX shape inference (types and shapes into value_info); failures on single nodes are tolerated (their
// outputs stay untyped). Fails with InvalidModel when CheckInferenceAttributes does or inference gives up
// on the whole model.
Status InferShapes(onnx::ModelProto& model);

// ONNX's schema registry, with every schema that infers shapes checking its node as above first.
// Thread-safe; lives as long as the process.
const onnx::ISchemaRegistry& GuardedSchemaRegistry();

}  // namespace onnxq
