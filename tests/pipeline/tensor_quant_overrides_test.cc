// TensorQuantOverrides end to end: a file written next to the test, read through the extra option,
// and the written model's QuantizeLinear parameters, its 16-bit Q/DQ domain and that it runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "ir/tensor_util.h"
#include "onnxq/extra_options.h"
#include "onnxq/quantize.h"
#include "testing/test_support.h"

namespace onnxq {
namespace {

using testing::ParseModelText;
using testing::VectorReader;

// y = x w: MatMul, quantized with Q/DQ on x, w and y.
const char* kMatMulModel = R"(
  <ir_version: 8, opset_import: ["" : 13]>
  matmul (float[N, 4] x) => (float[N, 2] y)
  <float[4, 2] w = {0.5, -0.25, 0.1, 0.2, -0.3, 0.05, 0.4, -0.1}>
  {
    y = MatMul(x, w)
  }
)";

// The QuantizeLinear of `tensor` (named after it: a graph output's reads the renamed producer output),
// or null.
const onnx::NodeProto* QuantizeLinearOf(const onnx::ModelProto& model, const std::string& tensor) {
  for (const auto& node : model.graph().node()) {
    if (node.op_type() == "QuantizeLinear" && node.name() == tensor + "_QuantizeLinear") return &node;
  }
  return nullptr;
}

const onnx::TensorProto* Initializer(const onnx::ModelProto& model, const std::string& name) {
  for (const auto& init : model.graph().initializer()) {
    if (init.name() == name) return &init;
  }
  return nullptr;
}

// The value of a one-element 8- or 16-bit integer tensor.
int64_t ScalarInteger(const onnx::TensorProto& tensor) {
  if (tensor.int32_data_size() == 1) return tensor.int32_data(0);
  const std::string& raw = tensor.raw_data();
  const auto byte = [&raw](size_t i) { return static_cast<int64_t>(static_cast<unsigned char>(raw[i])); };
  switch (tensor.data_type()) {
    case onnx::TensorProto::UINT8:
      return raw.size() == 1 ? byte(0) : -1;
    case onnx::TensorProto::UINT16:
      return raw.size() == 2 ? byte(0) | (byte(1) << 8) : -1;
    default:
      return -1;
  }
}

// The scale and zero point of the QuantizeLinear of `tensor`, checked to be scalars of `zero_point_type`.
void ExpectQuantizeLinear(const onnx::ModelProto& model, const std::string& tensor, float scale, int64_t zero_point,
                          int32_t zero_point_type) {
  const onnx::NodeProto* q = QuantizeLinearOf(model, tensor);
  ASSERT_NE(q, nullptr) << tensor;
  ASSERT_EQ(q->input_size(), 3);
  const onnx::TensorProto* s = Initializer(model, q->input(1));
  const onnx::TensorProto* z = Initializer(model, q->input(2));
  ASSERT_TRUE(s != nullptr && z != nullptr) << tensor;
  const auto scales = ToFloats(*s);
  ASSERT_TRUE(scales.ok() && scales->size() == 1) << tensor;
  EXPECT_FLOAT_EQ(scales->front(), scale) << tensor;
  EXPECT_EQ(z->data_type(), zero_point_type) << tensor;
  EXPECT_EQ(ScalarInteger(*z), zero_point) << tensor;
}

TEST(TensorQuantOverridesTest, TheWrittenQuantizeLinearTakesTheFilesScaleAndZeroPoint) {
  const std::filesystem::path dir = testing::TempDir("tensor_quant_overrides_model");
  const std::filesystem::path file = dir / "overrides.json";
  // x exactly; y as uint16 over [-1, 3]: scale 4 / 65535, zero point round(1 / scale) =
  // round(16383.75) = 16384.
  testing::WriteBytes(file, R"({"x": [{"scale": 0.0078125, "zero_point": 128}],
                                "y": [{"quant_type": "QUInt16", "rmin": -1.0, "rmax": 3.0}],
                                "gone": [{"scale": 1.0, "zero_point": 0}]})");
  QuantizeOptions options;
  const Status set = ApplyExtraOptions({{"TensorQuantOverrides", file.string()}}, &options);
  ASSERT_TRUE(set.ok()) << set.message();

  const onnx::ModelProto model = ParseModelText(kMatMulModel);
  std::vector<float> x;
  for (int i = 0; i < 32; ++i) x.push_back(static_cast<float>(i % 8) * 0.25F - 1.0F);
  const Feeds feeds = {Tensor::FromFloats("x", {8, 4}, x)};
  VectorReader reader({feeds});
  QuantizeReport report;
  const auto quantized = QuantizeModel(model, &reader, options, &report);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();

  ExpectQuantizeLinear(*quantized, "x", 0.0078125F, 128, onnx::TensorProto::UINT8);
  ExpectQuantizeLinear(*quantized, "y", 4.0F / 65535.0F, 16384, onnx::TensorProto::UINT16);
  // A 16-bit tensor: every Q/DQ in ONNX Runtime's com.microsoft domain.
  for (const char* tensor : {"x", "y"}) {
    const onnx::NodeProto* q = QuantizeLinearOf(*quantized, tensor);
    ASSERT_NE(q, nullptr) << tensor;
    EXPECT_EQ(q->domain(), "com.microsoft") << tensor;
  }
  EXPECT_TRUE(testing::HasWarning(report, "TensorQuantOverrides: 'gone' is not quantized"));

  // It runs, close to float: x's grid (step 1/128 from -1) holds the data (quarters in [-1, 0.75]) exactly.
  testing::ExpectWithinFractionOfPeak(testing::RunFirstOutput(model, feeds), testing::RunFirstOutput(*quantized, feeds),
                                      0.02F);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace onnxq
