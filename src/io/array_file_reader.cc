#include <charconv>
#include <cstring>
#include <fstream>
#include <optional>
#include <regex>

#include "onnxq/data_reader.h"
#include "onnxq/model_io.h"

namespace onnxq {
namespace fs = std::filesystem;

namespace {

Result<ElementType> ParseDescr(const std::string& descr, const fs::path& path) {
  if (descr == "<f4") return ElementType::kFloat;
  if (descr == "<i8") return ElementType::kInt64;
  if (descr == "<i4") return ElementType::kInt32;
  if (descr == "|u1") return ElementType::kUInt8;
  if (descr == "|i1") return ElementType::kInt8;
  if (descr == "|b1") return ElementType::kBool;
  return Unsupported("'" + path.string() + "' has numpy dtype '" + descr +
                     "'; onnxq reads float32, int64, int32, uint8, int8 and bool arrays (convert with astype)");
}

const char* Descr(ElementType type) {
  switch (type) {
    case ElementType::kFloat:
      return "<f4";
    case ElementType::kInt64:
      return "<i8";
    case ElementType::kInt32:
      return "<i4";
    case ElementType::kUInt8:
      return "|u1";
    case ElementType::kInt8:
      return "|i1";
    case ElementType::kBool:
      return "|b1";
  }
  return "<f4";
}

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
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return InvalidArgument("calibration data '" + path.string() + "' is a directory, not a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open calibration data '" + path.string() + "'");
  char magic[10] = {};
  in.read(magic, 10);
  if (!in || std::memcmp(magic, "\x93NUMPY", 6) != 0) {
    return InvalidArgument("'" + path.string() + "' is not a .npy file (bad magic)");
  }
  const int major = static_cast<unsigned char>(magic[6]);
  uint32_t header_len =
      static_cast<unsigned char>(magic[8]) | (static_cast<uint32_t>(static_cast<unsigned char>(magic[9])) << 8U);
  int64_t prefix = 10;
  if (major >= 2) {
    char extra[2] = {};
    in.read(extra, 2);
    header_len |= (static_cast<uint32_t>(static_cast<unsigned char>(extra[0])) << 16U) |
                  (static_cast<uint32_t>(static_cast<unsigned char>(extra[1])) << 24U);
    prefix = 12;
  }
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);
  if (!in) return InvalidArgument("'" + path.string() + "' has a truncated .npy header");
  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([^']+)')"))) {
    return InvalidArgument("'" + path.string() + "' has no dtype in its .npy header");
  }
  NpyHeader result;
  ONNXQ_ASSIGN_OR_RETURN(result.type, ParseDescr(m[1].str(), path));
  if (std::regex_search(header, m, std::regex(R"('fortran_order'\s*:\s*True)"))) {
    return Unsupported("'" + path.string() + "' is Fortran-ordered; save it with numpy.ascontiguousarray");
  }
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))"))) {
    return InvalidArgument("'" + path.string() + "' has no shape in its .npy header");
  }
  const std::string dims = m[1].str();
  const std::regex number(R"(\d+)");
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it) {
    const std::string text = it->str();
    int64_t dim = 0;
    const auto [stop, error] = std::from_chars(text.data(), text.data() + text.size(), dim);
    if (error != std::errc() || stop != text.data() + text.size()) {
      return InvalidArgument("'" + path.string() + "' has a .npy shape dimension " + text + " that is out of range");
    }
    result.shape.push_back(dim);
  }
  result.data_offset = prefix + header_len;
  return result;
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

Status WriteNpy(const fs::path& path, const Tensor& tensor) {
  std::string shape;  // "2, 3" or "5," as Python writes tuples
  for (size_t i = 0; i < tensor.shape.size(); ++i) shape += (i > 0 ? ", " : "") + std::to_string(tensor.shape[i]);
  if (tensor.shape.size() == 1) shape += ",";
  std::string header =
      std::string("{'descr': '") + Descr(tensor.type) + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string content = "\x93NUMPY";
  content.push_back('\x01');
  content.push_back('\x00');
  content.push_back(static_cast<char>(header.size() & 0xFFU));
  content.push_back(static_cast<char>((header.size() >> 8U) & 0xFFU));
  content += header;
  content.append(reinterpret_cast<const char*>(tensor.bytes.data()), tensor.bytes.size());
  return WriteFileAtomically(path, content);
}

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
  if (options.max_samples >= 0) samples = std::min(samples, options.max_samples);
  if (samples <= 0) return InvalidArgument("calibration data '" + files[0].path.string() + "' holds no samples");
  return std::unique_ptr<CalibrationDataReader>(std::make_unique<ArrayFileReader>(std::move(inputs), samples, options));
}

}  // namespace onnxq
