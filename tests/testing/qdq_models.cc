#include "testing/qdq_models.h"

#include <string>

#include "testing/model_text.h"

namespace onnxq::testing {

onnx::ModelProto QdqConvModel(AfterConv after) {
  std::string text = R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2,4,4] X) => (float[1,2,4,4] Y)
<int8[2,2,1,1] w = {1, 2, 3, 4}, float ws = {0.05}, int8 wz = {0}, float s = {0.02}, uint8 z = {128}>
{
  xq = QuantizeLinear(X, s, z)
  xd = DequantizeLinear(xq, s, z)
  wd = DequantizeLinear(w, ws, wz)
  c = Conv(xd, wd)
  cq = QuantizeLinear(c, s, z)
)";
  if (after == AfterConv::kHardSigmoid) {
    text += R"(
  cd = DequantizeLinear(cq, s, z)
  h = HardSigmoid(cd)
  hq = QuantizeLinear(h, s, z)
  Y = DequantizeLinear(hq, s, z)
}
)";
  } else {
    text += R"(
  Y = DequantizeLinear(cq, s, z)
}
)";
  }
  return ParseModelText(text);
}

}  // namespace onnxq::testing
