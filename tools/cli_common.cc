#include "cli_common.h"

#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

#include "calibration/random_data_reader.h"
#include "io/image_folder_reader.h"

namespace onnxq::cli {
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

// The .npz samples `data` names: .npz files, and folders holding .npz files (each sorted by name), in
// the order given; none when it names other data. Mixing the two is an error.
Result<std::vector<fs::path>> NpzFiles(const std::vector<std::string>& data) {
  std::vector<fs::path> files;
  std::string other;  // an entry that is not .npz samples
  for (const auto& entry : data) {
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

}  // namespace

Result<std::map<std::string, std::vector<int64_t>>> ParseInputShapes(const std::vector<std::string>& specs) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& spec : specs) {
    const auto colon = spec.rfind(':');
    if (colon == std::string::npos) {
      return InvalidArgument("--input-shape '" + spec + "' must look like NAME:1,3,224,224");
    }
    std::vector<int64_t> dims;
    std::stringstream ss(spec.substr(colon + 1));
    for (std::string item; std::getline(ss, item, ',');) {
      try {
        dims.push_back(std::stoll(item));
      } catch (const std::exception&) {
        return InvalidArgument("--input-shape '" + spec + "' has a bad dimension '" + item + "'");
      }
    }
    shapes[spec.substr(0, colon)] = dims;
  }
  return shapes;
}

Result<std::map<std::string, std::string>> ParseKeyValues(const std::string& option,
                                                          const std::vector<std::string>& entries) {
  std::map<std::string, std::string> values;
  for (const auto& entry : entries) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument(option + " '" + entry + "' must look like KEY=VALUE");
    }
    values[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return values;
}

