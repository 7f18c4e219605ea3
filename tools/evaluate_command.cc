#include <iomanip>
#include <iostream>
#include <limits>
#include <memory>

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
};

}  // namespace

Command AddEvaluateCommand(CLI::App& app) {
  auto args = std::make_shared<EvaluateArgs>();
  CLI::App* cmd = app.add_subcommand("evaluate", "Top-1 / top-5 accuracy of one or more classifiers on labelled data");
  cmd->add_option("models", args->models, "ONNX models to evaluate (e.g. float and quantized)")->required();
  cmd->add_option("--data", args->data.data,
                  "Evaluation inputs: .npy [N, ...], raw file, NAME=PATH, or .npz samples (files or folders, as "
                  "--calib-data of quantize takes them; labels follow the samples in file-name order)")
      ->required();
  cmd->add_option("--labels", args->labels, "Labels: one uint8 per sample (.u8) or an integer .npy")->required();
  cmd->add_option("--input-shape", args->data.input_shapes, "NAME:1,3,224,224 for raw data files");
  cmd->add_option("--batch-size", args->data.batch_size, "Samples per run when the batch axis is dynamic (default 32)")
      ->check(CLI::Range(int64_t{1}, kMaxCalibrationBatch));
  cmd->add_option("--max-samples", args->data.max_samples,
                  "Evaluate only the first N samples (default: all, and then there must be a label per sample)")
      ->check(CLI::Range(int64_t{1}, std::numeric_limits<int64_t>::max()));

  const auto check = [args] { return ParseInputShapes(args->data.input_shapes).status(); };
  const auto run = [args]() -> int {
    auto labels = LoadLabels(args->labels);
    if (!labels.ok()) return Fail(labels.status());
    std::cout << std::left << std::setw(48) << "model" << std::right << std::setw(8) << "top-1" << std::setw(8)
              << "top-5" << std::setw(12) << "size" << std::setw(10) << "time"
              << "\n";
    for (const auto& path : args->models) {
      ModelFiles files;
      auto model = LoadModel(path, &files);
      if (!model.ok()) return Fail(model.status());
      int64_t batch = 0;
      if (model->graph().input_size() == 0) return Fail(InvalidModel("'" + path + "' has no inputs"));
      const auto& shape = model->graph().input(0).type().tensor_type().shape();
      if (shape.dim_size() > 0 && shape.dim(0).has_dim_value()) batch = shape.dim(0).dim_value();
      if (batch <= 0) batch = args->data.batch_size > 0 ? args->data.batch_size : 32;
      auto reader = OpenData(args->data, *model, batch);
      if (!reader.ok()) return Fail(reader.status());
      auto report = EvaluateClassifier(*model, **reader, *labels);
      if (!report.ok()) return Fail(Status(report.status().code(), path + ": " + report.status().message()));
      if (args->data.max_samples < 0 && report->samples < static_cast<int64_t>(labels->size())) {
        std::cerr << "onnxq: note: '" << args->labels << "' holds " << labels->size() << " labels but the data has "
                  << report->samples << " samples: the first " << report->samples << " labels were used\n";
      }
      std::cout << std::left << std::setw(48) << path << std::right << std::fixed << std::setprecision(2)
                << std::setw(8) << report->top1 << std::setw(8) << report->top5 << std::setw(12)
                << FormatBytes(ModelBytes(files)) << std::setw(9) << report->seconds << "s"
                << "  (" << report->samples << " samples)\n";
    }
    return 0;
  };
  return {check, run, [args] { *args = EvaluateArgs{}; }};
}

}  // namespace onnxq::cli
