// The steps of SaveModel (include/onnxq/model_io.h) one by one, so a test can stop after any of them
// and see what a kill at that point leaves behind.
#pragma once

#include <onnx/onnx_pb.h>

#include <filesystem>

#include "onnxq/model_io.h"
#include "onnxq/status.h"

namespace onnxq {

enum class SaveStep {
  kTemporariesWritten,  // 1. the model (and its data) complete and flushed under temporary names
  kDataPublished,       // 2. the data renamed to `<path>.<hash>.data` (nothing to do for one file)
  kModelPublished,      // 3. the model renamed over `path`
  kDone,                // 4. the old model's data files removed
};

// SaveModel, ending right after `last` as a kill there would: temporaries not yet renamed stay where
// they are. SaveModel is SaveModelThrough(..., SaveStep::kDone, ...).
Status SaveModelThrough(const onnx::ModelProto& model, const std::filesystem::path& path, const SaveOptions& options,
                        SaveStep last, ModelFiles* files = nullptr);

}  // namespace onnxq
