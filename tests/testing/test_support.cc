#include "testing/test_support.h"

#include <gtest/gtest.h>
#include <onnxruntime_cxx_api.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>

#include "calibration/onnxruntime_backend.h"
#include "ir/tensor_util.h"
#include "onnxq/data_reader.h"

namespace onnxq::testing {
namespace {

// The process has one runtime environment, whoever creates it first: like the library's, it runs
// without the runtime's telemetry, which writes log files and leaks a buffer.
Ort::Env& RuntimeEnv() {
  static Ort::Env env = [] {
    ::setenv("ORT_DISABLE_TELEMETRY", "1", /*overwrite=*/0);
    return Ort::Env(ORT_LOGGING_LEVEL_WARNING, "onnxq_test");
  }();
  return env;
}

// Runs `session` with `input` as its first input and returns its first output.
Ort::Value RunSession(Ort::Session& session, const Ort::Value& input) {
  Ort::AllocatorWithDefaultOptions allocator;
  const auto input_name = session.GetInputNameAllocated(0, allocator);
  const auto output_name = session.GetOutputNameAllocated(0, allocator);
  const char* input_names[] = {input_name.get()};
  const char* output_names[] = {output_name.get()};
  auto outputs = session.Run(Ort::RunOptions{nullptr}, input_names, &input, 1, output_names, 1);
  return std::move(outputs[0]);
}

}  // namespace

std::filesystem::path DataDir() { return std::filesystem::path(ONNXQ_SOURCE_DIR) / "data" / "fmnist"; }

std::filesystem::path ModelPath(const std::string& file) { return DataDir() / "models" / file; }

std::filesystem::path TempDir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("onnxq-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string ReadBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteBytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::string> Listing(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::vector<float>> RunAllOutputs(const onnx::ModelProto& model, const Feeds& feeds) {
  auto session = CreateOnnxRuntimeSession(model);
  EXPECT_TRUE(session.ok()) << session.status().message();
  if (!session.ok()) return {};
  auto run = (*session)->Run(feeds, {});
  EXPECT_TRUE(run.ok()) << run.status().message();
  if (!run.ok()) return {};
  std::vector<std::vector<float>> outputs;
  for (size_t i = 0; i < run->size(); ++i) outputs.emplace_back((*run)[i].data.begin(), (*run)[i].data.end());
  return outputs;
}

std::vector<float> RunFirstOutput(const onnx::ModelProto& model, const Feeds& feeds) {
  auto outputs = RunAllOutputs(model, feeds);
  return outputs.empty() ? std::vector<float>{} : std::move(outputs[0]);
}

std::vector<float> RunFloat16Model(const onnx::ModelProto& model, const Tensor& input) {
  const std::string bytes = model.SerializeAsString();
  Ort::SessionOptions options;
  options.SetIntraOpNumThreads(1);
  Ort::Session session(RuntimeEnv(), bytes.data(), bytes.size(), options);
  std::vector<uint16_t> halves;
  for (const float v : input.floats()) halves.push_back(FloatToHalf(v));
  const auto memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  const Ort::Value value =
      Ort::Value::CreateTensor(memory, halves.data(), halves.size() * sizeof(uint16_t), input.shape.data(),
                               input.shape.size(), ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16);
  const Ort::Value output = RunSession(session, value);
  const auto info = output.GetTensorTypeAndShapeInfo();
  EXPECT_EQ(info.GetElementType(), ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16);
  const auto* data = static_cast<const uint16_t*>(output.GetTensorRawData());
  std::vector<float> result;
  for (size_t i = 0; i < info.GetElementCount(); ++i) result.push_back(HalfToFloat(data[i]));
  return result;
}

std::vector<float> RunModelFile(const std::filesystem::path& path, const Tensor& input) {
  Ort::SessionOptions options;
  Ort::Session session(RuntimeEnv(), path.c_str(), options);
  const auto memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  std::vector<float> values(input.floats().begin(), input.floats().end());
  const Ort::Value value =
      Ort::Value::CreateTensor<float>(memory, values.data(), values.size(), input.shape.data(), input.shape.size());
  const Ort::Value output = RunSession(session, value);
  const auto count = output.GetTensorTypeAndShapeInfo().GetElementCount();
  const float* data = output.GetTensorData<float>();
  return {data, data + count};
}

void ExpectWithinFractionOfPeak(const std::vector<float>& expected, const std::vector<float>& actual, float fraction) {
  ASSERT_EQ(expected.size(), actual.size());
  ASSERT_FALSE(expected.empty());
  float max_abs = 0.0F;
  float max_err = 0.0F;
  for (size_t i = 0; i < expected.size(); ++i) {
    max_abs = std::max(max_abs, std::fabs(expected[i]));
    max_err = std::max(max_err, std::fabs(expected[i] - actual[i]));
  }
  EXPECT_LE(max_err, fraction * max_abs) << "max |error| " << max_err << " of max |y| " << max_abs;
}

Tensor Int64Tensor(std::string name, std::vector<int64_t> shape, std::span<const int64_t> values) {
  Tensor t{.name = std::move(name), .type = ElementType::kInt64, .shape = std::move(shape)};
  t.bytes.resize(values.size_bytes());
  if (!values.empty()) std::memcpy(t.bytes.data(), values.data(), values.size_bytes());
  return t;
}

bool HasWarning(const QuantizeReport& report, const std::string& text) {
  return std::any_of(report.warnings.begin(), report.warnings.end(),
                     [&](const std::string& w) { return w.find(text) != std::string::npos; });
}

onnx::ModelProto StatefulModel() {
  return ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,4] X, int64 sr, float[2,N,3] S) => (float[N,2] Y)
