// .npz samples (data_reader.h has the layout): every file's zip directory and .npy headers are read
// and checked when the reader opens; the data then streams, a batch at a time, from the members.
#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "io/npy_format.h"
#include "io/zip_archive.h"
#include "onnxq/data_reader.h"

namespace onnxq {
namespace fs = std::filesystem;

namespace {

// "[1,5,4]"; a dimension the model leaves symbolic shows as "?".
std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i > 0 ? "," : "") + (shape[i] < 0 ? "?" : std::to_string(shape[i]));
  return s + "]";
}

// Elements of `shape`, or nullopt when the count overflows.
std::optional<int64_t> ElementCount(std::span<const int64_t> shape) {
  int64_t count = 1;
  for (const int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(count, d, &count)) return std::nullopt;
  }
  return count;
}

// One member of a file, as its .npy header lays it out.
struct Member {
  ZipEntry entry;
  int64_t header_bytes = 0;           // the .npy header before the data
  std::vector<int64_t> sample_shape;  // one sample as fed, without the batch axis
  bool batch_axis = false;            // fed with a batch axis of the samples (else each sample whole)
  int64_t samples = 1;
  int64_t sample_bytes = 0;
};

struct NpzFile {
  fs::path path;
  int64_t samples = 0;
  bool whole = false;           // an input is fed whole: each sample is a batch of its own
  std::vector<Member> members;  // in the order of the model's inputs
};

// Whether samples of `a` and `b` stack into one batch.
bool Stackable(const NpzFile& a, const NpzFile& b) {
  if (a.whole || b.whole) return false;
  for (size_t i = 0; i < a.members.size(); ++i) {
    if (a.members[i].sample_shape != b.members[i].sample_shape) return false;
  }
  return true;
}

std::string InputList(const std::vector<ModelInputSpec>& inputs) {
  std::string list;
  for (const auto& input : inputs) list += (list.empty() ? "'" : ", '") + input.name + "'";
  return list;
}

// Reads and checks the header of `entry`, the member for `input`, and lays it out.
Result<Member> ScanMember(const fs::path& path, const ZipEntry& entry, const ModelInputSpec& input) {
  const std::string what = "'" + path.string() + "' member '" + entry.name + "'";
  ONNXQ_ASSIGN_OR_RETURN(auto reader, ZipMemberReader::Open(path, entry, what));
  std::string header(static_cast<size_t>(std::min<int64_t>(kNpyPrefixBytes, entry.uncompressed_size)), '\0');
  ONNXQ_RETURN_IF_ERROR(reader->Read(std::as_writable_bytes(std::span<char>(header))));
  ONNXQ_ASSIGN_OR_RETURN(const int64_t header_size, NpyHeaderSize(header, what));
  if (header_size > entry.uncompressed_size) return InvalidArgument(what + " has a truncated .npy header");
  const size_t have = header.size();
  header.resize(static_cast<size_t>(header_size));
  ONNXQ_RETURN_IF_ERROR(reader->Read(std::as_writable_bytes(std::span<char>(header)).subspan(have)));
  ONNXQ_ASSIGN_OR_RETURN(const NpyHeader npy, ParseNpyHeader(header, what));

  if (npy.type != input.type) {
    return InvalidArgument(what + " is " + ElementTypeName(npy.type) + " but model input '" + input.name + "' takes " +
                           ElementTypeName(input.type) + ": save it with .astype('" + ElementTypeName(input.type) +
                           "')");
  }
  const auto elements = ElementCount(npy.shape);
  int64_t data_bytes = 0;
  if (!elements || __builtin_mul_overflow(*elements, static_cast<int64_t>(ElementSize(npy.type)), &data_bytes) ||
      data_bytes != entry.uncompressed_size - header_size) {
    return InvalidArgument(what + " holds " + std::to_string(entry.uncompressed_size - header_size) +
                           " bytes of data, not what its shape " + ShapeText(npy.shape) +
                           " needs: the file is corrupt; write it again");
  }

  Member member{.entry = entry, .header_bytes = header_size};
  const size_t rank = npy.shape.size();
  const size_t model_rank = input.shape.size();
  if (!input.has_shape || (rank == model_rank && !FirstAxisIsBatch(input))) {
    member.sample_shape = npy.shape;  // the value as the model takes it, one sample fed whole
  } else if (rank == model_rank || rank == model_rank + 1) {
    // Samples along axis 0: a batch axis, or one more axis than the input's, each sample fed whole.
    member.batch_axis = rank == model_rank;
    member.samples = npy.shape[0];
    member.sample_shape.assign(npy.shape.begin() + 1, npy.shape.end());
  } else {
    return InvalidArgument(what + " has " + std::to_string(rank) + " axes " + ShapeText(npy.shape) +
                           " but model input '" + input.name + "' has " + std::to_string(model_rank) + " " +
                           ShapeText(input.shape) + ": store the value as the model takes it (" +
                           std::to_string(model_rank) + " axes), or samples along a leading axis, each fed whole (" +
                           std::to_string(model_rank + 1) + " axes)");
  }
  if (member.samples == 0)
    return InvalidArgument(what + " has shape " + ShapeText(npy.shape) + " and holds no samples");
  if (input.has_shape) {
    const size_t first = member.batch_axis ? 1 : 0;  // model axis of the sample's axis 0
    for (size_t d = 0; d < member.sample_shape.size(); ++d) {
      const int64_t expected = input.shape[d + first];
      if (expected >= 0 && expected != member.sample_shape[d]) {
        return InvalidArgument(what + " has shape " + ShapeText(npy.shape) + " but model input '" + input.name +
                               "' is " + ShapeText(input.shape) + ": its dimension of " + std::to_string(expected) +
                               " is fixed");
      }
    }
  }
  member.sample_bytes = data_bytes / member.samples;
  return member;
}

