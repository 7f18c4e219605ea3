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
#include <sstream>

#include "calibration/random_data_reader.h"
#include "io/image_folder_reader.h"

namespace onnxq::cli {
namespace fs = std::filesystem;

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

Result<DataSource> DataSourceOf(const DataArgs& args, int64_t batch_size) {
  DataSource source{.paths = args.data, .batch_size = batch_size, .max_samples = args.max_samples};
  ONNXQ_ASSIGN_OR_RETURN(source.input_shapes, ParseInputShapes(args.input_shapes));
  // The image options apply to one folder of images, and only then is a bad one an error.
  if (args.data.size() == 1 && IsImageFolder(args.data[0])) {
    ONNXQ_ASSIGN_OR_RETURN(source.images, ImagePreprocessOf(args.images));
  }
  return source;
}

Result<std::unique_ptr<CalibrationDataReader>> OpenData(const DataArgs& args, const onnx::ModelProto& model,
                                                        int64_t batch_size) {
  ONNXQ_ASSIGN_OR_RETURN(const DataSource source, DataSourceOf(args, batch_size));
  return onnxq::OpenData(source, model);
}

std::vector<InputFile> DataInputs(const DataArgs& args) { return onnxq::DataInputs(DataSource{.paths = args.data}); }

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
  if (latency.quantized_seconds >= latency.float_seconds) {
    std::cerr << "onnxq: warning: the quantized model ran no faster than the float one on this machine's CPU; "
                 "its integer kernels do not pay for this model's ops here (`onnxq inspect` lists the node groups)\n";
  }
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
