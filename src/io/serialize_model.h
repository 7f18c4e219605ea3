// A model's bytes for the runtime or a file, in a buffer on fresh memory mapped in bulk
// (common/fresh_memory.h): a quantized model of hundreds of MB serialized page fault by page fault
// costs seconds on a virtual machine.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

namespace onnxq {

// SerializeToString of `model` into the empty `bytes`; false when the model is over protobuf's 2 GB.
bool SerializeOnFreshMemory(const onnx::ModelProto& model, std::string* bytes);

}  // namespace onnxq
