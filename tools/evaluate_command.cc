#include <nlohmann/json.hpp>

#include <iomanip>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>

#include "cli_common.h"
#include "commands.h"
#include "onnxq/evaluate.h"
#include "onnxq/model_io.h"

namespace onnxq::cli {
namespace {

struct EvaluateArgs {
  std::vector<std::string> models;
  DataArgs data;
  std::string labels;
  bool json = false;
  bool quiet = false;
};

// One model's row of the comparison: its report, size, and against the first model its top-1
// agreement and time (both empty for the first).
struct ModelRow {
  std::string path;
  int64_t bytes = 0;
  AccuracyReport report;
  std::optional<double> agreement;   // percent of samples with the first model's top-1
  std::optional<double> time_ratio;  // run time over the first model's
};

// Runs of the model's fixed batch, else of --batch-size samples (default 32).
int64_t BatchSizeOf(const onnx::ModelProto& model, const DataArgs& data) {
  int64_t batch = 0;
  const auto& shape = model.graph().input(0).type().tensor_type().shape();
  if (shape.dim_size() > 0 && shape.dim(0).has_dim_value()) batch = shape.dim(0).dim_value();
  if (batch <= 0) batch = data.batch_size > 0 ? data.batch_size : 32;
  return batch;
}

std::string Fixed(double value, int digits) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(digits) << value;
  return text.str();
}

// The table: file, MB (10^6 bytes), Prec@1, Prec@5, then agreement and time against the first model,
// images/s and mean ms per batch.
void PrintTable(const std::vector<ModelRow>& rows) {
  size_t width = 4;
  for (const auto& row : rows) width = std::max(width, row.path.size());
  const int w = static_cast<int>(width);
  std::cout << std::left << std::setw(w) << "file" << std::right << std::setw(9) << "MB" << std::setw(9) << "Prec@1"
            << std::setw(9) << "Prec@5" << std::setw(11) << "agree@1" << std::setw(13) << "vs first" << std::setw(12)
            << "images/s" << std::setw(11) << "ms/batch"
            << "\n";
  for (const auto& row : rows) {
    const AccuracyReport& r = row.report;
    std::cout << std::left << std::setw(w) << row.path << std::right << std::setw(9)
              << Fixed(static_cast<double>(row.bytes) / 1e6, 2) << std::setw(9) << Fixed(r.top1, 2) << std::setw(9)
              << Fixed(r.top5, 2) << std::setw(11) << (row.agreement ? Fixed(*row.agreement, 2) + "%" : "-")
              << std::setw(13) << (row.time_ratio ? Fixed(*row.time_ratio, 2) + "x time" : "-") << std::setw(12)
              << Fixed(r.SamplesPerSecond(), 1) << std::setw(11) << Fixed(r.SecondsPerBatch() * 1e3, 3) << "\n";
  }
  const AccuracyReport& first = rows.front().report;
  std::cout << "(" << first.samples << " samples";
  if (first.skipped > 0) std::cout << ", " << SkippedImagesText(first.skipped);
  std::cout << ")\n";
}

nlohmann::ordered_json EvaluateJson(const EvaluateArgs& args, const std::vector<ModelRow>& rows) {
  nlohmann::ordered_json models = nlohmann::ordered_json::array();
  const auto or_null = [](const std::optional<double>& v) {
    return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
  };
  for (const auto& row : rows) {
    const AccuracyReport& r = row.report;
    models.push_back({{"file", row.path},
                      {"bytes", row.bytes},
                      {"top1", r.top1},
                      {"top5", r.top5},
                      {"top1_agreement", or_null(row.agreement)},
                      {"time_vs_first", or_null(row.time_ratio)},
                      {"images_per_second", r.SamplesPerSecond()},
                      {"ms_per_batch", r.SecondsPerBatch() * 1e3},
                      {"batches", r.batches},
                      {"seconds", r.seconds}});
  }
  return {{"command", "evaluate"},
          {"data", args.data.data},
          {"labels", args.labels.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(args.labels)},
          {"samples", rows.front().report.samples},
          {"skipped", rows.front().report.skipped},
          {"models", std::move(models)}};
}

}  // namespace