Result<NpzFile> ScanFile(const fs::path& path, const std::vector<ModelInputSpec>& inputs) {
  const std::string file = "'" + path.string() + "'";
  ONNXQ_ASSIGN_OR_RETURN(const std::vector<ZipEntry> entries, ReadZipDirectory(path));
  std::map<std::string, const ZipEntry*> by_input;
  for (const ZipEntry& entry : entries) {
    const bool npy = entry.name.size() > 4 && entry.name.ends_with(".npy");
    const std::string stem = npy ? entry.name.substr(0, entry.name.size() - 4) : "";
    const bool known = std::any_of(inputs.begin(), inputs.end(), [&](const auto& in) { return in.name == stem; });
    if (!known) {
      return InvalidArgument(file + " has member '" + entry.name +
                             "', which names no model input (the inputs: " + InputList(inputs) +
                             "): store one array per input, under the input's name, and nothing "
                             "else");
    }
    if (!by_input.emplace(stem, &entry).second) {
      return InvalidArgument(file + " holds member '" + entry.name + "' twice: write the file again");
    }
  }
  NpzFile result{.path = path, .samples = -1};
  for (const ModelInputSpec& input : inputs) {
    const auto found = by_input.find(input.name);
    if (found == by_input.end()) {
      return InvalidArgument(file + " has no member '" + input.name + ".npy' for model input '" + input.name +
                             "': store one array per input (" + InputList(inputs) + "), under the input's name");
    }
    ONNXQ_ASSIGN_OR_RETURN(Member member, ScanMember(path, *found->second, input));
    if (result.samples >= 0 && member.samples != result.samples) {
      return InvalidArgument(file + " holds " + std::to_string(member.samples) + " samples in member '" +
                             member.entry.name + "' but " + std::to_string(result.samples) + " in member '" +
                             result.members.front().entry.name +
                             "': every member holds the same samples (one, as the model takes it, unless every "
                             "member has a leading axis of samples)");
    }
    result.samples = member.samples;
    result.whole = result.whole || !member.batch_axis;
    result.members.push_back(std::move(member));
  }
  // Samples of no values at all calibrate nothing, and nothing bounds how many such a header may claim.
  if (std::all_of(result.members.begin(), result.members.end(), [](const Member& m) { return m.sample_bytes == 0; })) {
    return InvalidArgument(file + " holds no values: every member is empty (a dimension of 0)");
  }
  return result;
}

// One batch's part of a file: `count` samples from sample `first`.
struct Slice {
  size_t file = 0;
  int64_t first = 0;
  int64_t count = 0;
};

