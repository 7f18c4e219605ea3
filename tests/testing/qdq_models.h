// Small QDQ models whose ONNX Runtime fusions are known, for the runnability report's tests.
#pragma once

#include <onnx/onnx_pb.h>

namespace onnxq::testing {

enum class AfterConv {
  kNothing,
  kHardSigmoid,  // a HardSigmoid between Q/DQ pairs: ONNX Runtime has no integer kernel for it
};

// X [1,2,4,4] -> Q/DQ -> Conv (int8 weights through a DequantizeLinear) -> Q/DQ -> Y, which ONNX
// Runtime's CPU provider fuses into one QLinearConv, then what `after` says.
onnx::ModelProto QdqConvModel(AfterConv after);

}  // namespace onnxq::testing