<float[4,2] W = {0.5, -1.0, 0.25, 0.75, -0.5, 1.0, 1.5, -0.25}, float per_rate = {0.0000625}>
{
  XW = MatMul(X, W)
  total = ReduceSum<keepdims=0>(S)
  rate = Cast<to=1>(sr)
  scale = Mul(rate, per_rate)
  shift = Mul(total, scale)
  Y = Add(XW, shift)
}
)");
}

onnx::ModelProto SequenceModel() {
  return ParseModelText(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,T,4] X) => (float[N,3] Y)
<float[4,3] W = {0.5, -1.0, 0.25, 0.75, -0.5, 1.0, 1.5, -0.25, 0.3, -0.8, 0.6, 0.9}, float[3] B = {0.1, -0.2, 0.3}>
{
  H = MatMul(X, W)
  R = Relu(H)
  M = ReduceMean<axes = [1], keepdims = 0>(R)
  Y = Add(M, B)
}
)");
}

onnx::ModelProto Float16ConvGemmGraph(int64_t size) {
  const std::string hw = std::to_string(size);
  const std::string signature = "g (float16[1,2," + hw + "," + hw + "] X) => (float16[1,3] Y)";
  return ParseModelText("<ir_version: 8, opset_import: [\"\" : 15]>\n" + signature + R"(
{
  C = Conv <pads = [1, 1, 1, 1]> (X, W, B)
  R = Relu (C)
  P = GlobalAveragePool (R)
  F = Flatten (P)
  Y = Gemm <transB = 1> (F, Wg, Bg)
}
)");
}

Tensor LoadNpySamples(const std::filesystem::path& path, const std::string& input, int64_t first, int64_t count) {
  auto reader = OpenArrayFiles({{input, path, {}, ElementType::kFloat}}, {.batch_size = first + count});
  EXPECT_TRUE(reader.ok()) << reader.status().message();
  auto batch = (*reader)->GetNext();
  EXPECT_TRUE(batch.ok() && batch->has_value());
  Tensor all = std::move((**batch)[0]);
  const size_t per_sample = all.bytes.size() / static_cast<size_t>(all.shape[0]);
  Tensor out{input, all.type, all.shape, {}};
  out.shape[0] = count;
  out.bytes.assign(all.bytes.begin() + static_cast<std::ptrdiff_t>(first * per_sample),
                   all.bytes.begin() + static_cast<std::ptrdiff_t>((first + count) * per_sample));
  return out;
}

std::vector<Feeds> UniformFeeds(const std::string& input, const std::vector<int64_t>& shape, int count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0F, 1.0F);
  int64_t size = 1;
  for (const int64_t d : shape) size *= d;
  std::vector<Feeds> feeds;
  for (int i = 0; i < count; ++i) {
    std::vector<float> values(static_cast<size_t>(size));
    for (auto& v : values) v = uniform(rng);
    feeds.push_back({Tensor::FromFloats(input, shape, values)});
  }
  return feeds;
}

const onnx::TensorProto* FindInitializer(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto& init : graph.initializer()) {
    if (init.name() == name) return &init;
  }
  return nullptr;
}

}  // namespace onnxq::testing
