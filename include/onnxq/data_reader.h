// Calibration and evaluation data: a reader hands out one batch of model inputs at a time, so
// memory never depends on the size of the data set (vai_q_onnx's CalibrationDataReader.get_next()).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "onnxq/status.h"
#include "onnxq/tensor.h"

namespace onnxq {

class CalibrationDataReader {
 public:
  virtual ~CalibrationDataReader() = default;
  // The next batch, or nullopt when the data is exhausted.
  virtual Result<std::optional<Feeds>> GetNext() = 0;
  // Starts again from the first batch (needed by algorithms that make a second pass).
  virtual Status Rewind() { return Unsupported("this data reader cannot rewind"); }
  // Number of samples the reader will produce, or -1 when unknown.
  virtual int64_t SampleCount() const { return -1; }
};

// One model input stored as an array file: `.npy` (shape and dtype from its header; first axis =
// samples) or raw little-endian data with a given per-sample shape and type.
struct ArrayFileSpec {
  std::string input_name;
  std::filesystem::path path;
  std::vector<int64_t> sample_shape;  // raw files only: shape of one sample, without the batch axis
  ElementType raw_type = ElementType::kFloat;
};

struct ArrayReaderOptions {
  int64_t batch_size = 1;    // samples per batch (the last batch may be smaller)
  int64_t max_samples = -1;  // stop after this many samples; -1: all
};

// Reads the files lazily, one batch at a time. All inputs must hold the same number of samples.
Result<std::unique_ptr<CalibrationDataReader>> OpenArrayFiles(const std::vector<ArrayFileSpec>& files,
                                                              const ArrayReaderOptions& options);

// Reads a numpy .npy header: dtype, shape and the byte offset of the data. Exposed for tools and tests.
struct NpyHeader {
  ElementType type = ElementType::kFloat;
  std::vector<int64_t> shape;
  int64_t data_offset = 0;
};
Result<NpyHeader> ReadNpyHeader(const std::filesystem::path& path);

// Writes a C-ordered little-endian .npy file (atomically).
Status WriteNpy(const std::filesystem::path& path, const Tensor& tensor);

}  // namespace onnxq
