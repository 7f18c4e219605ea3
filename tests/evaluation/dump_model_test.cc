// The dump of a quantized model: each QuantizeLinear output's integers are round(x / scale) + zero
// point of the float input dumped beside it, in files named after the tensors with '/' as '_'.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "ir/tensor_util.h"
#include "onnxq/dump.h"
#include "onnxq/model_io.h"
#include "onnxq/quantize.h"
#include "testing/test_support.h"
#include "testing/vector_reader.h"

namespace onnxq {
namespace {

namespace fs = std::filesystem;

std::vector<double> ReadLines(const fs::path& path) {
  std::ifstream in(path);
  std::vector<double> values;
  for (double v = 0; in >> v;) values.push_back(v);
  return values;
}

// mbv2_fmnist_bn quantized on 32 calibration images (per-tensor QUInt8 activations).
onnx::ModelProto QuantizedFashionMnist() {
  auto model = LoadModel(testing::ModelPath("mbv2_fmnist_bn.onnx"));
  EXPECT_TRUE(model.ok()) << model.status().message();
  testing::VectorReader calib({{testing::LoadNpySamples(testing::DataDir() / "calib_1000.npy", "input", 0, 32)}});
  auto quantized = QuantizeModel(*model, &calib, QuantizeOptions{});
  EXPECT_TRUE(quantized.ok()) << quantized.status().message();
  return quantized.ok() ? *quantized : onnx::ModelProto{};
}

TEST(DumpModelTest, QuantizedIntegersAreTheFloatInputsRoundedOnTheScale) {
  const onnx::ModelProto quantized = QuantizedFashionMnist();
  const fs::path dir = testing::TempDir("dump") / "out";  // made by the dump
  testing::VectorReader first({{testing::LoadNpySamples(testing::DataDir() / "eval_10000.npy", "input", 0, 1)}});
  auto report = DumpModel(quantized, first, dir, {.dump_float = true});
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->samples, 1);
  ASSERT_GE(report->quantized.size(), 10U);
  std::map<std::string, std::string> float_stem;
  for (const DumpedTensor& t : report->floats) float_stem[t.tensor] = t.file_stem;
  EXPECT_TRUE(float_stem.contains("input"));  // the model input as fed
  std::map<std::string, const DumpedTensor*> dumped;
  for (const DumpedTensor& t : report->quantized) dumped[t.tensor] = &t;

  int checked = 0;
  int64_t values = 0;
  bool saw_slash = false;
  for (const auto& node : quantized.graph().node()) {
    if (node.op_type() != "QuantizeLinear") continue;
    ASSERT_TRUE(dumped.contains(node.output(0))) << node.output(0);
    const DumpedTensor& q = *dumped[node.output(0)];
    EXPECT_EQ(q.file_stem, DumpFileStem(q.tensor));
    EXPECT_EQ(q.file_stem.find('/'), std::string::npos);
    saw_slash = saw_slash || q.tensor.find('/') != std::string::npos;
    const onnx::TensorProto* scale = testing::FindInitializer(quantized.graph(), node.input(1));
    const onnx::TensorProto* zero_point = testing::FindInitializer(quantized.graph(), node.input(2));
    ASSERT_NE(scale, nullptr);
    ASSERT_NE(zero_point, nullptr);
    auto scales = ToFloats(*scale);
    auto zero_points = ToInt64s(*zero_point);
    ASSERT_TRUE(scales.ok() && zero_points.ok());
    ASSERT_EQ(scales->size(), 1U) << "per-tensor activations";
    ASSERT_EQ(zero_point->data_type(), onnx::TensorProto::UINT8);
    EXPECT_EQ(q.type, "uint8");
    const float s = (*scales)[0];
    const auto zp = static_cast<float>((*zero_points)[0]);

    const std::vector<double> ints = ReadLines(dir / (q.file_stem + ".txt"));
    const std::string bin = testing::ReadBytes(dir / (q.file_stem + ".bin"));
    ASSERT_TRUE(float_stem.contains(node.input(0))) << node.input(0);
    const std::vector<double> floats = ReadLines(dir / (float_stem[node.input(0)] + ".txt"));
    ASSERT_EQ(ints.size(), floats.size()) << q.tensor;
    ASSERT_EQ(bin.size(), ints.size()) << "one byte a uint8";
    int64_t elements = 1;
    for (const int64_t d : q.shape) elements *= d;
    EXPECT_EQ(static_cast<int64_t>(ints.size()), elements);
    for (size_t i = 0; i < ints.size(); ++i) {
      const float x = static_cast<float>(floats[i]);
      const double expected = std::clamp(std::nearbyint(x / s) + zp, 0.0F, 255.0F);
      ASSERT_EQ(ints[i], expected) << q.tensor << "[" << i << "]: x " << x << ", scale " << s << ", zero point " << zp;
      ASSERT_EQ(static_cast<uint8_t>(bin[i]), ints[i]) << q.tensor << "[" << i << "]";
    }
    values += static_cast<int64_t>(ints.size());
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(report->quantized.size()));
  EXPECT_GT(values, 10000);
  EXPECT_TRUE(saw_slash) << "the exported names hold '/', which the file names replace";
  fs::remove_all(dir.parent_path());
}

TEST(DumpModelTest, FileStemsAreSafeNames) {
  EXPECT_EQ(DumpFileStem("/features/features.0/Conv_output_0"), "_features_features.0_Conv_output_0");
  EXPECT_EQ(DumpFileStem("a\\b:c d"), "a_b_c_d");
  EXPECT_EQ(DumpFileStem(".."), "_.");
  EXPECT_EQ(DumpFileStem(""), "_");
  EXPECT_EQ(DumpFileStem("x-1_y.z"), "x-1_y.z");
}

TEST(DumpModelTest, RefusesAFloatModelAndAFolderItCannotMake) {
  auto float_model = LoadModel(testing::ModelPath("mbv2_fmnist_bn.onnx"));
  ASSERT_TRUE(float_model.ok());
  const fs::path dir = testing::TempDir("dump_refusals");
  const std::vector<float> zeros(28 * 28, 0.0F);
  testing::VectorReader data({{Tensor::FromFloats("input", {1, 1, 28, 28}, zeros)}});
  auto no_quantized = DumpModel(*float_model, data, dir / "out");
  ASSERT_FALSE(no_quantized.ok());
  EXPECT_NE(no_quantized.status().message().find("no QuantizeLinear"), std::string::npos);

  testing::WriteBytes(dir / "file", "x");
  const onnx::ModelProto quantized = QuantizedFashionMnist();
  testing::VectorReader again({{Tensor::FromFloats("input", {1, 1, 28, 28}, zeros)}});
  auto blocked = DumpModel(quantized, again, dir / "file" / "out");
  ASSERT_FALSE(blocked.ok());
  EXPECT_NE(blocked.status().message().find("cannot make the output folder '" + (dir / "file" / "out").string()),
            std::string::npos)
      << blocked.status().message();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace onnxq
