// StackBatches (onnxq/data_reader.h): consecutive small batches of a reader stacked along axis 0.
#include <algorithm>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "onnxq/data_reader.h"

namespace onnxq {
namespace {

// Whether every tensor of `feeds` counts samples on axis 0 (only those can be stacked).
bool AllHaveBatchAxis(const Feeds& feeds) {
  for (const Tensor& t : feeds) {
    if (!t.batch_axis || t.shape.empty()) return false;
  }
  return !feeds.empty();
}

// Whether `b` stacks under `a`: the same inputs, in order, of the same types and the same dimensions
// after the first.
bool Stackable(const Feeds& a, const Feeds& b) {
  if (a.size() != b.size() || !AllHaveBatchAxis(b)) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].type != b[i].type || a[i].shape.size() != b[i].shape.size()) return false;
    if (!std::equal(a[i].shape.begin() + 1, a[i].shape.end(), b[i].shape.begin() + 1)) return false;
  }
  return true;
}

// `parts` (stackable, at least one) as one batch: a C-ordered tensor concatenated on axis 0 is its
// parts' bytes one after the other.
Feeds Concatenate(std::vector<Feeds> parts) {
  Feeds stacked = std::move(parts.front());
  for (size_t i = 0; i < stacked.size(); ++i) {
    Tensor& into = stacked[i];
    size_t bytes = into.bytes.size();
    for (size_t p = 1; p < parts.size(); ++p) bytes += parts[p][i].bytes.size();
    into.bytes.reserve(bytes);
    for (size_t p = 1; p < parts.size(); ++p) {
      const Tensor& part = parts[p][i];
      into.bytes.insert(into.bytes.end(), part.bytes.begin(), part.bytes.end());
      into.shape[0] += part.shape[0];
    }
  }
  return stacked;
}

class StackingReader final : public CalibrationDataReader {
 public:
  StackingReader(std::unique_ptr<CalibrationDataReader> reader, int64_t batch_size)
      : reader_(std::move(reader)), batch_size_(batch_size) {}

  Result<std::optional<Feeds>> GetNext() override {
    ONNXQ_ASSIGN_OR_RETURN(std::optional<Feeds> first, Next());
    if (!first || !AllHaveBatchAxis(*first)) return first;
    int64_t samples = SamplesIn(*first);
    if (samples >= batch_size_) return first;
    std::vector<Feeds> parts;
    parts.push_back(std::move(*first));
    while (samples < batch_size_) {
      ONNXQ_ASSIGN_OR_RETURN(std::optional<Feeds> next, Next());
      if (!next) break;
      if (!Stackable(parts.front(), *next) || samples + SamplesIn(*next) > batch_size_) {
        pending_ = std::move(next);
        break;
      }
      samples += SamplesIn(*next);
      parts.push_back(std::move(*next));
    }
    if (parts.size() == 1) return std::optional<Feeds>(std::move(parts.front()));
    return std::optional<Feeds>(Concatenate(std::move(parts)));
  }

  Status Rewind() override {
    pending_.reset();
    ended_ = false;
    return reader_->Rewind();
  }

  int64_t SampleCount() const override { return reader_->SampleCount(); }
  int64_t SkippedSamples() const override { return reader_->SkippedSamples(); }

 private:
  // The batch read ahead, else the reader's next; once the reader ended, it is not asked again.
  Result<std::optional<Feeds>> Next() {
    if (pending_) {
      std::optional<Feeds> batch = std::move(pending_);
      pending_.reset();
      return batch;
    }
    if (ended_) return std::optional<Feeds>();
    ONNXQ_ASSIGN_OR_RETURN(std::optional<Feeds> batch, reader_->GetNext());
    if (!batch) ended_ = true;
    return batch;
  }

  std::unique_ptr<CalibrationDataReader> reader_;
  int64_t batch_size_;
  std::optional<Feeds> pending_;  // read, did not stack with the batch before
  bool ended_ = false;
};

}  // namespace

std::unique_ptr<CalibrationDataReader> StackBatches(std::unique_ptr<CalibrationDataReader> reader, int64_t batch_size) {
  if (batch_size <= 1) return reader;
  return std::make_unique<StackingReader>(std::move(reader), batch_size);
}

}  // namespace onnxq
