// Reading and writing ONNX models, including tensors stored as external data (models over 2 GB).
//
// What every writer here promises (the rules live in src/io/file_safety.h):
//   - An input is never written, replaced or removed: outputs are compared with the inputs named in
//     SaveOptions::inputs by device and inode, so no spelling of a path (hard link, symlink, "./")
//     gets past.
//   - Only a regular file, or a symlink, is replaced: an output path that is a directory, a device
//     or a fifo is refused. A symlink is replaced itself; the file it pointed to is left alone.
//   - A reader sees the old output or the new one, whole, never a mix (see SaveModel).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "onnxq/status.h"

namespace onnxq {

// A file a command reads, which no output may be. `role` names it in messages ("the input model").
struct InputFile {
  std::filesystem::path path;
  std::string role;
};

// The files one model on disk is made of: the model file and the external data files it points into.
struct ModelFiles {
  std::filesystem::path model;
  std::vector<std::filesystem::path> data;  // each once, in the order first referenced
};

// `files` as inputs of a command: "<role>" for the model, "external data of <role>" for its data.
std::vector<InputFile> AsInputs(const ModelFiles& files, const std::string& role);

// Reads a model and loads every externally stored tensor into memory (raw_data), so the returned
// proto is self-contained. Errors name the file and say what is wrong with it. External data must
// resolve, symlinks followed, to a file inside the model's folder. With `files`, also says which
// files were read.
Result<onnx::ModelProto> LoadModel(const std::filesystem::path& path, ModelFiles* files = nullptr);

// Parses serialized bytes; `origin` names the source in error messages.
Result<onnx::ModelProto> ParseModel(std::string_view bytes, std::string_view origin);

// Protobuf's hard limit on one serialized message.
inline constexpr int64_t kMaxProtoBytes = (int64_t{1} << 31) - 1;

enum class ExternalData {
  kAuto,    // external only when the model would not fit in one 2 GB protobuf
  kAlways,  // every initializer above the threshold goes to `<output>.<content hash>.data`
  kNever,
};

enum class Durability {
  kFlushToDisk,  // fsync each file before it is published: a power cut leaves the old or the new output
  kCacheOnly,    // no fsync: for scratch files a crash makes worthless anyway
};

struct SaveOptions {
  ExternalData external_data = ExternalData::kAuto;
  int64_t external_threshold_bytes = 1024;
  // kAuto goes external when the model serializes to this many bytes or more. Only tests lower it, to
  // exercise the over-2-GB path on a small model.
  int64_t max_proto_bytes = kMaxProtoBytes;
  Durability durability = Durability::kFlushToDisk;
  // Files the save must leave alone: the output may be none of them, and none is removed as the old
  // output's data.
  std::vector<InputFile> inputs;
};

// Writes `model` to `path`, refusing a path that is one of options.inputs or exists and is not a regular
// file or a symlink (CheckOutputPath). With `files`, says which files make up the saved model.
//
// One file: written under a fresh temporary name beside `path`, then renamed over it.
//
// With external data, the data file's name carries the XXH64 hash of its content,
// `<path>.<16 hex digits>.data`, so a model only ever names the data written with it. The steps
// (SaveStep in src/io/save_model_steps.h), and what a kill after each leaves:
//   1. the data and the model are written, and flushed, under temporary names `<path>.tmp-XXXXXXXXXXXX`:
//      the old model and its data are untouched; the temporaries remain (a SIGINT or SIGTERM in the
//      CLI removes them).
//   2. the data is renamed to its hashed name: the old model still names its own data file, which
//      is still there; the new data file is unused (a later save of the same content reuses its name).
//   3. the model is renamed over `path`, last: readers now get the new model with its new data; the
//      old data file is still there, unused.
//   4. the old model's data files are removed, only those onnxq would have written for `path`
//      (`<path>.data` or `<path>.<hash>.data`), never one of options.inputs nor the new data file.
// A reader never pairs one save's model with another save's data: there is no step at which a model
// file names a data file of other content. Two saves racing to one path leave one of the two models,
// complete; the other's data file may stay behind, unused. A copy of the model file made by hand
// shares the data file with the output, and a later save of the output removes it: copy the data with it.
Status SaveModel(const onnx::ModelProto& model, const std::filesystem::path& path, const SaveOptions& options = {},
                 ModelFiles* files = nullptr);

// True when the model serializes to fewer than `max_proto_bytes` bytes (one protobuf, under 2 GB).
bool FitsInOneProto(const onnx::ModelProto& model, int64_t max_proto_bytes = kMaxProtoBytes);

// Writes `content` to `path` atomically (a fresh temporary file beside it, flushed, then renamed over
// it), with the same refusals as SaveModel: `path` may not be one of `inputs`, nor a directory, device
// or fifo.
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view content,
                           std::span<const InputFile> inputs = {});

}  // namespace onnxq
