#include <algorithm>
#include <fstream>
#include <optional>

#include "io/npy_format.h"
#include "onnxq/data_reader.h"
#include "onnxq/model_io.h"

namespace onnxq {
namespace fs = std::filesystem;

namespace {

// Bytes of one sample of `shape`, or nullopt when a dimension is negative or the size overflows.
std::optional<int64_t> SampleBytes(const std::vector<int64_t>& shape, ElementType type) {
  int64_t bytes = static_cast<int64_t>(ElementSize(type));
  for (const int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(bytes, d, &bytes)) return std::nullopt;
  }
  return bytes;
}

struct OpenInput {
  std::string name;
  fs::path path;
  std::ifstream stream;
  ElementType type = ElementType::kFloat;
  std::vector<int64_t> sample_shape;
  SampleLayout layout = SampleLayout::kBatchAxis;
  int64_t sample_bytes = 0;
  int64_t data_offset = 0;
  int64_t samples = 0;
};

class ArrayFileReader final : public CalibrationDataReader {
 public:
  ArrayFileReader(std::vector<OpenInput> inputs, int64_t samples, const ArrayReaderOptions& options)
      : inputs_(std::move(inputs)), samples_(samples), options_(options) {
    // Whole samples do not stack: one sample a batch.
    for (const auto& input : inputs_) {
      if (input.layout == SampleLayout::kWhole) options_.batch_size = 1;
    }
  }

  Result<std::optional<Feeds>> GetNext() override {
    if (next_ >= samples_) return std::optional<Feeds>();
    const int64_t count = std::min(options_.batch_size, samples_ - next_);
    Feeds feeds;
    feeds.reserve(inputs_.size());
    for (auto& input : inputs_) {
      Tensor t;
      t.name = input.name;
      t.type = input.type;
      t.batch_axis = input.layout == SampleLayout::kBatchAxis;
      if (t.batch_axis) t.shape.push_back(count);
      t.shape.insert(t.shape.end(), input.sample_shape.begin(), input.sample_shape.end());
      t.bytes.resize(static_cast<size_t>(count * input.sample_bytes));
      input.stream.seekg(input.data_offset + next_ * input.sample_bytes);
      input.stream.read(reinterpret_cast<char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
      if (!input.stream) {
        return IoError("cannot read samples " + std::to_string(next_) + ".." + std::to_string(next_ + count - 1) +
                       " from '" + input.path.string() + "' (file truncated?)");
      }
      feeds.push_back(std::move(t));
    }
    next_ += count;
    return std::optional<Feeds>(std::move(feeds));
  }

  Status Rewind() override {
    next_ = 0;
    for (auto& input : inputs_) input.stream.clear();
    return Status::Ok();
  }

  int64_t SampleCount() const override { return samples_; }

 private:
  std::vector<OpenInput> inputs_;
  int64_t samples_;
  ArrayReaderOptions options_;
  int64_t next_ = 0;
};

}  // namespace

Result<NpyHeader> ReadNpyHeader(const fs::path& path) {
  const std::string what = "'" + path.string() + "'";
  std::error_code ec;
  if (fs::is_directory(path, ec)) return InvalidArgument("calibration data " + what + " is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open calibration data " + what);
  const auto file_size = static_cast<int64_t>(fs::file_size(path, ec));
  if (ec) return IoError("cannot read the size of calibration data " + what + ": " + ec.message());
  std::string header(kNpyPrefixBytes, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header.size()));
  header.resize(static_cast<size_t>(in.gcount()));
  ONNXQ_ASSIGN_OR_RETURN(const int64_t size, NpyHeaderSize(header, what));
  if (size > file_size) return InvalidArgument(what + " has a truncated .npy header");
  const size_t have = header.size();
  header.resize(static_cast<size_t>(size));
  in.clear();
  in.read(header.data() + have, static_cast<std::streamsize>(header.size() - have));
  if (in.gcount() != static_cast<std::streamsize>(header.size() - have)) {
    return InvalidArgument(what + " has a truncated .npy header");
  }
  return ParseNpyHeader(header, what);
}

Result<SampleLayout> NpySampleLayout(const fs::path& path, const std::string& input_name, size_t input_rank) {
  ONNXQ_ASSIGN_OR_RETURN(const NpyHeader header, ReadNpyHeader(path));
  const size_t file_rank = header.shape.size();
  if (file_rank == input_rank + 1) return SampleLayout::kWhole;
  if (file_rank == input_rank && input_rank > 0) return SampleLayout::kBatchAxis;
  const std::string rule =
      input_rank == 0 ? "a scalar input takes a file of one axis, [N], sample i fed as x[i]"
                      : "the file holds samples along axis 0, with as many axes as the input (sample i fed as "
                        "x[i:i+1], the input's first axis being the batch) or one more (sample i fed whole as x[i])";
  return InvalidArgument("calibration data '" + path.string() + "' for input '" + input_name + "' has " +
                         std::to_string(file_rank) + " axes but the model input has " + std::to_string(input_rank) +
                         ": " + rule);
}

