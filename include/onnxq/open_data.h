// Calibration and evaluation data from files, opened by what the files are: what `onnxq quantize
// --calib-data` and Python's quantize_static(calibration_data_path=...) read.
//
//   - one .npy file [N, ...] (or raw little-endian float32 with a shape) for a model of one input;
//   - NAME=PATH entries, one per input, each a .npy or raw file;
//   - a folder of <input name>.npy files, one per input;
//   - .npz samples: .npz files, and folders of them read in file-name order (data_reader.h's layout);
//   - one folder of .jpg / .png images, flat or one sub-folder per class, for a model of one image input
//     (ImageFolderReader), preprocessed as DataSource::images says.
//
// A .npy file holds its samples along axis 0, and its rank against the model input's decides how they
// are fed (SampleLayout): as many axes, sample i is x[i:i+1]; one more, x[i] whole (then every batch
// holds one sample); any other rank is an error naming the file and the input.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "onnxq/data_reader.h"
#include "onnxq/image_preprocess.h"
#include "onnxq/model_io.h"
#include "onnxq/status.h"

namespace onnxq {

struct DataSource {
  // Paths, or NAME=PATH for the model input NAME (an entry naming an existing file is a path, '=' or not).
  std::vector<std::string> paths;
  // Shapes of inputs read from raw files, batch axis first (x -> [1, 3, 224, 224]); without one, the
  // model's shape, which must then be fixed but for the batch axis.
  std::map<std::string, std::vector<int64_t>> input_shapes;
  int64_t batch_size = 1;    // samples per batch
  int64_t max_samples = -1;  // -1: all
  // A folder of images: the "unit" preset by default ([0, 1], size from the model's input).
  ImagePreprocessOptions images = {.resize_shorter = 0, .crop_h = 0, .crop_w = 0};
};

// Opens `source` for `model`: a reader of one batch at a time. Errors name the entry, the file or the
// input and what to give instead.
Result<std::unique_ptr<CalibrationDataReader>> OpenData(const DataSource& source, const onnx::ModelProto& model);

// The files `source` names (for a folder, every file in it), as inputs no output may be (SaveOptions).
std::vector<InputFile> DataInputs(const DataSource& source);

}  // namespace onnxq
