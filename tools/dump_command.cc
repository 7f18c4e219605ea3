#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

#include "calibration/random_data_reader.h"
#include "cli_common.h"
#include "commands.h"
#include "onnxq/dump.h"
#include "onnxq/model_io.h"

namespace onnxq::cli {
namespace {

struct DumpArgs {
  std::string model;
  DataArgs data;
  std::string output_dir;
  bool dump_float = false;
  bool json = false;
  bool quiet = false;
};

nlohmann::ordered_json TensorsJson(const std::vector<DumpedTensor>& tensors) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const DumpedTensor& t : tensors) {
    list.push_back({{"tensor", t.tensor}, {"file_stem", t.file_stem}, {"type", t.type}, {"shape", t.shape}});
  }
  return list;
}

// The first batch of --data, else one of uniform random values in [0, 1) (shapes from the model or
// --input-shape).
Result<std::unique_ptr<CalibrationDataReader>> OpenDumpData(const DataArgs& data, const onnx::ModelProto& model) {
  if (!data.data.empty()) {
    DataArgs first = data;
    if (first.batch_size <= 0) first.batch_size = 1;
    return OpenData(first, model, first.batch_size);
  }
  ONNXQ_ASSIGN_OR_RETURN(auto shapes, ParseInputShapes(data.input_shapes));
  ONNXQ_ASSIGN_OR_RETURN(RandomData random,
                         MakeRandomDataReader(model, {.input_shapes = std::move(shapes), .samples = 1}));
  return std::move(random.reader);
}

}  // namespace

Command AddDumpCommand(CLI::App& app) {
  auto args = std::make_shared<DumpArgs>();
  CLI::App* cmd = app.add_subcommand(
      "dump",
      "Run a quantized (Q/DQ) model on one batch and write each quantized tensor's integer values, <name>.bin "
      "(raw little-endian, the tensor's integer type) and <name>.txt (one value per line), names with '/' and "
      "other characters unsafe in file names as '_'");
  cmd->add_option("model", args->model, "Quantized ONNX model (as onnxq quantize writes it)")->required();
  cmd->add_option("--data", args->data.data,
                  "Inputs, as --calib-data of quantize takes them (.npy, raw file, NAME=PATH, .npz samples, or a "
                  "folder of .jpg/.png images preprocessed as --preprocess, --color, --mean, --std, --resize, --crop "
                  "and --layout say): the model runs on their first batch. Default: uniform random values in [0, 1)");
  cmd->add_option("--input-shape", args->data.input_shapes,
                  "NAME:1,3,224,224 shape of an input (raw data files, random data; default the model's, dynamic "
                  "dimensions 1)");
  AddImageOptions(cmd, args->data.images);
  cmd->add_option("--batch-size", args->data.batch_size,
                  "Samples in the batch when the model's batch axis is dynamic (default 1)")
      ->check(CLI::Range(int64_t{1}, kMaxCalibrationBatch));
  cmd->add_option("--output-dir", args->output_dir, "Folder the files are written to (made when missing)")->required();
  cmd->add_flag("--dump-float", args->dump_float,
                "Also write every float node output and model input as <name>_float.bin (float32) and "
                "<name>_float.txt");
  cmd->add_flag("--json", args->json,
                "Print one JSON object on stdout: the model, the folder, the samples, and each tensor written with "
                "its file stem, type and shape");
  cmd->add_flag("-q,--quiet", args->quiet, "Print nothing but errors");

  const auto check = [args] {
    if (Status s = ImagePreprocessOf(args->data.images).status(); !s.ok()) return s;
    return ParseInputShapes(args->data.input_shapes).status();
  };
  const auto run = [args]() -> int {
    auto model = LoadModel(args->model);
    if (!model.ok()) return Fail(model.status());
    auto reader = OpenDumpData(args->data, *model);
    if (!reader.ok()) return Fail(reader.status());
    auto report = DumpModel(*model, **reader, args->output_dir, {.dump_float = args->dump_float});
    PrintDataWarnings(reader->get());
    if (!report.ok()) return Fail(Status(report.status().code(), args->model + ": " + report.status().message()));
    if (args->json) {
      const nlohmann::ordered_json json = {{"command", "dump"},
                                           {"model", args->model},
                                           {"output_dir", args->output_dir},
                                           {"data", args->data.data.empty() ? nlohmann::ordered_json("random")
                                                                            : nlohmann::ordered_json(args->data.data)},
                                           {"samples", report->samples},
                                           {"quantized", TensorsJson(report->quantized)},
                                           {"float", TensorsJson(report->floats)}};
      std::cout << json.dump(2) << "\n";
    } else if (!args->quiet) {
      std::cout << "onnxq dump: " << args->model << " -> " << args->output_dir << "\n"
                << "  samples           " << report->samples << (args->data.data.empty() ? " (random)" : "") << "\n"
                << "  quantized         " << report->quantized.size() << " tensors (<name>.bin, <name>.txt)\n";
      if (args->dump_float) {
        std::cout << "  float             " << report->floats.size() << " tensors (<name>_float.bin, .txt)\n";
      }
    }
    return 0;
  };
  return {check, run, [args] { *args = DumpArgs{}; }};
}

}  // namespace onnxq::cli