Status WriteNpy(const fs::path& path, const Tensor& tensor) { return WriteFileAtomically(path, EncodeNpy(tensor)); }

Result<std::unique_ptr<CalibrationDataReader>> OpenArrayFiles(const std::vector<ArrayFileSpec>& files,
                                                              const ArrayReaderOptions& options) {
  if (files.empty()) return InvalidArgument("no calibration data files given");
  if (options.batch_size < 1) return InvalidArgument("batch size must be at least 1");
  std::vector<OpenInput> inputs;
  int64_t samples = -1;
  for (const auto& spec : files) {
    OpenInput input;
    input.name = spec.input_name;
    input.path = spec.path;
    input.layout = spec.layout;
    std::error_code ec;
    if (!fs::exists(spec.path, ec)) return NotFound("calibration data '" + spec.path.string() + "' does not exist");
    if (fs::is_directory(spec.path, ec)) {
      return InvalidArgument("calibration data '" + spec.path.string() + "' is a directory, not a file");
    }
    const auto file_size = static_cast<int64_t>(fs::file_size(spec.path, ec));
    if (spec.path.extension() == ".npy") {
      ONNXQ_ASSIGN_OR_RETURN(const NpyHeader header, ReadNpyHeader(spec.path));
      if (header.shape.empty()) {
        return InvalidArgument("'" + spec.path.string() + "' holds a scalar; expected samples along the first axis");
      }
      input.type = header.type;
      input.samples = header.shape[0];
      input.sample_shape.assign(header.shape.begin() + 1, header.shape.end());
      input.data_offset = header.data_offset;
      const auto sample_bytes = SampleBytes(input.sample_shape, input.type);
      if (!sample_bytes) {
        return InvalidArgument("'" + spec.path.string() + "' has a .npy shape too large for any file");
      }
      input.sample_bytes = *sample_bytes;
      const int64_t data_bytes = file_size - input.data_offset;
      if (data_bytes < 0 || (input.sample_bytes > 0 && input.samples > data_bytes / input.sample_bytes)) {
        return InvalidArgument("'" + spec.path.string() + "' is truncated: its header promises " +
                               std::to_string(input.samples) + " samples");
      }
    } else {
      if (spec.sample_shape.empty()) {
        return InvalidArgument("raw data '" + spec.path.string() + "' needs a shape: pass --input-shape " +
                               spec.input_name + ":1,C,H,W");
      }
      input.type = spec.raw_type;
      input.sample_shape = spec.sample_shape;
      input.sample_bytes = SampleBytes(input.sample_shape, input.type).value_or(0);
      if (input.sample_bytes <= 0 || file_size % input.sample_bytes != 0) {
        return InvalidArgument("raw data '" + spec.path.string() + "' has " + std::to_string(file_size) +
                               " bytes, not a multiple of one sample (" + std::to_string(input.sample_bytes) +
                               " bytes); check --input-shape");
      }
      input.samples = file_size / input.sample_bytes;
    }
    if (samples >= 0 && input.samples != samples) {
      return InvalidArgument("calibration inputs disagree on the sample count: '" + spec.path.string() + "' has " +
                             std::to_string(input.samples) + ", others " + std::to_string(samples));
    }
    samples = input.samples;
    input.stream.open(spec.path, std::ios::binary);
    if (!input.stream) return IoError("cannot open calibration data '" + spec.path.string() + "'");
    inputs.push_back(std::move(input));
  }
  // Samples of no values at all calibrate nothing, and nothing bounds how many such a header may claim.
  if (std::all_of(inputs.begin(), inputs.end(), [](const OpenInput& in) { return in.sample_bytes == 0; })) {
    return InvalidArgument("calibration data '" + files[0].path.string() +
                           "' holds samples of no values (a dimension of 0 after the samples axis)");
  }
  if (options.max_samples >= 0) samples = std::min(samples, options.max_samples);
  if (samples <= 0) return InvalidArgument("calibration data '" + files[0].path.string() + "' holds no samples");
  return std::unique_ptr<CalibrationDataReader>(std::make_unique<ArrayFileReader>(std::move(inputs), samples, options));
}

}  // namespace onnxq
