#include "onnxq/model_io.h"

#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "common/fresh_memory.h"
#include "io/file_safety.h"
#include "io/save_model_steps.h"
#include "io/serialize_model.h"

namespace onnxq {
namespace fs = std::filesystem;

namespace {

std::string ExternalKey(const onnx::TensorProto& tensor, std::string_view key) {
  for (const auto& entry : tensor.external_data()) {
    if (entry.key() == key) return entry.value();
  }
  return {};
}

// An optional decimal int64 (empty keeps *value); false when the text is not one.
bool ParseInt64(const std::string& text, int64_t* value) {
  if (text.empty()) return true;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return error == std::errc() && end == text.data() + text.size();
}

// The external data files of one model being loaded: each location resolved once, in first-use order.
struct ExternalFiles {
  fs::path base_dir;
  std::map<std::string, fs::path> resolved;
  std::vector<fs::path> in_order;
};

Status LoadExternalTensor(onnx::TensorProto* tensor, ExternalFiles* files) {
  const std::string location = ExternalKey(*tensor, "location");
  if (location.empty()) {
    return InvalidModel("tensor '" + tensor->name() + "' is marked external but has no location");
  }
  auto known = files->resolved.find(location);
  if (known == files->resolved.end()) {
    Result<fs::path> resolved = ResolveInsideFolder(files->base_dir, location);
    if (!resolved.ok()) {
      return {resolved.status().code(), "tensor '" + tensor->name() + "': " + resolved.status().message()};
    }
    known = files->resolved.emplace(location, *resolved).first;
    files->in_order.push_back(*resolved);
  }
  const fs::path& file = known->second;
  const std::string offset_text = ExternalKey(*tensor, "offset");
  const std::string length_text = ExternalKey(*tensor, "length");
  int64_t offset = 0;
  int64_t length = -1;
  if (!ParseInt64(offset_text, &offset) || !ParseInt64(length_text, &length)) {
    return InvalidModel("tensor '" + tensor->name() + "' has a bad external data offset '" + offset_text +
                        "' or length '" + length_text + "'");
  }
  std::error_code ec;
  const fs::file_status status = fs::status(file, ec);
  if (ec || !fs::exists(status)) {
    return NotFound("external data '" + file.string() + "' of tensor '" + tensor->name() + "' is missing");
  }
  if (!fs::is_regular_file(status)) {
    return InvalidModel("external data '" + file.string() + "' of tensor '" + tensor->name() +
                        "' is not a regular file");
  }
  const auto file_size = static_cast<int64_t>(fs::file_size(file, ec));
  if (ec) return IoError("cannot read external data '" + file.string() + "': " + ec.message());
  if (length_text.empty()) length = file_size - offset;
  if (offset < 0 || length < 0 || offset > file_size || length > file_size - offset) {
    return InvalidModel("external data of tensor '" + tensor->name() + "' lies outside '" + file.string() +
                        "' (file truncated?)");
  }
  std::ifstream in(file, std::ios::binary);
  std::string bytes;
  ResizeOnFreshMemory(&bytes, static_cast<size_t>(length));
  in.seekg(offset);
  in.read(bytes.data(), length);
  if (!in) return IoError("cannot read external data '" + file.string() + "' of tensor '" + tensor->name() + "'");
  tensor->set_raw_data(std::move(bytes));
  tensor->clear_external_data();
  tensor->clear_data_location();
  return Status::Ok();
}

template <typename Fn>
void ForEachTensor(onnx::GraphProto* graph, const Fn& fn) {
  for (auto& init : *graph->mutable_initializer()) fn(&init);
  for (auto& node : *graph->mutable_node()) {
    for (auto& attr : *node.mutable_attribute()) {
      if (attr.has_t()) fn(attr.mutable_t());
      if (attr.has_g()) ForEachTensor(attr.mutable_g(), fn);
      for (auto& g : *attr.mutable_graphs()) ForEachTensor(&g, fn);
    }
  }
}

// Protobuf parse of a whole model, up to protobuf's 2 GB limit.
bool ParseProto(std::string_view bytes, onnx::ModelProto* model) {
  google::protobuf::io::ArrayInputStream raw(bytes.data(), static_cast<int>(bytes.size()));
  google::protobuf::io::CodedInputStream coded(&raw);
  coded.SetTotalBytesLimit(static_cast<int>(kMaxProtoBytes));
  return model->ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
}

}  // namespace

std::vector<InputFile> AsInputs(const ModelFiles& files, const std::string& role) {
  std::vector<InputFile> inputs = {{files.model, role}};
  for (const auto& data : files.data) inputs.push_back({data, "external data of " + role});
  return inputs;
}

Result<onnx::ModelProto> ParseModel(std::string_view bytes, std::string_view origin) {
  onnx::ModelProto model;
  if (bytes.empty() || !ParseProto(bytes, &model)) {
    return InvalidModel("'" + std::string(origin) +
                        "' is not a valid ONNX model (protobuf parse failed: truncated or not ONNX)");
  }
  if (!model.has_graph() || model.graph().node_size() == 0) {
    return InvalidModel("'" + std::string(origin) + "' is not a valid ONNX model (no graph or no nodes)");
  }
  return model;
}

Result<onnx::ModelProto> LoadModel(const fs::path& path, ModelFiles* files) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    const auto size = fs::file_size(path, ec);
    if (!ec && size > static_cast<uintmax_t>(kMaxProtoBytes)) {
      return InvalidModel("'" + path.string() + "' is " + std::to_string(size) +
                          " bytes, over protobuf's 2 GB limit; models this large keep their weights in external data");
    }
  }
  ONNXQ_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(path, "model", kMaxProtoBytes));
  ONNXQ_ASSIGN_OR_RETURN(onnx::ModelProto model, ParseModel(bytes, path.string()));
  bytes.clear();
  bytes.shrink_to_fit();
  Status status;
  ExternalFiles external{.base_dir = path.parent_path()};
  ForEachTensor(model.mutable_graph(), [&](onnx::TensorProto* tensor) {
    if (status.ok() && tensor->data_location() == onnx::TensorProto::EXTERNAL) {
      status = LoadExternalTensor(tensor, &external);
    }
  });
  ONNXQ_RETURN_IF_ERROR(status);
  if (files != nullptr) *files = {.model = path, .data = std::move(external.in_order)};
  return model;
}

