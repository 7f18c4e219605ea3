// A model's large weights held in a temporary file instead of memory, while the model only runs in
// inference sessions (calibration): the engine reads them from the file itself, so the process does not
// hold them twice, once in the model and once in the engine.
//
//   Before:  initializer W { dims, raw_data: 573 MB }
//   During:  initializer W { dims, data_location: EXTERNAL, location: "/tmp/onnxq-.../weights.data",
//                            offset, length }   (the file removed with the WeightsOnDisk)
//   After:   initializer W { dims, raw_data: the same 573 MB }   (Restore)
//
// The location is absolute, unlike in a model on disk: the inference backend opens such a model with
// the folder of its data file (onnxruntime_backend.cc). Offsets are 4 KiB aligned, so the engine can
// memory-map the file.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <optional>

#include "io/file_safety.h"
#include "onnxq/status.h"

namespace onnxq {

class WeightsOnDisk {
 public:
  // Moves the raw data of every initializer of the main graph of at least `min_tensor_bytes` into a
  // temporary file when they add up to at least `min_total_bytes`; otherwise leaves the model as it is.
  static Result<WeightsOnDisk> Move(onnx::ModelProto& model, int64_t min_tensor_bytes, int64_t min_total_bytes);

  // Reads the moved weights back into raw data; the model is then as before Move.
  Status Restore(onnx::ModelProto& model);

  // The same, keeping the file: a copy of the model made while its weights were moved (which holds
  // only their locations) can still be restored.
  Status ReadBack(onnx::ModelProto& model) const;

  bool moved() const { return folder_.has_value(); }

 private:
  std::optional<TemporaryFolder> folder_;
};

// The folder holding the external data of `model` when its initializers name their data file by
// absolute path (WeightsOnDisk), with every location then rewritten to the file's name; nullopt, and
// the model unchanged, when none does.
std::optional<std::filesystem::path> RelativizeAbsoluteExternalData(onnx::ModelProto& model);

}  // namespace onnxq
