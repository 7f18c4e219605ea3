#include <charconv>
#include <cstring>
#include <map>
#include <set>
#include <span>
#include <system_error>

#include "calibration/onnxruntime_backend.h"
#include "io/file_safety.h"
#include "onnxq/dump.h"

namespace onnxq {
namespace fs = std::filesystem;

namespace {

// The integer type a QuantizeLinear writes: its zero point's, else its output_dtype attribute's, else
// uint8 (the operator's default).
int32_t QuantizedType(const onnx::NodeProto& node, const std::map<std::string, int32_t>& constant_types) {
  if (node.input_size() > 2 && !node.input(2).empty()) {
    if (const auto it = constant_types.find(node.input(2)); it != constant_types.end()) return it->second;
  }
  for (const auto& attribute : node.attribute()) {
    if (attribute.name() == "output_dtype" && attribute.i() != 0) return static_cast<int32_t>(attribute.i());
  }
  return onnx::TensorProto::UINT8;
}

// The name of an integer type the dump writes, and its size in bytes.
struct IntegerType {
  const char* name;
  size_t bytes;
  bool is_signed;
};

Result<IntegerType> IntegerTypeOf(int32_t type, const std::string& tensor) {
  switch (type) {
    case onnx::TensorProto::INT8:
      return IntegerType{"int8", 1, true};
    case onnx::TensorProto::UINT8:
      return IntegerType{"uint8", 1, false};
    case onnx::TensorProto::INT16:
      return IntegerType{"int16", 2, true};
    case onnx::TensorProto::UINT16:
      return IntegerType{"uint16", 2, false};
    case onnx::TensorProto::INT32:
      return IntegerType{"int32", 4, true};
    default:
      return Unsupported("quantized tensor '" + tensor + "' has element type " + std::to_string(type) +
                         ", which the dump does not write (int8, uint8, int16, uint16, int32)");
  }
}

// One file published whole into place, without fsync (a dump is scratch output).
Status WriteDumpFile(const fs::path& path, std::string_view content) {
  ONNXQ_ASSIGN_OR_RETURN(TemporaryFile file, TemporaryFile::CreateBeside(path));
  ONNXQ_RETURN_IF_ERROR(file.Write(content));
  ONNXQ_RETURN_IF_ERROR(file.Finish(Durability::kCacheOnly));
  return file.PublishAs(path);
}

template <typename T>
void AppendInteger(float value, std::string& bin, std::string& txt) {
  const T v = static_cast<T>(value);
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));  // little-endian hosts only, as the rest of onnxq
  bin.append(bytes, sizeof(T));
  txt += std::to_string(static_cast<int64_t>(v));
  txt += '\n';
}

// The integer values (exact in float: the Cast of a QuantizeLinear output) as `type`.
void EncodeIntegers(std::span<const float> values, const IntegerType& type, std::string& bin, std::string& txt) {
  for (const float value : values) {
    if (type.bytes == 1) {
      type.is_signed ? AppendInteger<int8_t>(value, bin, txt) : AppendInteger<uint8_t>(value, bin, txt);
    } else if (type.bytes == 2) {
      type.is_signed ? AppendInteger<int16_t>(value, bin, txt) : AppendInteger<uint16_t>(value, bin, txt);
    } else {
      AppendInteger<int32_t>(value, bin, txt);
    }
  }
}

void EncodeFloats(std::span<const float> values, std::string& bin, std::string& txt) {
  bin.append(reinterpret_cast<const char*>(values.data()), values.size_bytes());
  char text[32];
  for (const float value : values) {
    char* end = std::to_chars(text, text + sizeof(text), value).ptr;
    txt.append(text, end);
    txt += '\n';
  }
}

// File stems unique in one dump: a stem already taken gets "_2", "_3" ...
class StemNames {
 public:
  std::string Take(const std::string& tensor, const std::string& suffix) {
    const std::string base = DumpFileStem(tensor) + suffix;
    std::string stem = base;
    for (int i = 2; !taken_.insert(stem).second; ++i) stem = base + "_" + std::to_string(i);
    return stem;
  }

 private:
  std::set<std::string> taken_;
};

Status MakeOutputFolder(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    return InvalidArgument("cannot make the output folder '" + dir.string() + "'" +
                           (ec ? ": " + ec.message() : std::string(": a file is in the way")) +
                           "; give --output-dir a folder that can be written");
  }
  return Status::Ok();
}

}  // namespace

std::string DumpFileStem(std::string_view name) {
  std::string stem(name);
  for (char& c : stem) {
    const bool safe =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!safe) c = '_';
  }
  if (stem.empty()) return "_";
  if (stem[0] == '.') stem[0] = '_';
  return stem;
}

