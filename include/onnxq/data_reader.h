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

// How the samples of an array file become model inputs. Samples always lie along the file's axis 0.
enum class SampleLayout {
  // The model's first axis is a batch axis: sample i is fed as x[i:i+1], and samples stack into
  // batches. A file with as many axes as the model input.
  kBatchAxis,
  // Sample i is fed as x[i], whole: a scalar input (file [N]) or a state whose first axis is not a
  // batch (LSTM h [2, batch, 64]: file [N, 2, batch, 64]). A file with one more axis than the model
  // input. Whole samples cannot be stacked, so every batch of a reader with such an input holds one.
  kWhole,
};

// One model input stored as an array file: `.npy` (shape and dtype from its header; first axis =
// samples) or raw little-endian data with a given per-sample shape and type.
struct ArrayFileSpec {
  std::string input_name;
  std::filesystem::path path;
  std::vector<int64_t> sample_shape;  // raw files only: shape of one sample, without the samples axis
  ElementType raw_type = ElementType::kFloat;
  SampleLayout layout = SampleLayout::kBatchAxis;
};

struct ArrayReaderOptions {
  int64_t batch_size = 1;    // samples per batch (the last batch may be smaller)
  int64_t max_samples = -1;  // stop after this many samples; -1: all
};

// Reads the files lazily, one batch at a time. All inputs must hold the same number of samples. With
// an input of layout kWhole every batch holds one sample, whatever options.batch_size says.
Result<std::unique_ptr<CalibrationDataReader>> OpenArrayFiles(const std::vector<ArrayFileSpec>& files,
                                                              const ArrayReaderOptions& options);

// Reads a numpy .npy header: dtype, shape and the byte offset of the data. Exposed for tools and tests.
struct NpyHeader {
  ElementType type = ElementType::kFloat;
  std::vector<int64_t> shape;
  int64_t data_offset = 0;
};
Result<NpyHeader> ReadNpyHeader(const std::filesystem::path& path);

// The layout of the .npy file `path` (samples along axis 0) for the model input `input_name` of
// `input_rank` axes: kBatchAxis when the file has as many axes (input_rank >= 1), kWhole when it has
// one more. Any other rank is an error naming the file, the input, both ranks and this rule.
Result<SampleLayout> NpySampleLayout(const std::filesystem::path& path, const std::string& input_name,
                                     size_t input_rank);

// Writes a C-ordered little-endian .npy file (atomically).
Status WriteNpy(const std::filesystem::path& path, const Tensor& tensor);

}  // namespace onnxq
