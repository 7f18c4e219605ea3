// The memory of `onnxq quantize` on a model whose size is its weights, in external data: the weights
// are held about once (on disk while the runtime calibrates, then quantized one at a time into the
// output), not once per copy the pipeline makes (the loaded model, the graph handed to the runtime,
// its own copy, the quantized output: four times the weights before).
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "cli_fixture.h"
#include "onnxq/data_reader.h"
#include "onnxq/model_io.h"

namespace onnxq {
namespace {

constexpr int64_t kRows = 1024;
constexpr int64_t kColumns = 40 * 1024;  // 160 MiB of float weights a layer
constexpr int kLayers = 2;

// x [1, 1024] -> MatMul with each W_i [1024, 40960] -> y_i, the weights in external data. Written a
// row at a time: the test process itself stays small, since a child's peak counts the memory of the
// process it was started from.
void WriteWeightHeavyModel(const fs::path& path) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  auto* graph = model.mutable_graph();
  graph->set_name("weights");
  auto add_value = [](onnx::ValueInfoProto* value, const std::string& name, std::vector<int64_t> dims) {
    value->set_name(name);
    auto* type = value->mutable_type()->mutable_tensor_type();
    type->set_elem_type(onnx::TensorProto::FLOAT);
    for (const int64_t d : dims) type->mutable_shape()->add_dim()->set_dim_value(d);
  };
  add_value(graph->add_input(), "x", {1, kRows});
  const std::string data_name = path.filename().string() + ".data";
  std::ofstream data(path.parent_path() / data_name, std::ios::binary);
  std::mt19937 random(15);
  std::normal_distribution<float> normal(0.0F, 0.02F);
  std::vector<float> row(static_cast<size_t>(kColumns));
  for (int i = 0; i < kLayers; ++i) {
    const std::string w = "W" + std::to_string(i);
    const auto offset = static_cast<int64_t>(data.tellp());
    for (int64_t r = 0; r < kRows; ++r) {
      for (float& v : row) v = normal(random);
      data.write(reinterpret_cast<const char*>(row.data()), static_cast<std::streamsize>(row.size() * sizeof(float)));
    }
    auto* init = graph->add_initializer();
    init->set_name(w);
    init->set_data_type(onnx::TensorProto::FLOAT);
    init->add_dims(kRows);
    init->add_dims(kColumns);
    init->set_data_location(onnx::TensorProto::EXTERNAL);
    const std::vector<std::pair<std::string, std::string>> entries = {
        {"location", data_name},
        {"offset", std::to_string(offset)},
        {"length", std::to_string(kRows * kColumns * sizeof(float))}};
    for (const auto& [key, value] : entries) {
      auto* entry = init->add_external_data();
      entry->set_key(key);
      entry->set_value(value);
    }
    auto* node = graph->add_node();
    node->set_op_type("MatMul");
    node->set_name("matmul" + std::to_string(i));
    node->add_input("x");
    node->add_input(w);
    node->add_output("y" + std::to_string(i));
    add_value(graph->add_output(), "y" + std::to_string(i), {1, kColumns});
  }
  ASSERT_TRUE(data.good());
  std::ofstream out(path, std::ios::binary);
  ASSERT_TRUE(model.SerializeToOstream(&out));
}

// Peak resident memory of the children waited for so far, in MiB.
double ChildrenPeakMiB() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

TEST_F(CliTest, AWeightHeavyModelIsQuantizedHoldingItsWeightsAboutOnce) {
  const fs::path model = work_ / "weights.onnx";
  WriteWeightHeavyModel(model);
  std::vector<float> samples(16 * kRows);
  std::mt19937 random(16);
  std::normal_distribution<float> normal(0.0F, 1.0F);
  for (float& v : samples) v = normal(random);
  ASSERT_TRUE(WriteNpy(work_ / "calib.npy", Tensor::FromFloats("x", {16, kRows}, samples)).ok());
  const double weights_mib = static_cast<double>(kLayers * kRows * kColumns * 4) / (1 << 20);
  ASSERT_LT(ChildrenPeakMiB(), 0.5 * weights_mib);  // nothing large ran yet

  const CliRun run = RunCli({"quantize", model.string(), Output(), "--calib-data", (work_ / "calib.npy").string(),
                             "--use-external-data-format"},
                            logs_);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const double peak = ChildrenPeakMiB();
  // The runtime needs the float weights once to calibrate; the process, the runtime's code and its
  // buffers take about 100 MiB more. Holding them twice would already exceed the bound.
  EXPECT_LT(peak, 1.5 * weights_mib + 128) << "peak " << peak << " MiB for " << weights_mib << " MiB of weights";
  EXPECT_GT(peak, 0.9 * weights_mib);  // the measure sees the quantizing process

  // The quantized weights: a quarter of the float ones, in the output's data file.
  ModelFiles written;
  const auto quantized = LoadModel(Output(), &written);
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  ASSERT_EQ(written.data.size(), 1U);
  EXPECT_NEAR(static_cast<double>(fs::file_size(written.data[0])) / (1 << 20), weights_mib / 4, 1.0);
}

}  // namespace
}  // namespace onnxq