bool FitsInOneProto(const onnx::ModelProto& model, int64_t max_proto_bytes) {
  return static_cast<int64_t>(model.ByteSizeLong()) < max_proto_bytes;
}

namespace {

// Whether `name` is a data file SaveModel writes for a model file named `model_name`:
// "<model_name>.<16 hex digits>.data", or "<model_name>.data" as onnxq wrote it before data files
// were named by their content.
bool IsOwnDataName(std::string_view name, std::string_view model_name) {
  constexpr std::string_view kSuffix = ".data";
  if (!name.starts_with(model_name) || !name.ends_with(kSuffix)) return false;
  std::string_view middle = name.substr(model_name.size(), name.size() - model_name.size() - kSuffix.size());
  if (middle.empty()) return true;
  if (middle.size() != 17 || middle.front() != '.') return false;
  middle.remove_prefix(1);
  return std::all_of(middle.begin(), middle.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The data files that the model now at `path` names and SaveModel wrote for it (IsOwnDataName): what a
// save replacing that model removes once the new model is in place. Empty when `path` is not a regular
// file or not a model; the model is read only when such files exist.
std::vector<std::string> OwnDataFilesOf(const fs::path& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return {};
  const fs::path folder = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  const std::string model_name = path.filename().string();
  std::set<std::string> candidates;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (IsOwnDataName(name, model_name)) candidates.insert(std::move(name));
  }
  if (candidates.empty()) return {};
  Result<std::string> bytes = ReadWholeFile(path, "model", kMaxProtoBytes);
  onnx::ModelProto old;
  if (!bytes.ok() || !ParseProto(*bytes, &old)) return {};
  std::vector<std::string> named;
  ForEachTensor(old.mutable_graph(), [&](onnx::TensorProto* tensor) {
    if (tensor->data_location() != onnx::TensorProto::EXTERNAL) return;
    const std::string location = ExternalKey(*tensor, "location");
    if (candidates.contains(location) && std::find(named.begin(), named.end(), location) == named.end()) {
      named.push_back(location);
    }
  });
  return named;
}

// The model with every initializer of `threshold_bytes` or more moved into `data`, at 4 KiB aligned
// offsets (so the runtime can memory-map the file), named `<model_name>.<XXH64 of the data>.data`.
struct ExternalSplit {
  onnx::ModelProto model;
  std::string data_name;
};

Result<ExternalSplit> WriteExternalData(const onnx::ModelProto& model, const std::string& model_name,
                                        int64_t threshold_bytes, TemporaryFile* data) {
  ExternalSplit split{.model = model, .data_name = {}};
  ContentHash hash;
  auto append = [&](std::string_view bytes) {
    hash.Update(bytes);
    return data->Write(bytes);
  };
  std::vector<onnx::StringStringEntryProto*> locations;
  int64_t offset = 0;
  for (auto& init : *split.model.mutable_graph()->mutable_initializer()) {
    if (!init.has_raw_data() || static_cast<int64_t>(init.raw_data().size()) < threshold_bytes) continue;
    const int64_t aligned = (offset + 4095) / 4096 * 4096;
    if (aligned > offset) {
      ONNXQ_RETURN_IF_ERROR(append(std::string(static_cast<size_t>(aligned - offset), '\0')));
      offset = aligned;
    }
    const std::string& raw = init.raw_data();
    ONNXQ_RETURN_IF_ERROR(append(raw));
    auto add = [&](const std::string& key, const std::string& value) {
      auto* entry = init.add_external_data();
      entry->set_key(key);
      entry->set_value(value);
      return entry;
    };
    locations.push_back(add("location", ""));  // named once the hash is known
    add("offset", std::to_string(offset));
    add("length", std::to_string(raw.size()));
    offset += static_cast<int64_t>(raw.size());
    init.clear_raw_data();
    init.set_data_location(onnx::TensorProto::EXTERNAL);
  }
  split.data_name = model_name + "." + hash.Hex() + ".data";
  for (auto* entry : locations) entry->set_value(split.data_name);
  return split;
}

// Removes, once a new data file is in place, the one just published when the save fails after all.
// A file that was there before (same content, same name) is left.
class PublishedDataGuard {
 public:
  PublishedDataGuard() = default;
  PublishedDataGuard(const PublishedDataGuard&) = delete;
  PublishedDataGuard& operator=(const PublishedDataGuard&) = delete;
  ~PublishedDataGuard() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  void Arm(fs::path path) { path_ = std::move(path); }
  void Keep() { path_.clear(); }

 private:
  fs::path path_;
};

// Whether the model is saved with external data (a model too large for one protobuf must be, and
// cannot be saved without).
Result<bool> UsesExternalData(const onnx::ModelProto& model, const fs::path& path, const SaveOptions& options) {
  const bool fits = FitsInOneProto(model, options.max_proto_bytes);
  const bool external =
      options.external_data == ExternalData::kAlways || (options.external_data == ExternalData::kAuto && !fits);
  if (!external && !fits) {
    return InvalidArgument("model for '" + path.string() + "' is " + std::to_string(model.ByteSizeLong()) +
                           " bytes, too large for one protobuf; save it with external data");
  }
  return external;
}

// Step 1 of a save: everything complete under temporary names.
struct Temporaries {
  std::optional<TemporaryFile> data;  // none when the model is saved as one file
  fs::path data_path;                 // the data's name once published: `<path>.<hash>.data`
  TemporaryFile model;
};

// Writes the data (with external data) and then the model, each flushed, under temporary names beside
// `path`.
Result<Temporaries> WriteTemporaries(const onnx::ModelProto& model, const fs::path& path, const SaveOptions& options) {
  ONNXQ_ASSIGN_OR_RETURN(const bool external, UsesExternalData(model, path, options));
  std::optional<TemporaryFile> data;
  std::optional<ExternalSplit> split;
  fs::path data_path;
  if (external) {
    Result<TemporaryFile> created = TemporaryFile::CreateBeside(path);
    if (!created.ok()) return created.status();
    data.emplace(std::move(created).value());
    ONNXQ_ASSIGN_OR_RETURN(
        split, WriteExternalData(model, path.filename().string(), options.external_threshold_bytes, &*data));
    ONNXQ_RETURN_IF_ERROR(data->Finish(options.durability));
    data_path = path.parent_path() / split->data_name;
  }
  ONNXQ_ASSIGN_OR_RETURN(TemporaryFile model_file, TemporaryFile::CreateBeside(path));
  {
    std::string bytes;
    if (!SerializeOnFreshMemory(split ? split->model : model, &bytes)) {
      return Internal("cannot serialize model for '" + path.string() + "'");
    }
    split.reset();  // the copy with its weights moved out is no longer needed
    ONNXQ_RETURN_IF_ERROR(model_file.Write(bytes));
  }
  ONNXQ_RETURN_IF_ERROR(model_file.Finish(options.durability));
  return Temporaries{.data = std::move(data), .data_path = std::move(data_path), .model = std::move(model_file)};
}

// Leaves the temporaries where they are, as a kill would.
Status LeaveTemporaries(Temporaries& temporaries) {
  if (temporaries.data) temporaries.data->Abandon();
  temporaries.model.Abandon();
  return Status::Ok();
}

// Step 2: the data under its content-hashed name. A file already there holds the same bytes (same
// hash): replacing it changes nothing a reader sees, and one that is an input is kept as it is. A file
// this step puts there is removed by `published_data` unless the save gets through.
Status PublishData(Temporaries& temporaries, std::span<const InputFile> inputs, PublishedDataGuard& published_data) {
  if (!temporaries.data) return Status::Ok();
  const fs::path& data_path = temporaries.data_path;
  if (const InputFile* input = FindInput(data_path, inputs)) {
    std::error_code input_error;
    std::error_code written_error;
    const auto input_size = fs::file_size(data_path, input_error);
    const auto written_size = fs::file_size(temporaries.data->path(), written_error);
    if (input_error || written_error || input_size != written_size) {
      return IoError("cannot write '" + data_path.string() + "': it is " + input->role + " '" + input->path.string() +
                     "' and holds other bytes under the same hash; give another output path");
    }
    return Status::Ok();
  }
  const bool was_there = IdentityOf(data_path).has_value();
  ONNXQ_RETURN_IF_ERROR(temporaries.data->PublishAs(data_path));
  if (!was_there) published_data.Arm(data_path);
  return Status::Ok();
}

// Step 3: the model, last. Which data files the old one names is read just before it goes; they are
// returned for step 4.
Result<std::vector<std::string>> PublishModel(Temporaries& temporaries, const fs::path& path,
                                              const SaveOptions& options, PublishedDataGuard& published_data) {
  std::vector<std::string> old_data = OwnDataFilesOf(path);
  ONNXQ_RETURN_IF_ERROR(CheckOutputPath(path, options.inputs));
  ONNXQ_RETURN_IF_ERROR(temporaries.model.PublishAs(path));
  published_data.Keep();
  if (options.durability == Durability::kFlushToDisk) SyncFolder(path.parent_path());
  return old_data;
}

// An exclusive advisory lock (flock) on the output folder from step 2 to step 4. Two saves to one path
// (threads or processes) would otherwise interleave: one reads the old model's data names, the other
// publishes that same content-named data for its own model, and the first removes it. Saves of
// different models in the folder wait for each other only for these steps (renames and unlinks). A
// folder that cannot be opened or locked is saved to unlocked.
class FolderLock {
 public:
  explicit FolderLock(const fs::path& folder)
      : fd_(::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_ < 0) return;
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) break;
    }
  }
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;
  ~FolderLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }

 private:
  int fd_;
};

