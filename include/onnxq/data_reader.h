// Calibration and evaluation data: a reader hands out one batch of model inputs at a time, so
// memory never depends on the size of the data set (vai_q_onnx's CalibrationDataReader.get_next()).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "onnxq/status.h"
#include "onnxq/tensor.h"

namespace onnxq {

class CalibrationDataReader {
 public:
  virtual ~CalibrationDataReader() = default;
  // The next batch, or nullopt when the data is exhausted.
  virtual Result<std::optional<Feeds>> GetNext() = 0;
  // Starts again from the first batch (needed by algorithms that make a second pass).
  virtual Status Rewind() { return Unsupported("this data reader cannot rewind"); }
  // Number of samples the reader will produce, or -1 when unknown.
  virtual int64_t SampleCount() const { return -1; }
  // Class labels of the samples of the batch GetNext returned last, in order, when the data carries
  // them (a folder of class sub-folders of images); empty otherwise.
  virtual std::vector<int64_t> BatchLabels() const { return {}; }
  // Samples skipped since the first batch (or the last Rewind) because they could not be read (an
  // unreadable or corrupt image), each with a warning of the reader's own.
  virtual int64_t SkippedSamples() const { return 0; }
};

// Stacks consecutive batches of `reader` along axis 0 into batches of up to `batch_size` samples, for
// readers that hand out one sample at a time (a Python CalibrationDataReader's get_next()): runs of
// many samples cost far less than as many runs of one. Two batches stack when they hold the same
// inputs in the same order, each with a batch axis, of the same type and the same dimensions but the
// first; a batch that does not stack with the one before closes the stack and starts the next. A
// batch is never cut, so one of batch_size samples or more passes through whole. Errors of `reader`
// pass through as they come (the samples stacked before are dropped). Rewind and SampleCount are
// `reader`'s. A batch_size of 1 or less hands out `reader`'s batches as they are.
std::unique_ptr<CalibrationDataReader> StackBatches(std::unique_ptr<CalibrationDataReader> reader, int64_t batch_size);

// How the samples of an array file become model inputs. Samples always lie along the file's axis 0.
enum class SampleLayout {
  // The model's first axis is a batch axis: sample i is fed as x[i:i+1], and samples stack into
  // batches. A file with as many axes as the model input.
  kBatchAxis,
  // Sample i is fed as x[i], whole: a scalar input (file [N]) or a state whose first axis is not a
  // batch (LSTM h [2, batch, 64]: file [N, 2, batch, 64]). A file with one more axis than the model
  // input. Whole samples cannot be stacked, so every batch of a reader with such an input holds one.
  kWhole,
};

// One model input stored as an array file: `.npy` (shape and dtype from its header; first axis =
// samples) or raw little-endian data with a given per-sample shape and type.
struct ArrayFileSpec {
  std::string input_name;
  std::filesystem::path path;
  std::vector<int64_t> sample_shape;  // raw files only: shape of one sample, without the samples axis
  ElementType raw_type = ElementType::kFloat;
  SampleLayout layout = SampleLayout::kBatchAxis;
};

struct ArrayReaderOptions {
  int64_t batch_size = 1;    // samples per batch (the last batch may be smaller)
  int64_t max_samples = -1;  // stop after this many samples; -1: all
};

// Reads the files lazily, one batch at a time. All inputs must hold the same number of samples. With
// an input of layout kWhole every batch holds one sample, whatever options.batch_size says.
Result<std::unique_ptr<CalibrationDataReader>> OpenArrayFiles(const std::vector<ArrayFileSpec>& files,
                                                              const ArrayReaderOptions& options);

// Reads a numpy .npy header: dtype, shape and the byte offset of the data. Exposed for tools and tests.
struct NpyHeader {
  ElementType type = ElementType::kFloat;
  std::vector<int64_t> shape;
  int64_t data_offset = 0;
};
Result<NpyHeader> ReadNpyHeader(const std::filesystem::path& path);

// The layout of the .npy file `path` (samples along axis 0) for the model input `input_name` of
// `input_rank` axes: kBatchAxis when the file has as many axes (input_rank >= 1), kWhole when it has
// one more. Any other rank is an error naming the file, the input, both ranks and this rule.
Result<SampleLayout> NpySampleLayout(const std::filesystem::path& path, const std::string& input_name,
                                     size_t input_rank);

// Writes a C-ordered little-endian .npy file (atomically).
Status WriteNpy(const std::filesystem::path& path, const Tensor& tensor);

// ---------------------------------------------------------------------------------------------
// .npz samples: data whose shapes change from sample to sample (sequences, images of several sizes)
// and models whose inputs differ in type and rank, one numpy.savez file per sample:
//
//   numpy.savez("s0003.npz", x=features[None], sr=numpy.int64(16000), h=state)   # x [1,T,80]
//
// - Each .npz (numpy.savez, or numpy.savez_compressed) holds one member `<input>.npy` per model input,
//   and no other member. Its dtype is the input's (float32 for a float16 input).
// - A member with as many axes as the model input is the value as the model takes it. When the input's
//   axis 0 is a batch (FirstAxisIsBatch), that axis counts samples: a member [1,T,80] is one sample,
//   and a file may hold k samples of one shape as [k,T,80] (every such member of the file then has k).
//   Otherwise the member is one sample fed whole: a scalar, a state [2,N,64] or [1,N,64], an input of
//   a fixed batch of 8 given as [8,...].
// - A member with one more axis than the input holds samples along axis 0, each fed whole as m[i],
//   as a .npy file of that rank does (SampleLayout::kWhole): [k] for a scalar, [k,2,1,64] for a state.
//   Use it too for an input whose axis 0 the model leaves symbolic but is not a batch (a time-major
//   sequence [T,N,80] given as [1,T,1,80]).
// - Any other rank, a missing or extra member, another dtype, or a fixed dimension of the model that
//   the member does not match is an error naming the file and the member. The file's dimensions that
//   the model leaves symbolic may change from file to file.
// - Samples are read in the order of `files`; consecutive samples whose shapes are equal for every
//   input are stacked into one batch of up to options.batch_size samples, and a sample of another
//   shape starts a new batch (so name files so that equal shapes sort together to get full batches).
//   A sample with an input fed whole is never stacked: it is a batch of its own. A batch computes what
//   its samples give one at a time, for any model that treats the samples of a batch apart.
// - Every file's directory and headers are checked when the reader opens; the data is read one batch
//   at a time, so memory holds one batch whatever the number of files.

// A model input as data is matched against it.
struct ModelInputSpec {
  std::string name;
  ElementType type = ElementType::kFloat;  // what the data holds (float32 for a float16 input)
  bool has_shape = false;                  // whether the model gives the input's rank
  std::vector<int64_t> shape;              // -1 for a symbolic or unknown dimension
};

// The inputs of `model` that are not initializers, in order. An input of an element type no reader
// produces (string, double ...) is an error naming it.
Result<std::vector<ModelInputSpec>> ModelInputsOf(const onnx::ModelProto& model);

// Whether axis 0 of an input counts samples: when the model leaves it symbolic (or unknown), or gives 1
// while fixing every other axis ([1,3,224,224]). Not for a scalar, a state [2,N,64] or [1,N,64], a
// sequence [1,T,80] of a model with a fixed batch of 1, nor a fixed batch of 8: those are fed whole.
bool FirstAxisIsBatch(const ModelInputSpec& input);

// The .npz files of the folder `dir`, sorted by name (other files are left out).
Result<std::vector<std::filesystem::path>> NpzFilesIn(const std::filesystem::path& dir);

// Reads .npz samples laid out as described above, `files` in the order given.
Result<std::unique_ptr<CalibrationDataReader>> OpenNpzFiles(const std::vector<std::filesystem::path>& files,
                                                            const std::vector<ModelInputSpec>& inputs,
                                                            const ArrayReaderOptions& options);

}  // namespace onnxq