class NpzReader final : public CalibrationDataReader {
 public:
  NpzReader(std::vector<ModelInputSpec> inputs, std::vector<NpzFile> files, int64_t samples, int64_t batch_size)
      : inputs_(std::move(inputs)), files_(std::move(files)), samples_(samples), batch_size_(batch_size) {}

  Result<std::optional<Feeds>> GetNext() override {
    if (read_ >= samples_) return std::optional<Feeds>();
    // Consecutive samples of the first file's shapes, up to a batch; one when an input is fed whole.
    const NpzFile& head = files_[next_file_];
    const int64_t room = head.whole ? 1 : std::min(batch_size_, samples_ - read_);
    std::vector<Slice> slices;
    int64_t count = 0;
    while (count < room && next_file_ < files_.size()) {
      const NpzFile& file = files_[next_file_];
      if (count > 0 && !Stackable(head, file)) break;
      const int64_t take = std::min(room - count, file.samples - next_sample_);
      slices.push_back({next_file_, next_sample_, take});
      count += take;
      next_sample_ += take;
      if (next_sample_ == file.samples) {
        ++next_file_;
        next_sample_ = 0;
      }
    }

    Feeds feeds(inputs_.size());
    for (size_t i = 0; i < inputs_.size(); ++i) {
      const Member& member = head.members[i];
      Tensor& t = feeds[i];
      t.name = inputs_[i].name;
      t.type = inputs_[i].type;
      t.batch_axis = member.batch_axis;
      if (member.batch_axis) t.shape.push_back(count);
      t.shape.insert(t.shape.end(), member.sample_shape.begin(), member.sample_shape.end());
      // Bounded by the members' sizes, which ReadZipDirectory checked against the file's (deflated
      // data: 1032 times), and ScanMember against their shapes.
      t.bytes.resize(static_cast<size_t>(count * member.sample_bytes));
    }
    std::vector<size_t> filled(inputs_.size(), 0);
    for (const Slice& slice : slices) {
      const NpzFile& file = files_[slice.file];
      for (size_t i = 0; i < inputs_.size(); ++i) {
        const Member& member = file.members[i];
        ONNXQ_ASSIGN_OR_RETURN(ZipMemberReader * reader, MemberAt(slice.file, i, slice.first));
        const auto bytes = static_cast<size_t>(slice.count * member.sample_bytes);
        ONNXQ_RETURN_IF_ERROR(reader->Read(std::span<std::byte>(feeds[i].bytes).subspan(filled[i], bytes)));
        filled[i] += bytes;
      }
    }
    read_ += count;
    return std::optional<Feeds>(std::move(feeds));
  }

  Status Rewind() override {
    next_file_ = 0;
    next_sample_ = 0;
    read_ = 0;
    open_file_ = kNoFile;
    open_readers_.clear();
    return Status::Ok();
  }

  int64_t SampleCount() const override { return samples_; }

 private:
  // The reader of input `input`'s member of file `file`, positioned at sample `sample`. The members
  // of one file at a time are open; samples are read in order, so a reader only moves forward.
  Result<ZipMemberReader*> MemberAt(size_t file, size_t input, int64_t sample) {
    const NpzFile& npz = files_[file];
    const Member& member = npz.members[input];
    const int64_t position = member.header_bytes + sample * member.sample_bytes;
    if (open_file_ != file) {
      open_readers_.clear();
      open_readers_.resize(inputs_.size());
      open_file_ = file;
    }
    std::unique_ptr<ZipMemberReader>& slot = open_readers_[input];
    if (slot == nullptr || slot->position() > position) {
      const std::string what = "'" + npz.path.string() + "' member '" + member.entry.name + "'";
      ONNXQ_ASSIGN_OR_RETURN(slot, ZipMemberReader::Open(npz.path, member.entry, what));
    }
    ZipMemberReader* reader = open_readers_[input].get();
    ONNXQ_RETURN_IF_ERROR(reader->Skip(position - reader->position()));
    return reader;
  }

  std::vector<ModelInputSpec> inputs_;
  std::vector<NpzFile> files_;
  int64_t samples_;
  int64_t batch_size_;
  size_t next_file_ = 0;
  int64_t next_sample_ = 0;
  int64_t read_ = 0;
  static constexpr size_t kNoFile = std::numeric_limits<size_t>::max();
  size_t open_file_ = kNoFile;
  std::vector<std::unique_ptr<ZipMemberReader>> open_readers_;
};

