// Reading and writing ONNX models, including tensors stored as external data (models over 2 GB).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "onnxq/status.h"

namespace onnxq {

// Reads a model and loads every externally stored tensor into memory (raw_data), so the returned
// proto is self-contained. Errors name the file and say what is wrong with it.
Result<onnx::ModelProto> LoadModel(const std::filesystem::path& path);

// Parses serialized bytes; `origin` names the source in error messages.
Result<onnx::ModelProto> ParseModel(std::string_view bytes, std::string_view origin);

// Protobuf's hard limit on one serialized message.
inline constexpr int64_t kMaxProtoBytes = (int64_t{1} << 31) - 1;

enum class ExternalData {
  kAuto,    // external only when the model would not fit in one 2 GB protobuf
  kAlways,  // every initializer above the threshold goes to `<output>.data`
  kNever,
};

struct SaveOptions {
  ExternalData external_data = ExternalData::kAuto;
  int64_t external_threshold_bytes = 1024;
  // kAuto goes external when the model serializes to this many bytes or more. Only tests lower it, to
  // exercise the over-2-GB path on a small model.
  int64_t max_proto_bytes = kMaxProtoBytes;
};

// Writes atomically: a temporary file beside the target, then rename, so a failure never leaves a
// half-written model (or data file) behind.
Status SaveModel(const onnx::ModelProto& model, const std::filesystem::path& path, const SaveOptions& options = {});

// True when the model serializes to fewer than `max_proto_bytes` bytes (one protobuf, under 2 GB).
bool FitsInOneProto(const onnx::ModelProto& model, int64_t max_proto_bytes = kMaxProtoBytes);

// Writes `content` to `path` atomically (temporary file + rename).
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view content);

}  // namespace onnxq
