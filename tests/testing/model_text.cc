#include "testing/model_text.h"

#include <gtest/gtest.h>
#include <onnx/defs/parser.h>

namespace onnxq::testing {

onnx::ModelProto ParseModelText(const std::string& text) {
  onnx::ModelProto model;
  onnx::OnnxParser parser(text.c_str());
  const auto status = parser.Parse(model);
  EXPECT_TRUE(status.IsOK()) << status.ErrorMessage();
  return model;
}

}  // namespace onnxq::testing
