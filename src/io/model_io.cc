#include "onnxq/model_io.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace onnxq {
namespace fs = std::filesystem;

namespace {

std::string ErrnoText() { return std::strerror(errno); }

Result<std::string> ReadFile(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return NotFound("cannot open '" + path.string() + "': no such file");
  if (fs::is_directory(path, ec)) return InvalidArgument("'" + path.string() + "' is a directory, not a file");
  const auto size = fs::file_size(path, ec);
  if (!ec && size > static_cast<uintmax_t>(kMaxProtoBytes)) {
    return InvalidModel("'" + path.string() + "' is " + std::to_string(size) +
                        " bytes, over protobuf's 2 GB limit; models this large keep their weights in external data");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot open '" + path.string() + "': " + ErrnoText());
  // One read of the known size; a file that changed size meanwhile reads short, or goes on below.
  std::string bytes(ec ? 0 : static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (in.bad()) return IoError("cannot read '" + path.string() + "': " + ErrnoText());
  bytes.resize(static_cast<size_t>(in.gcount()));
  if (in.peek() == std::char_traits<char>::eof()) return bytes;
  std::ostringstream rest;
  rest << in.rdbuf();
  if (in.bad()) return IoError("cannot read '" + path.string() + "': " + ErrnoText());
  return bytes + std::move(rest).str();
}

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

Status LoadExternalTensor(onnx::TensorProto* tensor, const fs::path& base_dir) {
  const std::string location = ExternalKey(*tensor, "location");
  if (location.empty()) {
    return InvalidModel("tensor '" + tensor->name() + "' is marked external but has no location");
  }
  const fs::path relative(location);
  if (relative.is_absolute() ||
      std::any_of(relative.begin(), relative.end(), [](const fs::path& p) { return p == ".."; })) {
    return InvalidModel("tensor '" + tensor->name() + "' points outside the model's folder ('" + location +
                        "'); external data must sit beside the model");
  }
  const fs::path file = base_dir / relative;
  const std::string offset_text = ExternalKey(*tensor, "offset");
  const std::string length_text = ExternalKey(*tensor, "length");
  int64_t offset = 0;
  int64_t length = -1;
  if (!ParseInt64(offset_text, &offset) || !ParseInt64(length_text, &length)) {
    return InvalidModel("tensor '" + tensor->name() + "' has a bad external data offset '" + offset_text +
                        "' or length '" + length_text + "'");
  }
  std::error_code ec;
  const auto file_size = static_cast<int64_t>(fs::file_size(file, ec));
  if (ec) return NotFound("external data '" + file.string() + "' of tensor '" + tensor->name() + "' is missing");
  if (length_text.empty()) length = file_size - offset;
  if (offset < 0 || length < 0 || offset > file_size || length > file_size - offset) {
    return InvalidModel("external data of tensor '" + tensor->name() + "' lies outside '" + file.string() +
                        "' (file truncated?)");
  }
  std::ifstream in(file, std::ios::binary);
  std::string bytes(static_cast<size_t>(length), '\0');
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

}  // namespace

Result<onnx::ModelProto> ParseModel(std::string_view bytes, std::string_view origin) {
  onnx::ModelProto model;
  google::protobuf::io::ArrayInputStream raw(bytes.data(), static_cast<int>(bytes.size()));
  google::protobuf::io::CodedInputStream coded(&raw);
  coded.SetTotalBytesLimit(static_cast<int>(kMaxProtoBytes));
  if (bytes.empty() || !model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage()) {
    return InvalidModel("'" + std::string(origin) +
                        "' is not a valid ONNX model (protobuf parse failed: truncated or not ONNX)");
  }
  if (!model.has_graph() || model.graph().node_size() == 0) {
    return InvalidModel("'" + std::string(origin) + "' is not a valid ONNX model (no graph or no nodes)");
  }
  return model;
}

Result<onnx::ModelProto> LoadModel(const fs::path& path) {
  ONNXQ_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  ONNXQ_ASSIGN_OR_RETURN(onnx::ModelProto model, ParseModel(bytes, path.string()));
  bytes.clear();
  bytes.shrink_to_fit();
  Status status;
  const fs::path base_dir = path.parent_path();
  ForEachTensor(model.mutable_graph(), [&](onnx::TensorProto* tensor) {
    if (status.ok() && tensor->data_location() == onnx::TensorProto::EXTERNAL) {
      status = LoadExternalTensor(tensor, base_dir);
    }
  });
  ONNXQ_RETURN_IF_ERROR(status);
  return model;
}

bool FitsInOneProto(const onnx::ModelProto& model, int64_t max_proto_bytes) {
  return static_cast<int64_t>(model.ByteSizeLong()) < max_proto_bytes;
}

namespace {

// `path` + ".tmp." + the process id: the name a file is written under before it replaces `path`.
fs::path TemporaryName(const fs::path& path) { return path.string() + ".tmp." + std::to_string(::getpid()); }

// Writes `content` to `tmp` whole; on failure nothing is left there. Errors name `path`, the file
// the caller is writing.
Status WriteWholeFile(const fs::path& tmp, const fs::path& path, std::string_view content) {
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return IoError("cannot write '" + path.string() + "': " + ErrnoText());
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (out) return Status::Ok();
  }
  const Status failed = IoError("cannot write '" + path.string() + "': " + ErrnoText());
  std::error_code ignored;
  fs::remove(tmp, ignored);
  return failed;
}

}  // namespace

Status WriteFileAtomically(const fs::path& path, std::string_view content) {
  const fs::path tmp = TemporaryName(path);
  ONNXQ_RETURN_IF_ERROR(WriteWholeFile(tmp, path, content));
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return IoError("cannot write '" + path.string() + "': " + ec.message());
  }
  return Status::Ok();
}

Status SaveModel(const onnx::ModelProto& model, const fs::path& path, const SaveOptions& options) {
  const bool fits = FitsInOneProto(model, options.max_proto_bytes);
  const bool external =
      options.external_data == ExternalData::kAlways || (options.external_data == ExternalData::kAuto && !fits);
  if (!external) {
    if (!fits) {
      return InvalidArgument("model for '" + path.string() + "' is " + std::to_string(model.ByteSizeLong()) +
                             " bytes, too large for one protobuf; save it with external data");
    }
    std::string bytes;
    if (!model.SerializeToString(&bytes)) return Internal("cannot serialize model for '" + path.string() + "'");
    return WriteFileAtomically(path, bytes);
  }

  // Move every large initializer into one data file beside the model.
  onnx::ModelProto copy = model;
  const std::string data_name = path.filename().string() + ".data";
  const fs::path data_path = path.parent_path() / data_name;
  const fs::path data_tmp = TemporaryName(data_path);
  std::ofstream data(data_tmp, std::ios::binary | std::ios::trunc);
  if (!data) return IoError("cannot write '" + data_path.string() + "': " + ErrnoText());
  int64_t offset = 0;
  for (auto& init : *copy.mutable_graph()->mutable_initializer()) {
    if (!init.has_raw_data() || static_cast<int64_t>(init.raw_data().size()) < options.external_threshold_bytes) {
      continue;
    }
    // Keep offsets aligned to 4 KiB so the runtime can memory-map the file.
    const int64_t aligned = (offset + 4095) / 4096 * 4096;
    if (aligned > offset) {
      const std::vector<char> pad(static_cast<size_t>(aligned - offset), '\0');
      data.write(pad.data(), static_cast<std::streamsize>(pad.size()));
      offset = aligned;
    }
    const std::string& raw = init.raw_data();
    data.write(raw.data(), static_cast<std::streamsize>(raw.size()));
    auto add = [&](const std::string& key, const std::string& value) {
      auto* entry = init.add_external_data();
      entry->set_key(key);
      entry->set_value(value);
    };
    add("location", data_name);
    add("offset", std::to_string(offset));
    add("length", std::to_string(raw.size()));
    offset += static_cast<int64_t>(raw.size());
    init.clear_raw_data();
    init.set_data_location(onnx::TensorProto::EXTERNAL);
  }
  data.flush();
  if (!data) {
    const Status failed = IoError("cannot write '" + data_path.string() + "': " + ErrnoText());
    std::error_code ignored;
    fs::remove(data_tmp, ignored);
    return failed;
  }
  data.close();
  // Both files are complete under temporary names before either replaces anything, so any failure up
  // to the renames leaves an existing model and its data as they were.
  std::string bytes;
  std::error_code ec;
  if (!copy.SerializeToString(&bytes)) {
    fs::remove(data_tmp, ec);
    return Internal("cannot serialize model for '" + path.string() + "'");
  }
  const fs::path model_tmp = TemporaryName(path);
  if (Status written = WriteWholeFile(model_tmp, path, bytes); !written.ok()) {
    fs::remove(data_tmp, ec);
    return written;
  }
  // The old data file keeps a second name until the new model is in place: if the model's rename
  // fails, the old model gets its data back.
  const fs::path old_data = TemporaryName(data_path.string() + ".old");
  fs::create_hard_link(data_path, old_data, ec);
  const bool kept_old = !ec;
  fs::rename(data_tmp, data_path, ec);
  if (ec) {
    const Status failed = IoError("cannot write '" + data_path.string() + "': " + ec.message());
    for (const auto& leftover : {data_tmp, model_tmp, old_data}) fs::remove(leftover, ec);
    return failed;
  }
  fs::rename(model_tmp, path, ec);
  if (ec) {
    const Status failed = IoError("cannot write '" + path.string() + "': " + ec.message());
    fs::remove(model_tmp, ec);
    if (kept_old) {
      fs::rename(old_data, data_path, ec);
    } else {
      fs::remove(data_path, ec);  // a data file without its model is of no use
    }
    return failed;
  }
  if (kept_old) fs::remove(old_data, ec);
  return Status::Ok();
}

}  // namespace onnxq