Result<DumpReport> DumpModel(const onnx::ModelProto& model, CalibrationDataReader& reader, const fs::path& output_dir,
                             const DumpOptions& options) {
  const onnx::GraphProto& graph = model.graph();
  std::map<std::string, int32_t> constant_types;
  for (const auto& init : graph.initializer()) constant_types[init.name()] = init.data_type();
  for (const auto& node : graph.node()) {
    if (node.op_type() != "Constant" || node.output_size() == 0) continue;
    for (const auto& attribute : node.attribute()) {
      if (attribute.name() == "value") constant_types[node.output(0)] = attribute.t().data_type();
    }
  }
  std::set<std::string> names;  // every tensor name, so the added ones are new
  for (const auto& node : graph.node()) names.insert(node.output().begin(), node.output().end());
  for (const auto& in : graph.input()) names.insert(in.name());
  for (const auto& init : graph.initializer()) names.insert(init.name());

  // The model run: each QuantizeLinear output through a Cast to float (integers up to 2^24 are exact in
  // float), and with dump_float every node output, as graph outputs.
  struct Quantized {
    std::string tensor;
    IntegerType type;
    std::string exposed;  // the Cast's output
  };
  std::vector<Quantized> quantized;
  onnx::ModelProto probe = model;
  onnx::GraphProto& probe_graph = *probe.mutable_graph();
  std::set<std::string> outputs;
  for (const auto& out : graph.output()) outputs.insert(out.name());
  for (const auto& node : graph.node()) {
    if (node.op_type() != "QuantizeLinear" || node.output_size() == 0 || node.output(0).empty()) continue;
    ONNXQ_ASSIGN_OR_RETURN(const IntegerType type, IntegerTypeOf(QuantizedType(node, constant_types), node.output(0)));
    std::string exposed = node.output(0) + "_onnxq_dump_int";
    while (names.contains(exposed)) exposed += "_";
    names.insert(exposed);
    onnx::NodeProto& cast = *probe_graph.add_node();
    cast.set_op_type("Cast");
    cast.set_name(exposed);
    cast.add_input(node.output(0));
    cast.add_output(exposed);
    onnx::AttributeProto& to = *cast.add_attribute();
    to.set_name("to");
    to.set_type(onnx::AttributeProto::INT);
    to.set_i(onnx::TensorProto::FLOAT);
    probe_graph.add_output()->set_name(exposed);  // type inferred
    quantized.push_back({node.output(0), type, std::move(exposed)});
  }
  if (quantized.empty()) {
    return InvalidArgument(
        "the model has no QuantizeLinear node, so no quantized tensor to dump: give a model "
        "that onnxq quantize wrote (Q/DQ format)");
  }
  std::vector<std::string> run_outputs;
  run_outputs.reserve(quantized.size());
  for (const auto& q : quantized) run_outputs.push_back(q.exposed);
  std::vector<std::string> float_tensors;
  if (options.dump_float) {
    for (const auto& node : graph.node()) {
      for (const auto& out : node.output()) {
        if (out.empty()) continue;
        if (outputs.insert(out).second) probe_graph.add_output()->set_name(out);  // type inferred
        float_tensors.push_back(out);
        run_outputs.push_back(out);
      }
    }
  }

  ONNXQ_ASSIGN_OR_RETURN(auto batch, reader.GetNext());
  if (!batch) return InvalidArgument("the data is empty: no batch to run the model on");
  ONNXQ_RETURN_IF_ERROR(MakeOutputFolder(output_dir));
  ONNXQ_ASSIGN_OR_RETURN(auto session, OnnxRuntimeBackend().CreateSession(probe, {.optimize_graph = false}));
  ONNXQ_ASSIGN_OR_RETURN(const RunOutputs run, session->Run(*batch, run_outputs));

  DumpReport report;
  report.samples = SamplesIn(*batch);
  StemNames stems;
  std::string bin;
  std::string txt;
  const auto write = [&](const std::string& stem) -> Status {
    ONNXQ_RETURN_IF_ERROR(WriteDumpFile(output_dir / (stem + ".bin"), bin));
    ONNXQ_RETURN_IF_ERROR(WriteDumpFile(output_dir / (stem + ".txt"), txt));
    bin.clear();
    txt.clear();
    return Status::Ok();
  };
  for (size_t i = 0; i < quantized.size(); ++i) {
    const OutputView& view = run[i];
    if (!view.is_float) return Internal("the Cast of '" + quantized[i].tensor + "' gave no float tensor");
    EncodeIntegers(view.data, quantized[i].type, bin, txt);
    DumpedTensor dumped{quantized[i].tensor, stems.Take(quantized[i].tensor, ""), quantized[i].type.name, view.shape};
    ONNXQ_RETURN_IF_ERROR(write(dumped.file_stem));
    report.quantized.push_back(std::move(dumped));
  }
  if (options.dump_float) {
    for (const Tensor& feed : *batch) {
      if (feed.type != ElementType::kFloat) continue;
      EncodeFloats(feed.floats(), bin, txt);
      DumpedTensor dumped{feed.name, stems.Take(feed.name, "_float"), "float32", feed.shape};
      ONNXQ_RETURN_IF_ERROR(write(dumped.file_stem));
      report.floats.push_back(std::move(dumped));
    }
    for (size_t i = 0; i < float_tensors.size(); ++i) {
      const OutputView& view = run[quantized.size() + i];
      if (!view.is_float) continue;  // an integer tensor (a QuantizeLinear's is dumped above), a shape
      EncodeFloats(view.data, bin, txt);
      DumpedTensor dumped{float_tensors[i], stems.Take(float_tensors[i], "_float"), "float32", view.shape};
      ONNXQ_RETURN_IF_ERROR(write(dumped.file_stem));
      report.floats.push_back(std::move(dumped));
    }
  }
  return report;
}

}  // namespace onnxq
