// Helpers shared by the onnxq subcommands: calibration data arguments, progress bar, error exit.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "onnxq/data_reader.h"
#include "onnxq/image_preprocess.h"
#include "onnxq/latency.h"
#include "onnxq/model_io.h"
#include "onnxq/open_data.h"
#include "onnxq/quantize.h"

namespace CLI {
class App;
}  // namespace CLI

namespace onnxq::cli {

// How a folder of images becomes samples (image_preprocess.h): a preset, then the options given, each
// overriding it. Empty or negative: not given.
struct ImageArgs {
  std::string preset;  // imagenet, unit, symmetric, paddleocr (default unit: [0, 1], size from the model)
  std::string color;   // gray, rgb, bgr
  std::string mean;    // R,G,B (one value: all three)
  std::string std;
  int resize = -1;     // shorter side; 0: just cover the crop
  std::string crop;    // H or H,W
  std::string layout;  // nchw, nhwc
};

// "--calib-data PATH" entries and the options that go with them, as given: DataSourceOf turns them into
// the library's DataSource (onnxq/open_data.h says what the entries may be).
struct DataArgs {
  std::vector<std::string> data;          // PATH or NAME=PATH
  std::vector<std::string> input_shapes;  // NAME:1,3,224,224
  int64_t batch_size = 0;
  int64_t max_samples = -1;
  ImageArgs images;  // when `data` is one folder of images (or of class folders of images)
};

// The image options (--preprocess, --color, --mean, --std, --resize, --crop, --layout) into `args`.
void AddImageOptions(CLI::App* cmd, ImageArgs& args);

// The preprocessing `args` asks for. A bad value is an error naming its option.
Result<ImagePreprocessOptions> ImagePreprocessOf(const ImageArgs& args);

// "1 unreadable image skipped", "3 unreadable images skipped": the count of ImageFolderReader's warnings.
std::string SkippedImagesText(int64_t skipped);

// "onnxq: warning: skipped image '...': ..." on stderr for each image `reader` skipped, when it reads
// images.
void PrintDataWarnings(const CalibrationDataReader* reader);

Result<std::map<std::string, std::vector<int64_t>>> ParseInputShapes(const std::vector<std::string>& specs);

// "KEY=VALUE" entries of `option` as a map (a later entry for the same key wins).
Result<std::map<std::string, std::string>> ParseKeyValues(const std::string& option,
                                                          const std::vector<std::string>& entries);

// The data source `args` gives, with batches of `batch_size` samples. A bad --input-shape is an error,
// and so is a bad image option when the data is one folder of images.
Result<DataSource> DataSourceOf(const DataArgs& args, int64_t batch_size);

// Opens the data of `args` for `model` (onnxq::OpenData of DataSourceOf).
Result<std::unique_ptr<CalibrationDataReader>> OpenData(const DataArgs& args, const onnx::ModelProto& model,
                                                        int64_t batch_size);

// The samples a latency benchmark runs on, one per run (batch 1): the first `samples` of `args`' data,
// else `samples` random ones in [0, 1) (shapes from the model or args.input_shapes).
Result<std::unique_ptr<CalibrationDataReader>> OpenBenchmarkData(const DataArgs& args,
                                                                 const onnx::ModelProto& float_model, int64_t samples);

// "  latency per sample    float 1.27 ms, quantized 1.52 ms (1.20x float; ...)" on stdout, and a warning on
// stderr when the quantized model was not the faster one.
void PrintLatency(const LatencyComparison& latency, int repeats);

// One frame of the progress bar: "calibrate [#####...] 120/1000 0:12 elapsed, ETA 1:28" with `elapsed`
// seconds since the stage began; the ETA assumes the rate so far and is left out until something is
// done. Without a total (a reader of unknown length): "calibrate 120 samples 0:12".
std::string ProgressLine(const std::string& stage, int64_t done, int64_t total, double elapsed);

// A progress bar with the time elapsed and an ETA on stderr when it is a terminal; silent otherwise.
ProgressCallback MakeProgressBar();

// The calibration data files `args` names (onnxq::DataInputs), as inputs no output may be.
std::vector<InputFile> DataInputs(const DataArgs& args);

std::string FormatBytes(int64_t bytes);
// Bytes of a model on disk: the model file and its external data files.
int64_t ModelBytes(const ModelFiles& files);
// Tells the user (stderr) when `save` chose external data by itself because the model would not fit
// in one protobuf: the model file is then only valid beside its data file.
void NoteAutomaticExternalData(const SaveOptions& save, const ModelFiles& written);

// The exit code for a failure: 3 for an internal error (a bug), else 1.
int ExitCodeOf(const Status& status);

// Prints "onnxq: error: <message>" to stderr and returns the exit code for it.
int Fail(const Status& status);

}  // namespace onnxq::cli