namespace {

// "0.5,0.4,0.3" (or one value for all three) as per-channel floats.
Result<std::array<float, 3>> ParseChannels(const std::string& option, const std::string& text) {
  std::vector<float> values;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    try {
      size_t used = 0;
      values.push_back(std::stof(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      return InvalidArgument(option + " '" + text + "': expected R,G,B numbers");
    }
  }
  if (values.size() == 1) values.assign(3, values[0]);
  if (values.size() != 3) return InvalidArgument(option + " '" + text + "': expected R,G,B (3 numbers)");
  return std::array<float, 3>{values[0], values[1], values[2]};
}

}  // namespace

void AddImageOptions(CLI::App* cmd, ImageArgs& args) {
  cmd->add_option("--preprocess", args.preset,
                  "Images (--calib-data FOLDER of .jpg/.png, flat or one sub-folder per class): a preprocessing "
                  "preset, imagenet (resize 256, crop 224, torchvision's mean and std, RGB, NCHW), unit ([0,1]), "
                  "symmetric ([-1,1]) or paddleocr (BGR, [-1,1]); the options below override it. Default unit, "
                  "size from the model's input");
  cmd->add_option("--color", args.color, "Images: gray, rgb or bgr channels (default rgb)");
  cmd->add_option("--mean", args.mean, "Images: R,G,B means subtracted from pixel values in [0,1]");
  cmd->add_option("--std", args.std, "Images: R,G,B deviations the pixel values are divided by, after --mean");
  cmd->add_option("--resize", args.resize,
                  "Images: resize the shorter side to N pixels, bilinear (default: just cover the crop)");
  cmd->add_option("--crop", args.crop, "Images: center crop H or H,W (default the model input's size)");
  cmd->add_option("--layout", args.layout, "Images: nchw or nhwc model input (default nchw)");
}

Result<ImagePreprocessOptions> ImagePreprocessOf(const ImageArgs& args) {
  ONNXQ_ASSIGN_OR_RETURN(ImagePreprocessOptions o, ImagePreprocessPreset(args.preset.empty() ? "unit" : args.preset));
  if (!args.color.empty()) {
    if (args.color == "gray") {
      o.color = ColorOrder::kGray;
    } else if (args.color == "rgb") {
      o.color = ColorOrder::kRgb;
    } else if (args.color == "bgr") {
      o.color = ColorOrder::kBgr;
    } else {
      return InvalidArgument("--color '" + args.color + "': expected gray, rgb or bgr");
    }
  }
  if (!args.layout.empty()) {
    if (args.layout == "nchw") {
      o.layout = ImageLayout::kNchw;
    } else if (args.layout == "nhwc") {
      o.layout = ImageLayout::kNhwc;
    } else {
      return InvalidArgument("--layout '" + args.layout + "': expected nchw or nhwc");
    }
  }
  if (!args.mean.empty()) {
    ONNXQ_ASSIGN_OR_RETURN(o.mean, ParseChannels("--mean", args.mean));
  }
  if (!args.std.empty()) {
    ONNXQ_ASSIGN_OR_RETURN(o.std, ParseChannels("--std", args.std));
  }
  for (const float s : o.std) {
    if (!(s > 0)) return InvalidArgument("--std '" + args.std + "': every deviation must be positive");
  }
  if (!args.crop.empty()) {
    const auto comma = args.crop.find(',');
    try {
      size_t used = 0;
      const std::string h = args.crop.substr(0, comma);
      o.crop_h = std::stoi(h, &used);
      if (used != h.size()) throw std::invalid_argument(h);
      o.crop_w = o.crop_h;
      if (comma != std::string::npos) {
        const std::string w = args.crop.substr(comma + 1);
        o.crop_w = std::stoi(w, &used);
        if (used != w.size()) throw std::invalid_argument(w);
      }
    } catch (const std::exception&) {
      o.crop_h = 0;
    }
    if (o.crop_h <= 0 || o.crop_w <= 0) return InvalidArgument("--crop '" + args.crop + "': expected H or H,W");
    if (args.resize < 0) o.resize_shorter = 0;  // a crop given alone: resize just to cover it
  }
  if (args.resize >= 0) o.resize_shorter = args.resize;
  return o;
}

std::string SkippedImagesText(int64_t skipped) {
  return std::to_string(skipped) + (skipped == 1 ? " unreadable image skipped" : " unreadable images skipped");
}

void PrintDataWarnings(const CalibrationDataReader* reader) {
  const auto* images = dynamic_cast<const ImageFolderReader*>(reader);
  if (images == nullptr) return;
  for (const auto& w : images->warnings()) std::cerr << "onnxq: warning: " << w << "\n";
}

Result<std::unique_ptr<CalibrationDataReader>> OpenData(const DataArgs& args, const onnx::ModelProto& model,
                                                        int64_t batch_size) {
  if (args.data.size() == 1 && IsImageFolder(args.data[0])) {
    ONNXQ_ASSIGN_OR_RETURN(const auto specs, ModelInputsOf(model));
    if (specs.size() != 1) {
      return InvalidArgument("images feed a model of one input; this one has " + std::to_string(specs.size()));
    }
    ONNXQ_ASSIGN_OR_RETURN(ImagePreprocessOptions preprocess, ImagePreprocessOf(args.images));
    ONNXQ_ASSIGN_OR_RETURN(
        auto reader,
        ImageFolderReader::Open(args.data[0], specs[0].name, specs[0].shape,
                                {.preprocess = preprocess, .batch_size = batch_size, .max_samples = args.max_samples}));
    return std::unique_ptr<CalibrationDataReader>(std::move(reader));
  }
  ONNXQ_ASSIGN_OR_RETURN(const std::vector<fs::path> npz, NpzFiles(args.data));
  if (!npz.empty()) {
    ONNXQ_ASSIGN_OR_RETURN(const auto specs, ModelInputsOf(model));
    return OpenNpzFiles(npz, specs, {.batch_size = batch_size, .max_samples = args.max_samples});
  }
  const auto inputs = ModelInputs(model);
  ONNXQ_ASSIGN_OR_RETURN(const auto shapes, ParseInputShapes(args.input_shapes));
  std::vector<ArrayFileSpec> files;
  auto sample_shape = [&](const std::string& name) {
    std::vector<int64_t> shape;
    if (const auto it = shapes.find(name); it != shapes.end()) {
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
  for (const auto& entry : args.data) {
    const auto eq = entry.find('=');
    if (eq != std::string::npos && !fs::exists(entry)) {
      const std::string name = entry.substr(0, eq);
      const fs::path path = entry.substr(eq + 1);
      ONNXQ_ASSIGN_OR_RETURN(const SampleLayout layout, LayoutOf(path, name, inputs));
      files.push_back({name, path, sample_shape(name), ElementType::kFloat, layout});
    } else if (fs::is_directory(entry)) {
      for (const auto& in : inputs) {
        const fs::path path = fs::path(entry) / (in.name + ".npy");
        if (!fs::exists(path)) {
          return NotFound("calibration folder '" + entry + "' has no '" + path.filename().string() + "' for input '" +
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
      ONNXQ_ASSIGN_OR_RETURN(const SampleLayout layout, LayoutOf(entry, inputs[0].name, inputs));
      files.push_back({inputs[0].name, entry, sample_shape(inputs[0].name), ElementType::kFloat, layout});
    }
  }
  return OpenArrayFiles(files, {.batch_size = batch_size, .max_samples = args.max_samples});
}

std::vector<InputFile> DataInputs(const DataArgs& args) {
  std::vector<InputFile> inputs;
  for (const auto& entry : args.data) {
    std::error_code ec;
    fs::path path = entry;
    if (const auto eq = entry.find('='); eq != std::string::npos && !fs::exists(entry, ec)) path = entry.substr(eq + 1);
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

Result<std::unique_ptr<CalibrationDataReader>> OpenBenchmarkData(const DataArgs& args,
                                                                 const onnx::ModelProto& float_model, int64_t samples) {
  if (!args.data.empty()) {
    DataArgs first = args;
    first.max_samples = samples;
    return OpenData(first, float_model, 1);
  }
  ONNXQ_ASSIGN_OR_RETURN(auto shapes, ParseInputShapes(args.input_shapes));
  ONNXQ_ASSIGN_OR_RETURN(RandomData random,
                         MakeRandomDataReader(float_model, {.input_shapes = std::move(shapes), .samples = samples}));
  return std::move(random.reader);
}

void PrintLatency(const LatencyComparison& latency, int repeats) {
  std::ostringstream line;
  line << std::fixed << std::setprecision(2) << "  latency per sample    float " << latency.float_seconds * 1e3
       << " ms, quantized " << latency.quantized_seconds * 1e3 << " ms ("
       << latency.quantized_seconds / latency.float_seconds << "x float; median of " << repeats << " passes over "
       << latency.samples << " samples, batch 1)\n";
  std::cout << line.str();
}

namespace {

// m:ss, or h:mm:ss from an hour on.
std::string FormatDuration(double seconds) {
  const int64_t whole = std::llround(std::max(0.0, seconds));
  char text[32];
  if (whole >= 3600) {
    std::snprintf(text, sizeof(text), "%lld:%02lld:%02lld", static_cast<long long>(whole / 3600),
                  static_cast<long long>(whole / 60 % 60), static_cast<long long>(whole % 60));
  } else {
    std::snprintf(text, sizeof(text), "%lld:%02lld", static_cast<long long>(whole / 60),
                  static_cast<long long>(whole % 60));
  }
  return text;
}

}  // namespace

std::string ProgressLine(const std::string& stage, int64_t done, int64_t total, double elapsed) {
  std::ostringstream line;
  if (total <= 0) {
    line << stage << " " << done << " samples " << FormatDuration(elapsed);
    return line.str();
  }
  constexpr int kWidth = 40;
  const int64_t clamped = std::clamp<int64_t>(done, 0, total);
  const auto filled = static_cast<size_t>(kWidth * clamped / total);
  line << stage << " [" << std::string(filled, '#') << std::string(kWidth - filled, '.') << "] " << done << "/" << total
       << " " << FormatDuration(elapsed) << " elapsed";
  if (clamped > 0 && clamped < total) {
    line << ", ETA " << FormatDuration(elapsed * static_cast<double>(total - clamped) / static_cast<double>(clamped));
  }
  return line.str();
}

ProgressCallback MakeProgressBar() {
  if (::isatty(STDERR_FILENO) == 0) return {};
  struct Stage {
    std::string name;
    int64_t done = -1;
    std::chrono::steady_clock::time_point start;
  };
  auto current = std::make_shared<Stage>();
  return [current](const std::string& stage, int64_t done, int64_t total) {
    const auto now = std::chrono::steady_clock::now();
    // A new stage, or the same one started again, restarts the clock.
    if (stage != current->name || done < current->done) *current = {stage, done, now};
    current->done = done;
    const double elapsed = std::chrono::duration<double>(now - current->start).count();
    // Padded so that a shorter frame covers the longer one before it.
    std::cerr << "\r" << ProgressLine(stage, done, total, elapsed) << "   " << std::flush;
    if (total > 0 && done >= total) std::cerr << "\n";
  };
}

std::string FormatBytes(int64_t bytes) {
  std::ostringstream out;
  out.precision(2);
  out << std::fixed;
  if (bytes >= (int64_t{1} << 30)) {
    out << static_cast<double>(bytes) / (1 << 30) << " GiB";
  } else if (bytes >= (1 << 20)) {
    out << static_cast<double>(bytes) / (1 << 20) << " MiB";
  } else {
    out << static_cast<double>(bytes) / 1024 << " KiB";
  }
  return out.str();
}

int64_t ModelBytes(const ModelFiles& files) {
  int64_t bytes = 0;
  auto add = [&bytes](const fs::path& path) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (!ec) bytes += static_cast<int64_t>(size);
  };
  add(files.model);
  for (const auto& path : files.data) add(path);
  return bytes;
}

void NoteAutomaticExternalData(const SaveOptions& save, const ModelFiles& written) {
  if (save.external_data != ExternalData::kAuto || written.data.empty()) return;
  std::cerr << "onnxq: note: '" << written.model.string() << "' is over protobuf's 2 GB limit, so its tensors are in "
            << "external data: '" << written.data.front().filename().string()
            << "' beside it (keep the two files together)\n";
}

int ExitCodeOf(const Status& status) { return status.code() == StatusCode::kInternal ? 3 : 1; }

int Fail(const Status& status) {
  std::cerr << "onnxq: error: " << status.message() << "\n";
  return ExitCodeOf(status);
}

}  // namespace onnxq::cli
