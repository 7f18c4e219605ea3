// Models written in ONNX text syntax (onnx::OnnxParser), for tests.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

namespace onnxq::testing {

// The model `text` describes; a parse error fails the calling test.
onnx::ModelProto ParseModelText(const std::string& text);

}  // namespace onnxq::testing