Command AddEvaluateCommand(CLI::App& app) {
  auto args = std::make_shared<EvaluateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "evaluate",
      "Top-1 / top-5 accuracy and speed of one or more classifiers on labelled data; several models side by side, "
      "each after the first compared with it (top-1 agreement, time)");
  cmd->add_option("models", args->models, "ONNX models to evaluate (e.g. float and quantized)")->required();
  cmd->add_option("--data", args->data.data,
                  "Evaluation inputs: .npy [N, ...], raw file, NAME=PATH, or .npz samples (files or folders, as "
                  "--calib-data of quantize takes them; labels follow the samples in file-name order). Or a folder "
                  "of .jpg/.png images for a model of one image input, preprocessed as --preprocess, --color, --mean, "
                  "--std, --resize, --crop and --layout say: with one sub-folder per class the labels are the "
                  "indices of the sorted class-folder names (no --labels needed); unreadable images are skipped with "
                  "a warning and counted")
      ->required();
  cmd->add_option("--labels", args->labels,
                  "Labels: one uint8 per sample (.u8) or an integer .npy; needed unless --data is a folder of class "
                  "sub-folders of images");
  cmd->add_option("--input-shape", args->data.input_shapes, "NAME:1,3,224,224 for raw data files");
  AddImageOptions(cmd, args->data.images);
  cmd->add_option("--batch-size", args->data.batch_size, "Samples per run when the batch axis is dynamic (default 32)")
      ->check(CLI::Range(int64_t{1}, kMaxCalibrationBatch));
  cmd->add_option("--max-samples", args->data.max_samples,
                  "Evaluate only the first N samples (images: N taken evenly across classes; default: all, and then "
                  "there must be a label per sample)")
      ->check(CLI::Range(int64_t{1}, std::numeric_limits<int64_t>::max()));
  cmd->add_flag("--json", args->json,
                "Print one JSON object on stdout instead of the table: data, labels, samples, skipped images, and per "
                "model its file, bytes, top1, top5, top1_agreement and time_vs_first (null for the first), "
                "images_per_second, ms_per_batch");
  cmd->add_flag("-q,--quiet", args->quiet, "Print nothing but errors (and the warnings of skipped images)");

  const auto check = [args] {
    if (Status s = ImagePreprocessOf(args->data.images).status(); !s.ok()) return s;
    return ParseInputShapes(args->data.input_shapes).status();
  };
  const auto run = [args]() -> int {
    std::vector<int64_t> labels;
    if (!args->labels.empty()) {
      auto loaded = LoadLabels(args->labels);
      if (!loaded.ok()) return Fail(loaded.status());
      labels = std::move(loaded).value();
    }
    std::vector<ModelRow> rows;
    for (const auto& path : args->models) {
      ModelFiles files;
      auto model = LoadModel(path, &files);
      if (!model.ok()) return Fail(model.status());
      if (model->graph().input_size() == 0) return Fail(InvalidModel("'" + path + "' has no inputs"));
      auto reader = OpenData(args->data, *model, BatchSizeOf(*model, args->data));
      if (!reader.ok()) return Fail(reader.status());
      // The bar, when stderr is a terminal, names the model.
      ProgressCallback progress;
      if (ProgressCallback bar = MakeProgressBar(); bar && !args->quiet && !args->json) {
        progress = [bar, path](const std::string&, int64_t done, int64_t total) { bar(path, done, total); };
      }
      auto report = EvaluateClassifier(*model, **reader, labels, {.progress = progress});
      // Skipped images leave the bar short of the count listed: end its line.
      if (progress && report.ok() && report->samples != (*reader)->SampleCount()) {
        progress("", report->samples, report->samples);
      }
      if (rows.empty()) PrintDataWarnings(reader->get());  // the same files are skipped for every model
      if (!report.ok()) return Fail(Status(report.status().code(), path + ": " + report.status().message()));
      if (!labels.empty() && args->data.max_samples < 0 && report->samples < static_cast<int64_t>(labels.size())) {
        std::cerr << "onnxq: note: '" << args->labels << "' holds " << labels.size() << " labels but the data has "
                  << report->samples << " samples: the first " << report->samples << " labels were used\n";
      }
      ModelRow row{.path = path, .bytes = ModelBytes(files), .report = std::move(report).value()};
      if (!rows.empty()) {
        auto agreement = Top1Agreement(rows.front().report, row.report);
        if (!agreement.ok()) return Fail(Status(agreement.status().code(), path + ": " + agreement.status().message()));
        row.agreement = *agreement;
        const double first = rows.front().report.run_seconds;
        if (first > 0) row.time_ratio = row.report.run_seconds / first;
      }
      rows.push_back(std::move(row));
    }
    if (args->json) {
      std::cout << EvaluateJson(*args, rows).dump(2) << "\n";
    } else if (!args->quiet) {
      PrintTable(rows);
    }
    return 0;
  };
  return {check, run, [args] { *args = EvaluateArgs{}; }};
}

}  // namespace onnxq::cli
