#include "onnxq/open_data.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <utility>

#include "io/image_folder_reader.h"

namespace onnxq {
namespace fs = std::filesystem;

namespace {

struct ModelInput {
  std::string name;
  bool has_shape = false;      // the model gives the input's rank
  std::vector<int64_t> shape;  // -1 for dynamic
};

std::vector<ModelInput> ModelInputs(const onnx::ModelProto& model) {
  std::set<std::string> initializers;
  for (const auto& init : model.graph().initializer()) initializers.insert(init.name());
  std::vector<ModelInput> inputs;
  for (const auto& in : model.graph().input()) {
    if (initializers.contains(in.name())) continue;
    ModelInput mi{.name = in.name(), .has_shape = in.type().tensor_type().has_shape()};
    for (const auto& d : in.type().tensor_type().shape().dim())
      mi.shape.push_back(d.has_dim_value() ? d.dim_value() : -1);
    inputs.push_back(std::move(mi));
  }
  return inputs;
}

// An entry of DataSource::paths: NAME=PATH (name given) or a path (name empty).
struct Entry {
  std::string name;
  fs::path path;
};

Entry SplitEntry(const std::string& entry) {
  std::error_code ec;
  if (const auto eq = entry.find('='); eq != std::string::npos && !fs::exists(entry, ec)) {
    return {entry.substr(0, eq), entry.substr(eq + 1)};
  }
  return {"", entry};
}

// How the samples of `path` feed model input `name` (NpySampleLayout). Raw files, files that are not
// there (OpenArrayFiles reports them) and inputs of unknown rank keep the batch-axis layout.
Result<SampleLayout> LayoutOf(const fs::path& path, const std::string& name, const std::vector<ModelInput>& inputs) {
  const auto input = std::find_if(inputs.begin(), inputs.end(), [&](const ModelInput& in) { return in.name == name; });
  std::error_code ec;
  if (input == inputs.end() || !input->has_shape || path.extension() != ".npy" || !fs::exists(path, ec)) {
    return SampleLayout::kBatchAxis;
  }
  return NpySampleLayout(path, name, input->shape.size());
}

// The .npz samples `paths` names: .npz files, and folders holding .npz files (each sorted by name), in
// the order given; none when it names other data. Mixing the two is an error.
Result<std::vector<fs::path>> NpzFiles(const std::vector<std::string>& paths) {
  std::vector<fs::path> files;
  std::string other;  // an entry that is not .npz samples
  for (const auto& entry : paths) {
    std::error_code ec;
    std::vector<fs::path> listed;
    if (fs::is_directory(entry, ec)) {
      ONNXQ_ASSIGN_OR_RETURN(listed, NpzFilesIn(entry));
    } else if (fs::path(entry).extension() == ".npz") {
      listed.emplace_back(entry);
    }
    if (listed.empty()) {
      other = entry;
    } else {
      files.insert(files.end(), listed.begin(), listed.end());
    }
  }
  if (!files.empty() && !other.empty()) {
    return InvalidArgument("calibration data '" + other +
                           "' is not .npz samples, but other entries are: give .npz files and folders of them only, "
                           "or .npy and raw files only");
  }
  return files;
}

// Array files: one .npy or raw file per input, as entries, a folder of <input>.npy, or one file.
Result<std::unique_ptr<CalibrationDataReader>> OpenArrays(const DataSource& source, const onnx::ModelProto& model) {
  const auto inputs = ModelInputs(model);
  // The shape of one sample of a raw file (no batch axis); empty when unknown.
  auto sample_shape = [&](const std::string& name) {
    std::vector<int64_t> shape;
    if (const auto it = source.input_shapes.find(name); it != source.input_shapes.end()) {
      shape = it->second;
    } else {
      for (const auto& in : inputs) {
        if (in.name == name) shape = in.shape;
      }
    }
    if (!shape.empty()) shape.erase(shape.begin());  // drop the batch axis
    for (int64_t d : shape) {
      if (d < 0) return std::vector<int64_t>{};
    }
    return shape;
  };
  std::vector<ArrayFileSpec> files;
  for (const auto& text : source.paths) {
    const Entry entry = SplitEntry(text);
    if (!entry.name.empty()) {
      ONNXQ_ASSIGN_OR_RETURN(const SampleLayout layout, LayoutOf(entry.path, entry.name, inputs));
      files.push_back({entry.name, entry.path, sample_shape(entry.name), ElementType::kFloat, layout});
    } else if (fs::is_directory(entry.path)) {
      for (const auto& in : inputs) {
        const fs::path path = entry.path / (in.name + ".npy");
        if (!fs::exists(path)) {
          return NotFound("calibration folder '" + text + "' has no '" + path.filename().string() + "' for input '" +
                          in.name + "'");
        }
        ONNXQ_ASSIGN_OR_RETURN(const SampleLayout layout, LayoutOf(path, in.name, inputs));
        files.push_back({in.name, path, {}, ElementType::kFloat, layout});
      }
    } else {
      if (inputs.size() != 1) {
        return InvalidArgument("the model has " + std::to_string(inputs.size()) +
                               " inputs: give --calib-data NAME=PATH for each, or a folder of NAME.npy files");
      }
      ONNXQ_ASSIGN_OR_RETURN(const SampleLayout layout, LayoutOf(entry.path, inputs[0].name, inputs));
      files.push_back({inputs[0].name, entry.path, sample_shape(inputs[0].name), ElementType::kFloat, layout});
    }
  }
  return OpenArrayFiles(files, {.batch_size = source.batch_size, .max_samples = source.max_samples});
}

}  // namespace

Result<std::unique_ptr<CalibrationDataReader>> OpenData(const DataSource& source, const onnx::ModelProto& model) {
  if (source.paths.size() == 1 && IsImageFolder(source.paths[0])) {
    ONNXQ_ASSIGN_OR_RETURN(const auto specs, ModelInputsOf(model));
    if (specs.size() != 1) {
      return InvalidArgument("images feed a model of one input; this one has " + std::to_string(specs.size()));
    }
    ONNXQ_ASSIGN_OR_RETURN(auto reader, ImageFolderReader::Open(source.paths[0], specs[0].name, specs[0].shape,
                                                                {.preprocess = source.images,
                                                                 .batch_size = source.batch_size,
                                                                 .max_samples = source.max_samples}));
    return std::unique_ptr<CalibrationDataReader>(std::move(reader));
  }
  ONNXQ_ASSIGN_OR_RETURN(const std::vector<fs::path> npz, NpzFiles(source.paths));
  if (!npz.empty()) {
    ONNXQ_ASSIGN_OR_RETURN(const auto specs, ModelInputsOf(model));
    return OpenNpzFiles(npz, specs, {.batch_size = source.batch_size, .max_samples = source.max_samples});
  }
  return OpenArrays(source, model);
}

std::vector<InputFile> DataInputs(const DataSource& source) {
  std::vector<InputFile> inputs;
  for (const auto& text : source.paths) {
    const fs::path path = SplitEntry(text).path;
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
        inputs.push_back({it->path(), "calibration data"});
      }
    } else {
      inputs.push_back({path, "calibration data"});
    }
  }
  return inputs;
}

}  // namespace onnxq