// Step 4: the old model's data, unless it is the new data or an input.
void RemoveOldData(const std::vector<std::string>& old_data, const Temporaries& temporaries, const fs::path& folder,
                   std::span<const InputFile> inputs) {
  for (const auto& name : old_data) {
    const fs::path old = folder / name;
    if ((temporaries.data && name == temporaries.data_path.filename()) || FindInput(old, inputs) != nullptr) continue;
    ::unlink(old.c_str());
  }
}

}  // namespace

Status SaveModelThrough(const onnx::ModelProto& model, const fs::path& path, const SaveOptions& options, SaveStep last,
                        ModelFiles* files) {
  ONNXQ_RETURN_IF_ERROR(CheckOutputPath(path, options.inputs));
  ONNXQ_ASSIGN_OR_RETURN(Temporaries temporaries, WriteTemporaries(model, path, options));
  if (last == SaveStep::kTemporariesWritten) return LeaveTemporaries(temporaries);

  const FolderLock lock(path.parent_path());
  PublishedDataGuard published_data;
  ONNXQ_RETURN_IF_ERROR(PublishData(temporaries, options.inputs, published_data));
  if (last == SaveStep::kDataPublished) {
    published_data.Keep();
    return LeaveTemporaries(temporaries);
  }

  ONNXQ_ASSIGN_OR_RETURN(const std::vector<std::string> old_data,
                         PublishModel(temporaries, path, options, published_data));
  if (files != nullptr) {
    *files = {.model = path, .data = {}};
    if (temporaries.data) files->data.push_back(temporaries.data_path);
  }
  if (last == SaveStep::kModelPublished) return Status::Ok();

  RemoveOldData(old_data, temporaries, path.parent_path(), options.inputs);
  return Status::Ok();
}

Status SaveModel(const onnx::ModelProto& model, const fs::path& path, const SaveOptions& options, ModelFiles* files) {
  return SaveModelThrough(model, path, options, SaveStep::kDone, files);
}

Status WriteFileAtomically(const fs::path& path, std::string_view content, std::span<const InputFile> inputs) {
  ONNXQ_RETURN_IF_ERROR(CheckOutputPath(path, inputs));
  ONNXQ_ASSIGN_OR_RETURN(TemporaryFile file, TemporaryFile::CreateBeside(path));
  ONNXQ_RETURN_IF_ERROR(file.Write(content));
  ONNXQ_RETURN_IF_ERROR(file.Finish(Durability::kFlushToDisk));
  ONNXQ_RETURN_IF_ERROR(CheckOutputPath(path, inputs));
  ONNXQ_RETURN_IF_ERROR(file.PublishAs(path));
  SyncFolder(path.parent_path());
  return Status::Ok();
}

}  // namespace onnxq
