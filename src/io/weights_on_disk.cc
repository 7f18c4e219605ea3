#include "io/weights_on_disk.h"

#include <fstream>
#include <string>
#include <vector>

#include "common/fresh_memory.h"

namespace onnxq {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kAlignment = 4096;

std::string ExternalValue(const onnx::TensorProto& tensor, std::string_view key) {
  for (const auto& entry : tensor.external_data()) {
    if (entry.key() == key) return entry.value();
  }
  return {};
}

void AddEntry(onnx::TensorProto& tensor, const std::string& key, const std::string& value) {
  auto* entry = tensor.add_external_data();
  entry->set_key(key);
  entry->set_value(value);
}

bool IsLarge(const onnx::TensorProto& tensor, int64_t min_bytes) {
  return tensor.has_raw_data() && static_cast<int64_t>(tensor.raw_data().size()) >= min_bytes;
}

}  // namespace

Result<WeightsOnDisk> WeightsOnDisk::Move(onnx::ModelProto& model, int64_t min_tensor_bytes, int64_t min_total_bytes) {
  WeightsOnDisk moved;
  int64_t total = 0;
  for (const auto& init : model.graph().initializer()) {
    if (IsLarge(init, min_tensor_bytes)) total += static_cast<int64_t>(init.raw_data().size());
  }
  if (total < min_total_bytes || total == 0) return moved;
  ONNXQ_ASSIGN_OR_RETURN(TemporaryFolder folder, TemporaryFolder::Create("the weights during calibration"));
  const fs::path data_path = folder.path() / "weights.data";
  std::ofstream data(data_path, std::ios::binary);
  int64_t offset = 0;
  for (auto& init : *model.mutable_graph()->mutable_initializer()) {
    if (!IsLarge(init, min_tensor_bytes)) continue;
    const int64_t aligned = (offset + kAlignment - 1) / kAlignment * kAlignment;
    data.seekp(aligned);
    const std::string& raw = init.raw_data();
    data.write(raw.data(), static_cast<std::streamsize>(raw.size()));
    if (!data) return IoError("cannot write the weights to '" + data_path.string() + "' (disk full?)");
    AddEntry(init, "location", data_path.string());
    AddEntry(init, "offset", std::to_string(aligned));
    AddEntry(init, "length", std::to_string(raw.size()));
    offset = aligned + static_cast<int64_t>(raw.size());
    std::string().swap(*init.mutable_raw_data());  // frees it: clear_raw_data keeps the capacity
    init.clear_raw_data();
    init.set_data_location(onnx::TensorProto::EXTERNAL);
  }
  data.close();
  if (!data) return IoError("cannot write the weights to '" + data_path.string() + "' (disk full?)");
  moved.folder_.emplace(std::move(folder));
  return moved;
}

Status WeightsOnDisk::Restore(onnx::ModelProto& model) {
  ONNXQ_RETURN_IF_ERROR(ReadBack(model));
  folder_.reset();
  return Status::Ok();
}

Status WeightsOnDisk::ReadBack(onnx::ModelProto& model) const {
  if (!folder_) return Status::Ok();
  const fs::path data_path = folder_->path() / "weights.data";
  std::ifstream data(data_path, std::ios::binary);
  for (auto& init : *model.mutable_graph()->mutable_initializer()) {
    if (init.data_location() != onnx::TensorProto::EXTERNAL || ExternalValue(init, "location") != data_path.string()) {
      continue;
    }
    const int64_t offset = std::stoll(ExternalValue(init, "offset"));
    const int64_t length = std::stoll(ExternalValue(init, "length"));
    std::string raw;
    ResizeOnFreshMemory(&raw, static_cast<size_t>(length));
    data.seekg(offset);
    data.read(raw.data(), length);
    if (!data) return IoError("cannot read the weights back from '" + data_path.string() + "'");
    init.set_raw_data(std::move(raw));
    init.clear_external_data();
    init.clear_data_location();
  }
  return Status::Ok();
}

std::optional<fs::path> RelativizeAbsoluteExternalData(onnx::ModelProto& model) {
  std::optional<fs::path> folder;
  for (auto& init : *model.mutable_graph()->mutable_initializer()) {
    if (init.data_location() != onnx::TensorProto::EXTERNAL) continue;
    for (auto& entry : *init.mutable_external_data()) {
      if (entry.key() != "location") continue;
      const fs::path location(entry.value());
      if (!location.is_absolute()) continue;
      folder = location.parent_path();
      entry.set_value(location.filename().string());
    }
  }
  return folder;
}

}  // namespace onnxq
