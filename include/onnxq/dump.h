// What a quantized model computes, tensor by tensor, written to files (vai_q_onnx's dump_model): the
// integer values of every quantized tensor, and optionally every node output in float, on one batch.
//
// Files, in the output folder, for a tensor named N (its file stem S = DumpFileStem(N)):
//   S.bin, S.txt              the output of a QuantizeLinear: raw little-endian values of its integer
//                             type (int8, uint8, int16, uint16, int32), and one value per line
//   S_float.bin, S_float.txt  with DumpOptions::dump_float, a float output of any node, and each float
//                             model input as fed: raw little-endian float32, and one value per line
//                             (shortest text that reads back to the same float)
// The values are in the tensor's row-major order, the batch's samples one after the other. Each file
// is written under a temporary name and renamed into place.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "onnxq/data_reader.h"
#include "onnxq/status.h"

namespace onnxq {

struct DumpOptions {
  bool dump_float = false;  // also every float node output and model input, as <stem>_float.*
};

struct DumpedTensor {
  std::string tensor;     // its name in the model
  std::string file_stem;  // the files' names without ".bin" / ".txt"
  std::string type;       // int8, uint8, int16, uint16, int32 or float32
  std::vector<int64_t> shape;
};

struct DumpReport {
  int64_t samples = 0;                  // in the batch the model ran on
  std::vector<DumpedTensor> quantized;  // QuantizeLinear outputs, in graph order
  std::vector<DumpedTensor> floats;     // with dump_float: model inputs, then node outputs in graph order
};

// `name` as a file stem: every character other than a letter, a digit, '-', '_' or '.' ('/', '\\',
// ':' and spaces among them) becomes '_', and so does a leading '.', so a stem never names a folder
// or a hidden file. An empty name becomes "_".
std::string DumpFileStem(std::string_view name);

// Runs `model` (Q/DQ, as onnxq quantize writes it) on the first batch of `reader`, node by node as
// written (no graph optimization, so nothing is fused away), and writes the files above into
// `output_dir`, made when missing. Stems that two tensors would share get "_2", "_3" ... in graph order.
// Errors: a model without QuantizeLinear nodes, empty data, a folder that cannot be made or written.
Result<DumpReport> DumpModel(const onnx::ModelProto& model, CalibrationDataReader& reader,
                             const std::filesystem::path& output_dir, const DumpOptions& options = {});

}  // namespace onnxq
