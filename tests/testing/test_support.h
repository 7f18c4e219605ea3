// Shared helpers for onnxq tests: data paths, models from ONNX text syntax, running models.
#pragma once

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <string>
#include <vector>

#include "onnxq/data_reader.h"
#include "onnxq/tensor.h"

namespace onnxq::testing {

// A reader over batches held in memory.
class VectorReader final : public CalibrationDataReader {
 public:
  explicit VectorReader(std::vector<Feeds> batches) : batches_(std::move(batches)) {}
  Result<std::optional<Feeds>> GetNext() override {
    if (next_ >= batches_.size()) return std::optional<Feeds>();
    return std::optional<Feeds>(batches_[next_++]);
  }
  Status Rewind() override {
    next_ = 0;
    return Status::Ok();
  }

 private:
  std::vector<Feeds> batches_;
  size_t next_ = 0;
};

// Folder with the test data and models kept in the repository (data/fmnist).
std::filesystem::path DataDir();
std::filesystem::path ModelPath(const std::string& file);  // data/fmnist/models/<file>
// A fresh empty temporary folder, removed at process exit is not guaranteed: tests clean up.
std::filesystem::path TempDir(const std::string& name);

// Whole file as bytes ("" if unreadable); writes replace the file.
std::string ReadBytes(const std::filesystem::path& path);
void WriteBytes(const std::filesystem::path& path, const std::string& bytes);
// File names in `dir`, sorted.
std::vector<std::string> Listing(const std::filesystem::path& dir);

// Parses a model in ONNX text syntax (onnx::OnnxParser); fails the test on a syntax error.
onnx::ModelProto ParseModelText(const std::string& text);

// Runs the model in ONNX Runtime and returns the first output's values.
std::vector<float> RunFirstOutput(const onnx::ModelProto& model, const Feeds& feeds);

// The first `count` samples of a float32 .npy file [N, ...] as one tensor named `input`.
Tensor LoadNpySamples(const std::filesystem::path& path, const std::string& input, int64_t first, int64_t count);

}  // namespace onnxq::testing
