// The onnxq Python module's native part, _onnxq: a thin face over the library, as the CLI is one.
// Options arrive as the CLI spells them (strings for enums, extra options as KEY -> VALUE text) and are
// parsed by the library's own parsers; models arrive as paths or serialized bytes. onnxq/__init__.py
// gives it vai_q_onnx's signature.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "calibration/calibrator.h"
#include "io/file_safety.h"
#include "onnxq/calibrate.h"
#include "onnxq/data_reader.h"
#include "onnxq/evaluate.h"
#include "onnxq/extra_options.h"
#include "onnxq/model_io.h"
#include "onnxq/open_data.h"
#include "onnxq/optimize.h"
#include "onnxq/presets.h"
#include "onnxq/quantize.h"
#include "onnxq/runnability.h"
#include "pipeline/check_model.h"
#include "python_reader.h"

namespace py = pybind11;

namespace onnxq::python {
namespace {

// Raises the Python exception for a library error: ValueError for bad arguments or models,
// FileNotFoundError, NotImplementedError for what onnxq does not support, OSError for I/O, and
// RuntimeError for the inference engine and internal errors.
[[noreturn]] void Raise(const Status& status) {
  PyObject* type = PyExc_RuntimeError;
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kInvalidModel:
      type = PyExc_ValueError;
      break;
    case StatusCode::kNotFound:
      type = PyExc_FileNotFoundError;
      break;
    case StatusCode::kUnsupported:
      type = PyExc_NotImplementedError;
      break;
    case StatusCode::kIoError:
      type = PyExc_OSError;
      break;
    case StatusCode::kCancelled:
      type = PyExc_KeyboardInterrupt;
      break;
    case StatusCode::kOk:
    case StatusCode::kRuntimeError:
    case StatusCode::kInternal:
      break;
  }
  PyErr_SetString(type, status.message().c_str());
  throw py::error_already_set();
}

// Runs `work` (returning a Status or a Result) with the GIL released and Ctrl-C caught, then raises
// what the Python callbacks raised, KeyboardInterrupt after a Ctrl-C, or the library's error.
template <typename Work>
auto CallLibrary(HostCall& call, const Work& work) {
  const SigintGuard sigint;
  auto result = [&] {
    const py::gil_scoped_release release;
    return work();
  }();
  if (call.error) throw std::move(*call.error);
  if (SigintGuard::Interrupted()) {
    PyErr_SetNone(PyExc_KeyboardInterrupt);
    throw py::error_already_set();
  }
  if constexpr (std::is_same_v<decltype(result), Status>) {
    if (!result.ok()) Raise(result);
  } else {
    if (!result.ok()) Raise(result.status());
    return std::move(result).value();
  }
}

template <typename T>
T ValueOr(const py::dict& args, const char* key, T fallback) {
  if (!args.contains(key) || args[key].is_none()) return fallback;
  return args[key].cast<T>();
}

// The options from quantize_static's arguments, named and spelt as the CLI's (tools/quantize_command.cc):
// every argument is a setting as given (Python passes its signature's defaults), resolved with the NPU
// mode and an optional named configuration as onnxq/presets.h orders them.
Result<QuantizeOptions> BuildOptions(const py::dict& args, const std::map<std::string, std::string>& extra) {
  QuantizeOptions base;
  using Names = std::vector<std::string>;
  base.nodes_to_exclude = ValueOr(args, "nodes_to_exclude", Names{});
  base.nodes_to_quantize = ValueOr(args, "nodes_to_quantize", Names{});
  base.op_types_to_quantize = ValueOr(args, "op_types_to_quantize", Names{});
  base.input_nodes = ValueOr(args, "input_nodes", Names{});
  base.output_nodes = ValueOr(args, "output_nodes", Names{});
  if (ValueOr(args, "use_external_data_format", false)) base.save.external_data = ExternalData::kAlways;
  std::vector<Setting> settings;
  for (const char* key : {"quant_format", "calibrate_method", "activation_type", "weight_type"}) {
    if (args.contains(key) && !args[key].is_none()) settings.push_back({key, args[key].cast<std::string>()});
  }
  for (const char* key : {"per_channel", "reduce_range", "include_cle", "convert_nchw_to_nhwc", "enable_npu_cnn",
                          "enable_npu_transformer"}) {
    if (args.contains(key) && !args[key].is_none())
      settings.push_back({key, args[key].cast<bool>() ? "True" : "False"});
  }
  for (const auto& [key, value] : extra) settings.push_back({key, value});
  return ResolveOptions(ValueOr<std::string>(args, "config", ""), settings, base);
}

QuantizeOptions Options(const py::dict& args, const std::map<std::string, std::string>& extra) {
  auto options = BuildOptions(args, extra);
  if (!options.ok()) Raise(options.status());
  return std::move(options).value();
}

// A model given as a path (str) or as serialized bytes (onnx.ModelProto.SerializeToString()).
struct ModelSource {
  std::optional<std::filesystem::path> path;
  std::string bytes;
};

ModelSource SourceOf(const py::object& model) {
  if (py::isinstance<py::bytes>(model)) return {.bytes = model.cast<std::string>()};
  return {.path = model.cast<std::filesystem::path>()};
}

Result<onnx::ModelProto> Load(const ModelSource& source, ModelFiles* files) {
  if (source.path) return LoadModel(*source.path, files);
  return ParseModel(source.bytes, "the onnx.ModelProto given");
}

std::string Origin(const ModelSource& source) {
  return source.path ? "'" + source.path->string() + "'" : "the onnx.ModelProto given";
}

// Whether axis 0 of each input counts samples, for the arrays of a Python reader.
std::map<std::string, bool> BatchAxes(const onnx::ModelProto& model) {
  std::map<std::string, bool> axes;
  auto inputs = ModelInputsOf(model);
  if (!inputs.ok()) return axes;
  for (const auto& input : *inputs) axes[input.name] = FirstAxisIsBatch(input);
  return axes;
}

// The reader of a Python data reader for `model`, its samples stacked into the batches the CLI reads.
std::unique_ptr<CalibrationDataReader> ReaderFor(const py::object& reader, const onnx::ModelProto& model,
                                                 const CalibrationOptions& options, const PassOptions& passes,
                                                 HostCall* call) {
  if (reader.is_none()) return nullptr;
  return StackBatches(std::make_unique<PythonDataReader>(reader, BatchAxes(InputsAsFed(model, passes)), call),
                      CalibrationBatchSize(model, options));
}

py::dict ReportDict(const QuantizeReport& report) {
  py::dict d;
  d["nodes_total"] = report.nodes_total;
  d["nodes_quantized"] = report.nodes_quantized;
  d["activations_quantized"] = report.activations_quantized;
  d["weights_quantized"] = report.weights_quantized;
  d["biases_corrected"] = report.biases_corrected;
  d["nodes_folded"] = report.nodes_folded;
  d["calibration_samples"] = report.calibration_samples;
  d["calibration_skipped"] = report.calibration_skipped;
  py::list left_float;
  for (const auto& n : report.left_float) {
    left_float.append(py::dict(py::arg("node") = n.node, py::arg("op_type") = n.op_type, py::arg("reason") = n.reason));
  }
  d["left_float"] = left_float;
  py::list float_tensors;
  for (const auto& t : report.float_tensors) {
    float_tensors.append(py::dict(py::arg("tensor") = t.tensor, py::arg("reason") = t.reason));
  }
  d["float_tensors"] = float_tensors;
  py::list outputs;
  for (const auto& o : report.outputs) {
    outputs.append(py::dict(py::arg("name") = o.output, py::arg("sqnr_db") = o.sqnr_db, py::arg("cosine") = o.cosine,
                            py::arg("values") = o.values, py::arg("below_threshold") = !o.warning.empty(),
                            py::arg("warning") = o.warning));
  }
  d["output_check"] =
      py::dict(py::arg("samples") = report.output_check_samples,
               py::arg("data") = report.output_check_data == CheckData::kRandom ? "random" : "calibration",
               py::arg("outputs") = outputs);
  d["onnxruntime_runs"] =
      report.runnability ? py::object(py::str(RunnabilitySummary(*report.runnability))) : py::object(py::none());
  d["seconds"] = py::dict(py::arg("prepare") = report.seconds_prepare, py::arg("calibrate") = report.seconds_calibrate,
                          py::arg("quantize") = report.seconds_quantize, py::arg("check") = report.seconds_check);
  if (const auto& refinement = report.npu_refinement) {
    const auto list = [](const std::vector<NpuAdjustment>& moves) {
      py::list out;
      for (const NpuAdjustment& a : moves) {
        out.append(py::dict(py::arg("node") = a.node, py::arg("tensor") = a.tensor, py::arg("rule") = a.rule,
                            py::arg("old_pos") = a.old_pos, py::arg("new_pos") = a.new_pos, py::arg("loop") = a.loop,
                            py::arg("old_sqnr_db") = a.old_sqnr_db, py::arg("new_sqnr_db") = a.new_sqnr_db));
      }
      return out;
    };
    d["npu_refinement"] =
        py::dict(py::arg("loops") = refinement->loops, py::arg("converged") = refinement->converged,
                 py::arg("adjustments") = list(refinement->adjustments), py::arg("held") = list(refinement->held));
  } else {
    d["npu_refinement"] = py::none();
  }
  d["warnings"] = report.warnings;
  return d;
}

// quantize_static: the model (path or bytes) quantized with `reader`'s data, or the data files at
// `data_path` (OpenData), or random data when both are None, or the ranges of `table`, written to
// `output`; returns the report.
py::dict Quantize(const py::object& model, const std::filesystem::path& output, const py::object& reader,
                  const std::optional<std::string>& data_path, const py::dict& args,
                  const std::map<std::string, std::string>& extra, const py::object& progress,
                  const CalibrationTable* table) {
  QuantizeOptions options = Options(args, extra);
  const ModelSource source = SourceOf(model);
  HostCall call;
  std::optional<InferenceEnginePreload> engine;  // loads while the model is read and prepared, as the CLI's
  if (table == nullptr) engine.emplace();
  ModelFiles input_files;
  onnx::ModelProto loaded = CallLibrary(call, [&] { return Load(source, &input_files); });
  if (source.path) options.save.inputs = AsInputs(input_files, "the input model");
  // The data files, as the CLI's --calib-data reads them.
  std::optional<DataSource> files;
  if (table == nullptr && reader.is_none() && data_path) {
    files = DataSource{.paths = {*data_path},
                       .batch_size = CalibrationBatchSize(loaded, options.calibration),
                       .max_samples = options.calibration.max_samples};
    for (auto& input : DataInputs(*files)) options.save.inputs.push_back(std::move(input));
  }
  CallLibrary(call, [&] { return CheckOutputPath(output, options.save.inputs); });
  CallLibrary(call, [&] { return CheckFloatModel(loaded, Origin(source)); });
  std::unique_ptr<CalibrationDataReader> data;
  if (files) {
    data = CallLibrary(call, [&] { return OpenData(*files, InputsAsFed(loaded, options.passes)); });
  } else if (table == nullptr) {
    data = ReaderFor(reader, loaded, options.calibration, options.passes, &call);
  }
  const ProgressCallback on_progress = PythonProgress(progress, &call);
  QuantizeReport report;
  CallLibrary(call, [&]() -> Status {
    Result<onnx::ModelProto> quantized =
        table != nullptr ? QuantizeModel(loaded, *table, options, &report)
                         : QuantizeModel(std::move(loaded), data.get(), options, &report, on_progress);
    if (!quantized.ok()) return quantized.status();
    // A Ctrl-C during the last batches: nothing is written.
    if (SigintGuard::Interrupted()) return Cancelled("interrupted (Ctrl-C)");
    return SaveModel(*quantized, output, options.save);
  });
  return ReportDict(report);
}

CalibrationTable Calibrate(const py::object& model, const py::object& reader, const py::dict& args,
                           const std::map<std::string, std::string>& extra, const py::object& progress) {
  const QuantizeOptions options = Options(args, extra);
  const ModelSource source = SourceOf(model);
  HostCall call;
  const InferenceEnginePreload engine;
  const onnx::ModelProto loaded = CallLibrary(call, [&] { return Load(source, nullptr); });
  CallLibrary(call, [&] { return CheckFloatModel(loaded, Origin(source)); });
  const auto data = ReaderFor(reader, loaded, options.calibration, options.passes, &call);
  const ProgressCallback on_progress = PythonProgress(progress, &call);
  return CallLibrary(call, [&] { return CalibrateModel(loaded, data.get(), options, nullptr, on_progress); });
}

// optimize: graph passes by id, in order (OptimizeModel), as `onnxq optimize` runs them.
py::list Optimize(const py::object& model, const std::filesystem::path& output, const std::vector<std::string>& passes,
                  const std::map<std::string, std::string>& extra, bool external_data) {
  QuantizeOptions options;
  if (Status s = ApplyExtraOptions(extra, &options); !s.ok()) Raise(s);
  if (passes.empty()) Raise(InvalidArgument("optimize needs at least one pass (see onnxq.list_passes())"));
  // An unknown pass is a bad argument here, not a missing file.
  if (Status s = CheckPassIds(passes, options.passes); !s.ok()) Raise(InvalidArgument(s.message()));
  const ModelSource source = SourceOf(model);
  HostCall call;
  ModelFiles input_files;
  onnx::ModelProto loaded = CallLibrary(call, [&] { return Load(source, &input_files); });
  SaveOptions save = options.save;
  if (source.path) save.inputs = AsInputs(input_files, "the input model");
  if (external_data) save.external_data = ExternalData::kAlways;
  const auto runs = CallLibrary(call, [&]() -> Result<std::vector<PassSummary>> {
    ONNXQ_RETURN_IF_ERROR(CheckOutputPath(output, save.inputs));
    ONNXQ_ASSIGN_OR_RETURN(auto done, OptimizeModel(loaded, passes, options.passes));
    ONNXQ_RETURN_IF_ERROR(SaveModel(loaded, output, save));
    return done;
  });
  py::list result;
  for (const auto& run : runs) {
    result.append(py::dict(py::arg("pass") = run.id, py::arg("changes") = run.changes, py::arg("notes") = run.notes));
  }
  return result;
}

py::dict PassList() {
  py::dict passes;
  for (const auto& pass : ListPasses()) passes[py::str(pass.id)] = pass.summary;
  return passes;
}

// {name: {"summary", "settings": {key: value}, "differences"}} of every named configuration.
py::dict PresetList() {
  py::dict presets;
  for (const Preset& preset : Presets()) {
    py::dict settings;
    for (const auto& [key, value] : preset.settings) settings[py::str(key)] = value;
    py::dict entry;
    entry["summary"] = preset.summary;
    entry["settings"] = settings;
    entry["differences"] = preset.differences;
    presets[py::str(preset.name)] = entry;
  }
  return presets;
}

py::dict Evaluate(const py::object& model, const py::object& reader, const std::vector<int64_t>& labels,
                  int64_t batch_size) {
  const ModelSource source = SourceOf(model);
  HostCall call;
  const onnx::ModelProto loaded = CallLibrary(call, [&] { return Load(source, nullptr); });
  if (reader.is_none()) Raise(InvalidArgument("evaluate needs a data reader"));
  // Runs of the model's fixed batch, else of batch_size samples (default 32), as `onnxq evaluate`.
  int64_t batch = 0;
  if (loaded.graph().input_size() > 0) {
    const auto& shape = loaded.graph().input(0).type().tensor_type().shape();
    if (shape.dim_size() > 0 && shape.dim(0).has_dim_value()) batch = shape.dim(0).dim_value();
  }
  if (batch <= 0) batch = batch_size > 0 ? batch_size : 32;
  const auto data = StackBatches(std::make_unique<PythonDataReader>(reader, BatchAxes(loaded), &call), batch);
  const AccuracyReport accuracy = CallLibrary(call, [&] { return EvaluateClassifier(loaded, *data, labels); });
  return py::dict(py::arg("samples") = accuracy.samples, py::arg("top1") = accuracy.top1,
                  py::arg("top5") = accuracy.top5, py::arg("seconds") = accuracy.seconds);
}

py::dict RangesOf(const CalibrationTable& table) {
  py::dict ranges;
  for (const auto& [name, range] : table.ranges) {
    ranges[py::str(name)] =
        range.pos ? py::make_tuple(range.rmin, range.rmax, *range.pos) : py::make_tuple(range.rmin, range.rmax);
  }
  return ranges;
}

void DefineModule(py::module_& m) {
  m.doc() = "onnxq's native part; use the onnxq package";

  py::class_<CalibrationTable>(m, "CalibrationTable",
                               "Per-tensor statistics and ranges from onnxq.calibrate(): save, load, merge, and "
                               "quantize with them (onnxq.quantize_static(..., calibration_table=table))")
      .def(
          "save",
          [](const CalibrationTable& table, const std::filesystem::path& path) {
            HostCall call;
            CallLibrary(call, [&] { return SaveCalibrationTable(table, path); });
          },
          py::arg("path"), "Writes the table as JSON (atomically); floats read back bit for bit")
      .def_static(
          "load",
          [](const std::filesystem::path& path) {
            HostCall call;
            return CallLibrary(call, [&] { return LoadCalibrationTable(path); });
          },
          py::arg("path"), "Reads a table that save() or `onnxq calibrate` wrote")
      .def_static(
          "merge",
          [](const std::vector<CalibrationTable>& tables) {
            HostCall call;
            return CallLibrary(call, [&] { return MergeCalibrationTables(tables); });
          },
          py::arg("tables"),
          "One table from tables calibrated on disjoint shards of the data with the same settings: equal to "
          "calibrating on all the shards at once")
      .def_property_readonly("samples", [](const CalibrationTable& t) { return t.samples; })
      .def_property_readonly(
          "method", [](const CalibrationTable& t) { return CalibrationMethodName(t.settings.calibration.method); })
      .def_property_readonly("ranges", &RangesOf,
                             "{tensor: (rmin, rmax)}, and (rmin, rmax, pos) for power-of-two methods (scale 2^-pos)")
      .def("__len__", [](const CalibrationTable& t) { return t.ranges.size(); })
      .def("__repr__", [](const CalibrationTable& t) {
        return "<onnxq.CalibrationTable " + CalibrationMethodName(t.settings.calibration.method) + ", " +
               std::to_string(t.ranges.size()) + " tensors, " + std::to_string(t.samples) + " samples>";
      });

  m.def("_quantize", &Quantize, py::arg("model"), py::arg("output"), py::arg("reader"), py::arg("data_path"),
        py::arg("args"), py::arg("extra"), py::arg("progress"), py::arg("table"));
  m.def("_calibrate", &Calibrate, py::arg("model"), py::arg("reader"), py::arg("args"), py::arg("extra"),
        py::arg("progress"));
  m.def("_optimize", &Optimize, py::arg("model"), py::arg("output"), py::arg("passes"), py::arg("extra"),
        py::arg("external_data"));
  m.def("_list_passes", &PassList);
  m.def("_presets", &PresetList);
  m.def("_evaluate", &Evaluate, py::arg("model"), py::arg("reader"), py::arg("labels"), py::arg("batch_size"));
}

}  // namespace
}  // namespace onnxq::python

PYBIND11_MODULE(_onnxq, m) { onnxq::python::DefineModule(m); }