std::optional<ElementType> DataType(int32_t onnx_type) {
  switch (onnx_type) {
    case onnx::TensorProto::FLOAT:
    case onnx::TensorProto::FLOAT16:  // quantized in float32: calibration data stays float32
      return ElementType::kFloat;
    case onnx::TensorProto::INT64:
      return ElementType::kInt64;
    case onnx::TensorProto::INT32:
      return ElementType::kInt32;
    case onnx::TensorProto::UINT8:
      return ElementType::kUInt8;
    case onnx::TensorProto::INT8:
      return ElementType::kInt8;
    case onnx::TensorProto::BOOL:
      return ElementType::kBool;
    default:
      return std::nullopt;
  }
}

}  // namespace

Result<std::vector<ModelInputSpec>> ModelInputsOf(const onnx::ModelProto& model) {
  std::set<std::string> initializers;
  for (const auto& init : model.graph().initializer()) initializers.insert(init.name());
  std::vector<ModelInputSpec> inputs;
  for (const auto& in : model.graph().input()) {
    if (initializers.contains(in.name())) continue;
    if (!in.type().has_tensor_type()) {
      return Unsupported("model input '" + in.name() + "' is not a tensor; onnxq feeds tensor inputs only");
    }
    const auto& tensor_type = in.type().tensor_type();
    const auto type = DataType(tensor_type.elem_type());
    if (!type) {
      return Unsupported("model input '" + in.name() + "' is of ONNX element type " +
                         std::to_string(tensor_type.elem_type()) +
                         "; onnxq feeds float, float16 (as float32), int64, int32, uint8, int8 and bool inputs");
    }
    ModelInputSpec spec{.name = in.name(), .type = *type, .has_shape = tensor_type.has_shape()};
    for (const auto& d : tensor_type.shape().dim()) {
      spec.shape.push_back(d.has_dim_value() && d.dim_value() >= 0 ? d.dim_value() : -1);
    }
    inputs.push_back(std::move(spec));
  }
  return inputs;
}

bool FirstAxisIsBatch(const ModelInputSpec& input) {
  if (!input.has_shape || input.shape.empty()) return false;
  if (input.shape[0] < 0) return true;
  return input.shape[0] == 1 &&
         std::all_of(input.shape.begin() + 1, input.shape.end(), [](int64_t d) { return d >= 0; });
}

Result<std::vector<fs::path>> NpzFilesIn(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFound("calibration folder '" + dir.string() + "' does not exist");
  std::vector<fs::path> files;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().extension() == ".npz" && fs::is_regular_file(it->path(), ec)) files.push_back(it->path());
  }
  if (ec) return IoError("cannot list calibration folder '" + dir.string() + "': " + ec.message());
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename().string() < b.filename().string(); });
  return files;
}

Result<std::unique_ptr<CalibrationDataReader>> OpenNpzFiles(const std::vector<fs::path>& files,
                                                            const std::vector<ModelInputSpec>& inputs,
                                                            const ArrayReaderOptions& options) {
  if (files.empty()) return InvalidArgument("no .npz calibration files given");
  if (inputs.empty()) return InvalidArgument("the model has no inputs to read .npz samples for");
  if (options.batch_size < 1) return InvalidArgument("batch size must be at least 1");
  std::vector<NpzFile> scanned;
  int64_t samples = 0;
  for (const fs::path& path : files) {
    if (options.max_samples >= 0 && samples >= options.max_samples) break;  // the rest is not read
    ONNXQ_ASSIGN_OR_RETURN(NpzFile file, ScanFile(path, inputs));
    samples += file.samples;
    scanned.push_back(std::move(file));
  }
  if (options.max_samples >= 0) samples = std::min(samples, options.max_samples);
  if (samples <= 0) return InvalidArgument("calibration data '" + files[0].string() + "' holds no samples");
  return std::unique_ptr<CalibrationDataReader>(
      std::make_unique<NpzReader>(inputs, std::move(scanned), samples, options.batch_size));
}

}  // namespace onnxq
