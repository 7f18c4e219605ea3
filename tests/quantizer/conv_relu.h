// The model the plan tests of decide_params_test and materialize_qdq_test share.
#pragma once

#include <onnx/onnx_pb.h>

#include "testing/model_text.h"

namespace onnxq::testing {

// Node 0: C = Conv(X, W, B), 2 -> 3 channels, 1x1; node 1: Y = Relu(C).
inline onnx::ModelProto ConvReluModel() {
  return ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,2,2] X) => (float[1,3,2,2] Y)
<float[3,2,1,1] W = {0.5, -0.25, 0.1, 0.2, -0.3, 0.05}, float[3] B = {0.1, -0.2, 0.3}>
{
  C = Conv(X, W, B)
  Y = Relu(C)
}
)");
}

}  // namespace onnxq::testing
