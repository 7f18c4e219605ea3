#include "testing/vector_reader.h"

#include <string>

namespace onnxq::testing {

Result<std::optional<Feeds>> VectorReader::GetNext() {
  if (static_cast<int>(next_) == options_.failing_batch) {
    return IoError("batch " + std::to_string(options_.failing_batch) + " is unreadable");
  }
  if (next_ >= batches_.size()) return std::optional<Feeds>();
  return std::optional<Feeds>(batches_[next_++]);
}

Status VectorReader::Rewind() {
  next_ = 0;
  return Status::Ok();
}

int64_t VectorReader::SampleCount() const {
  if (!options_.tells_sample_count) return -1;
  int64_t samples = 0;
  for (const Feeds& batch : batches_) samples += SamplesIn(batch);
  return samples;
}

}  // namespace onnxq::testing
