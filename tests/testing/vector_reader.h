// A calibration data reader over batches held in memory, which can fail at a given batch.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "onnxq/data_reader.h"
#include "onnxq/tensor.h"

namespace onnxq::testing {

struct VectorReaderOptions {
  int failing_batch = -1;           // GetNext is an IoError at this batch (-1: never)
  bool tells_sample_count = false;  // SampleCount gives the samples of every batch instead of -1
};

class VectorReader final : public CalibrationDataReader {
 public:
  explicit VectorReader(std::vector<Feeds> batches, VectorReaderOptions options = {})
      : batches_(std::move(batches)), options_(options) {}
  Result<std::optional<Feeds>> GetNext() override;
  Status Rewind() override;
  int64_t SampleCount() const override;
  int batches_read() const { return static_cast<int>(next_); }

 private:
  std::vector<Feeds> batches_;
  VectorReaderOptions options_;
  size_t next_ = 0;
};

}  // namespace onnxq::testing
