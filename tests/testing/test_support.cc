#include "testing/test_support.h"

#include <gtest/gtest.h>
#include <onnx/defs/parser.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "calibration/inference_backend.h"
#include "onnxq/data_reader.h"

namespace onnxq::testing {

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

onnx::ModelProto ParseModelText(const std::string& text) {
  onnx::ModelProto model;
  onnx::OnnxParser parser(text.c_str());
  const auto status = parser.Parse(model);
  EXPECT_TRUE(status.IsOK()) << status.ErrorMessage();
  return model;
}

std::vector<float> RunFirstOutput(const onnx::ModelProto& model, const Feeds& feeds) {
  auto session = CreateOnnxRuntimeSession(model);
  EXPECT_TRUE(session.ok()) << session.status().message();
  if (!session.ok()) return {};
  auto run = (*session)->Run(feeds, {});
  EXPECT_TRUE(run.ok()) << run.status().message();
  if (!run.ok()) return {};
  const auto data = (*run)[0].data;
  return {data.begin(), data.end()};
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

}  // namespace onnxq::testing
