#include <iostream>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "calibration/random_data_reader.h"
#include "cli_common.h"
#include "commands.h"
#include "io/file_safety.h"
#include "onnxq/layer_report.h"
#include "onnxq/model_io.h"
#include "onnxq/optimize.h"
#include "pipeline/prepare_model.h"

namespace onnxq::cli {
namespace {

struct ReportArgs {
  std::string float_model;
  std::string quantized_model;
  DataArgs data;
  std::string random_data_range;  // LOW,HIGH
  int64_t max_samples = 16;
  int sensitivity = 10;
  std::string html;
  std::string output;  // -o: the text (or --json) report to a file
  bool json = false;
  bool quiet = false;
};

// "LOW,HIGH" with LOW < HIGH.
Result<std::pair<float, float>> ParseRange(const std::string& text) {
  const auto comma = text.find(',');
  const auto bad = InvalidArgument("--random-data-range '" + text + "': expected LOW,HIGH with LOW < HIGH, e.g. -1,1");
  if (comma == std::string::npos) return bad;
  try {
    size_t low_end = 0;
    size_t high_end = 0;
    const float low = std::stof(text.substr(0, comma), &low_end);
    const float high = std::stof(text.substr(comma + 1), &high_end);
    if (low_end != comma || high_end != text.size() - comma - 1 || !(low < high)) return bad;
    return std::make_pair(low, high);
  } catch (const std::exception&) {
    return bad;
  }
}

}  // namespace

std::string DescribeData(const DataArgs& data, const RandomDataOptions& random) {
  if (data.data.empty()) {
    std::ostringstream range;
    range << "random data in [" << random.low << ", " << random.high << ")";
    return range.str();
  }
  std::string text;
  for (const auto& entry : data.data) text += (text.empty() ? "" : ", ") + entry;
  return text;
}

Result<LayerReport> RunLayerReport(const onnx::ModelProto& float_model, const onnx::ModelProto& quantized,
                                   const DataArgs& data, const RandomDataOptions& random, const PassOptions& passes,
                                   const LayerReportOptions& options, bool quiet) {
  onnx::ModelProto prepared = float_model;
  if (auto ran = OptimizeModel(prepared, PreparePassIds(passes), passes); !ran.ok()) {
    std::cerr << "onnxq: note: the report compares the float model unprepared: " << ran.status().message() << "\n";
    prepared = float_model;
  }
  std::unique_ptr<CalibrationDataReader> reader;
  if (data.data.empty()) {
    RandomDataOptions drawn = random;
    drawn.samples = options.max_samples;
    ONNXQ_ASSIGN_OR_RETURN(RandomData made, MakeRandomDataReader(float_model, drawn));
    reader = std::move(made.reader);
  } else {
    ONNXQ_ASSIGN_OR_RETURN(reader, OpenBenchmarkData(data, float_model, options.max_samples));
  }
  auto report = CompareLayers(prepared, quantized, *reader, options, quiet ? ProgressCallback{} : MakeProgressBar());
  PrintDataWarnings(reader.get());
  return report;
}

Command AddReportCommand(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "report",
      "Per-layer error report of a QDQ model against its float model: each quantized activation's SQNR and cosine "
      "on the same inputs (worst first) with its op, type, scale, zero point and clipped fraction, each weight's "
      "own quantization SQNR, and the output SQNR with only one tensor quantized for the worst ones; as text, "
      "JSON or one self-contained HTML page with histograms and a plot of SQNR through the network");
  cmd->add_option("float_model", args->float_model, "The float ONNX model")->required()->check(CLI::ExistingFile);
  cmd->add_option("quantized_model", args->quantized_model, "The QDQ model quantized from it")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--data", args->data.data,
                  "Inputs, as --calib-data of quantize takes them (.npy, raw, NAME=PATH, .npz, a folder of images); "
                  "default: random data in [0, 1)");
  cmd->add_option("--input-shape", args->data.input_shapes, "NAME:1,3,224,224 for raw data files and random data");
  cmd->add_option("--random-data-range", args->random_data_range,
                  "LOW,HIGH: uniform range of the random samples without --data (default 0,1; write "
                  "--random-data-range=-1,1 for a negative LOW)");
  AddImageOptions(cmd, args->data.images);
  cmd->add_option("--max-samples", args->max_samples, "Compare on the first N samples (default 16)")
      ->check(CLI::Range(int64_t{1}, std::numeric_limits<int64_t>::max()));
  cmd->add_option("--sensitivity", args->sensitivity,
                  "Worst activations that get a sensitivity run: the float model with only that tensor's Q/DQ pair, "
                  "weights float (default 10, 0: none)")
      ->check(CLI::Range(0, 100000));
  cmd->add_option("--html", args->html, "Also write the report as one self-contained HTML page to PATH");
  cmd->add_option("-o,--output", args->output, "Write the text report (JSON with --json) to PATH instead of stdout");
  cmd->add_flag("--json", args->json, "Print the report as one JSON object instead of the table");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress bar");

  // The random data of a report without --data: uniform in --random-data-range, shapes from the model
  // or --input-shape.
  const auto random = [args]() -> Result<RandomDataOptions> {
    ONNXQ_ASSIGN_OR_RETURN(auto shapes, ParseInputShapes(args->data.input_shapes));
    RandomDataOptions options{.input_shapes = std::move(shapes)};
    if (!args->random_data_range.empty()) {
      ONNXQ_ASSIGN_OR_RETURN(const auto range, ParseRange(args->random_data_range));
      options.low = range.first;
      options.high = range.second;
    }
    return options;
  };
  const auto check = [args, random]() -> Status {
    if (!args->data.data.empty() && !args->random_data_range.empty()) {
      return InvalidArgument("--random-data-range is for random samples: give it or --data, not both");
    }
    return random().status();
  };
  const auto run = [args, random]() -> int {
    const auto random_data = random();
    if (!random_data.ok()) return Fail(random_data.status());
    ModelFiles float_files;
    ModelFiles quantized_files;
    auto float_model = LoadModel(args->float_model, &float_files);
    if (!float_model.ok()) return Fail(float_model.status());
    auto quantized = LoadModel(args->quantized_model, &quantized_files);
    if (!quantized.ok()) return Fail(quantized.status());
    std::vector<InputFile> inputs = AsInputs(float_files, "the float model");
    for (auto& input : AsInputs(quantized_files, "the quantized model")) inputs.push_back(std::move(input));
    for (auto& input : DataInputs(args->data)) inputs.push_back(std::move(input));
    for (const std::string& path : {args->html, args->output}) {
      if (path.empty()) continue;
      if (Status s = CheckOutputPath(path, inputs); !s.ok()) return Fail(s);
    }
    auto report = RunLayerReport(*float_model, *quantized, args->data, *random_data, PassOptions{},
                                 {.max_samples = args->max_samples, .sensitivity = args->sensitivity}, args->quiet);
    if (!report.ok()) {
      return Fail(Status(report.status().code(), args->quantized_model + ": " + report.status().message()));
    }
    const LayerReportTitle title{.float_model = args->float_model,
                                 .quantized_model = args->quantized_model,
                                 .data = DescribeData(args->data, *random_data)};
    if (!args->html.empty()) {
      if (Status s = WriteLayerReport(*report, title, LayerReportFormat::kHtml, args->html, inputs); !s.ok()) {
        return Fail(s);
      }
    }
    const LayerReportFormat format = args->json ? LayerReportFormat::kJson : LayerReportFormat::kText;
    if (!args->output.empty()) {
      if (Status s = WriteLayerReport(*report, title, format, args->output, inputs); !s.ok()) return Fail(s);
    } else {
      std::cout << (args->json ? LayerReportJson(*report, title) : LayerReportText(*report, title));
    }
    return 0;
  };
  return {check, run, [args] { *args = ReportArgs{}; }};
}

}  // namespace onnxq::cli
