// Writes the seed corpus of the fuzzers: small valid and near-valid inputs for each harness, into
// <folder>/<harness>/ (fuzz/corpus/ in the repository). The models come from ONNX text; the tables
// are calibrated from a few samples of data.
//
//   cmake --build build --target write_seed_corpus && build/fuzz/write_seed_corpus fuzz/corpus
#include <onnx/defs/parser.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "calibration/calibrator.h"
#include "io/npy_format.h"
#include "onnxq/calibrate.h"
#include "testing/npz_writer.h"
#include "testing/test_support.h"  // VectorReader

namespace fs = std::filesystem;
using onnxq::ElementType;
using onnxq::Tensor;

namespace {

void Write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// A tensor of `shape` holding 0, 1, 2 ... as `type`.
Tensor Counting(std::string name, ElementType type, std::vector<int64_t> shape) {
  Tensor t{.name = std::move(name), .type = type, .shape = std::move(shape)};
  const int64_t n = t.element_count();
  t.bytes.resize(static_cast<size_t>(n) * onnxq::ElementSize(type));
  for (int64_t i = 0; i < n; ++i) {
    const auto at = t.bytes.data() + static_cast<size_t>(i) * onnxq::ElementSize(type);
    switch (type) {
      case ElementType::kFloat: {
        const float v = static_cast<float>(i) * 0.5F - 1.0F;
        std::memcpy(at, &v, sizeof(v));
        break;
      }
      case ElementType::kInt64: {
        const int64_t v = i;
        std::memcpy(at, &v, sizeof(v));
        break;
      }
      case ElementType::kInt32: {
        const auto v = static_cast<int32_t>(i);
        std::memcpy(at, &v, sizeof(v));
        break;
      }
      default:
        *at = static_cast<std::byte>(i % 2);
    }
  }
  return t;
}

onnx::ModelProto ParseModel(const char* text) {
  onnx::ModelProto model;
  if (const auto status = onnx::OnnxParser(text).Parse(model); !status.IsOK()) {
    std::cerr << "bad model text: " << status.ErrorMessage() << "\n" << text << "\n";
    std::exit(1);
  }
  return model;
}

// Models in ONNX text: each exercises other preparation steps (opset conversion, passes, checks).
const char* const kModels[][2] = {
    {"conv_relu_pool_gemm", R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,1,4,4] X) => (float[N,2] Y)
<float[2,1,3,3] W = {1,0,-1,2,0,-2,1,0,-1,0,1,0,1,-4,1,0,1,0}, float[2] B = {0.1,-0.1},
 float[8,2] Wg = {1,2,3,4,5,6,7,8,8,7,6,5,4,3,2,1}, float[2] Bg = {0.5,-0.5}>
{
  C = Conv <pads = [1,1,1,1]> (X, W, B)
  R = Relu (C)
  P = MaxPool <kernel_shape = [2,2], strides = [2,2]> (R)
  F = Flatten (P)
  Y = Gemm (F, Wg, Bg)
}
)"},
    {"batch_norm_clip_chain", R"(
<ir_version: 7, opset_import: ["" : 12]>
g (float[1,2,3,3] X) => (float[1,2,3,3] Y)
<float[2,2,1,1] W1 = {1,0.5,-0.5,1}, float[2] s = {1,2}, float[2] b = {0,0.5}, float[2] m = {0.1,0.2},
 float[2] v = {1,0.5}, float lo = {0}, float hi = {6}, float[2,2,1,1] W2 = {0.25,1,-1,2}>
{
  C1 = Conv (X, W1)
  N = BatchNormalization <epsilon = 0.001> (C1, s, b, m, v)
  I = Identity (N)
  A = Clip (I, lo, hi)
  Y = Conv (A, W2)
}
)"},
    {"matmul_constants_softmax", R"(
<ir_version: 8, opset_import: ["" : 14]>
g (float[N,4] X) => (float[N,3] Y, float[N,3] L)
{
  W = Constant <value = float[4,3] {1,2,3,4,5,6,7,8,9,10,11,12}> ()
  B = Constant <value = float[3] {0.5,0,-0.5}> ()
  M = MatMul (X, W)
  A = Add (M, B)
  Y = Softmax <axis = 1> (A)
  E = Exp (A)
  L = Log (E)
}
)"},
    {"opset9_relabelled", R"(
<ir_version: 4, opset_import: ["" : 9]>
g (float[1,3] X) => (float[1,3] Y)
<float[3,3] W = {1,0,0,0,1,0,0,0,1}>
{
  M = MatMul (X, W)
  S = Sigmoid (M)
  Y = Dropout (S)
}
)"},
    {"opset8_converted", R"(
<ir_version: 3, opset_import: ["" : 8]>
g (float[1,4] X) => (float[1,2] Y)
{
  S = Slice <axes = [1], starts = [1], ends = [3]> (X)
  Y = Relu (S)
}
)"},
    {"if_subgraph", R"(
<ir_version: 8, opset_import: ["" : 13]>
g (bool c, float[2] X) => (float[2] Y)
<float[2] K = {1,2}>
{
  Y = If (c) <then_branch = t () => (float[2] T) { T = Add (X, K) },
              else_branch = e () => (float[2] E) { E = Mul (X, K) }>
}
)"},
    {"float16_cast", R"(
<ir_version: 8, opset_import: ["" : 15]>
g (float16[1,2] X) => (float16[1,2] Y)
<float[2,2] W = {1,0,0,1}>
{
  H = Cast <to = 10> (W)
  M = MatMul (X, H)
  Y = Relu (M)
}
)"},
    {"already_quantized", R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2] X) => (float[1,2] Y)
<float s = {0.1}, uint8 z = {128}>
{
  Q = QuantizeLinear (X, s, z)
  Y = DequantizeLinear (Q, s, z)
}
)"},
    {"unsorted_duplicate_names", R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[1,2] X) => (float[1,2] Y)
{
  Y = Relu (H)
  H = Abs (X)
}
)"},
    {"layer_norm_div", R"(
<ir_version: 8, opset_import: ["" : 17]>
g (float[N,4] X, float[N,4] D) => (float[N,4] Y)
<float[4] s = {1,1,1,1}, float[4] b = {0,0,0,0}>
{
  L = LayerNormalization <axis = -1> (X, s, b)
  R = Reciprocal (D)
  Y = Div (L, D)
}
)"},
};

// Tables of each method, calibrated on three samples of a MatMul: values close together keep
// the histograms short.
void WriteTables(const fs::path& dir) {
  fs::create_directories(dir);
  const onnx::ModelProto model = ParseModel(R"(
<ir_version: 8, opset_import: ["" : 13]>
g (float[N,2] X) => (float[N,2] Y)
<float[2,2] W = {1,0,0,1}>
{
  Y = MatMul (X, W)
}
)");
  std::vector<onnxq::Feeds> batches;
  for (const float scale : {1.0F, 1.25F, 1.5F}) {
    const float values[] = {scale, 1.0F};
    batches.push_back({Tensor::FromFloats("X", {1, 2}, values)});
  }
  for (const auto method :
       {onnxq::CalibrationMethod::kMinMax, onnxq::CalibrationMethod::kPercentile, onnxq::CalibrationMethod::kEntropy,
        onnxq::CalibrationMethod::kNonOverflow, onnxq::CalibrationMethod::kMinMSE}) {
    onnxq::QuantizeOptions options;
    options.calibration.method = method;
    options.calibration.num_bins = 32;
    options.calibration.num_quantized_bins = 8;
    onnxq::testing::VectorReader reader(batches);
    auto table = onnxq::CalibrateModel(model, &reader, options);
    if (!table.ok()) {
      std::cerr << "calibration failed: " << table.status().message() << "\n";
      std::exit(1);
    }
    const fs::path path = dir / (onnxq::CalibrationMethodName(method) + ".json");
    if (auto s = onnxq::SaveCalibrationTable(*table, path); !s.ok()) {
      std::cerr << s.message() << "\n";
      std::exit(1);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: write_seed_corpus FOLDER (fuzz/corpus)\n";
    return 2;
  }
  const fs::path root = argv[1];

  const fs::path models = root / "load_model_fuzzer";
  for (const auto& [name, text] : kModels) {
    Write(models / (std::string(name) + ".onnx"), ParseModel(text).SerializeAsString());
  }

  const fs::path npy = root / "read_npy_fuzzer";
  Write(npy / "float_2x3.npy", onnxq::EncodeNpy(Counting("x", ElementType::kFloat, {2, 3})));
  Write(npy / "int64_4.npy", onnxq::EncodeNpy(Counting("x", ElementType::kInt64, {4})));
  Write(npy / "uint8_1x2x2.npy", onnxq::EncodeNpy(Counting("x", ElementType::kUInt8, {1, 2, 2})));
  Write(npy / "bool_3x1.npy", onnxq::EncodeNpy(Counting("x", ElementType::kBool, {3, 1})));
  Write(npy / "scalar.npy", onnxq::EncodeNpy(Counting("x", ElementType::kFloat, {})));
  Write(npy / "empty_0x3.npy", onnxq::EncodeNpy(Counting("x", ElementType::kFloat, {0, 3})));
  std::string truncated = onnxq::EncodeNpy(Counting("x", ElementType::kInt32, {3, 2}));
  truncated.resize(truncated.size() - 5);
  Write(npy / "int32_truncated.npy", truncated);
  // Version 2.0: a 4-byte header length.
  std::string v1 = onnxq::EncodeNpy(Counting("x", ElementType::kFloat, {2, 2}));
  std::string v2 =
      v1.substr(0, 6) + std::string("\x02\x00", 2) + v1.substr(8, 2) + std::string(2, '\0') + v1.substr(10);
  Write(npy / "version2.npy", v2);
  std::string fortran = v1;
  fortran.replace(fortran.find("False"), 5, "True ");
  Write(npy / "fortran.npy", fortran);
  std::string big_endian = v1;
  big_endian.replace(big_endian.find("<f4"), 3, ">f4");
  Write(npy / "big_endian.npy", big_endian);

  using onnxq::testing::ZipCompression;
  using onnxq::testing::ZipMember;
  const fs::path npz = root / "read_npz_fuzzer";
  const auto member = [](const Tensor& t, ZipCompression compression) {
    return ZipMember{.name = t.name + ".npy", .data = onnxq::EncodeNpy(t), .compression = compression};
  };
  const Tensor rows = Counting("x", ElementType::kFloat, {2, 3});
  Write(npz / "rows_stored.npz", onnxq::testing::ZipBytes({member(rows, ZipCompression::kStored)}));
  Write(npz / "rows_deflated.npz", onnxq::testing::ZipBytes({member(rows, ZipCompression::kDeflate)}));
  Write(npz / "vad_sample.npz",
        onnxq::testing::ZipBytes({member(Counting("x", ElementType::kFloat, {1, 5, 4}), ZipCompression::kStored),
                                  member(Counting("sr", ElementType::kInt64, {}), ZipCompression::kStored),
                                  member(Counting("h", ElementType::kFloat, {2, 1, 3}), ZipCompression::kDeflate)}));
  Write(npz / "uint8_image.npz",
        onnxq::testing::ZipBytes({member(Counting("x", ElementType::kUInt8, {1, 3, 2, 2}), ZipCompression::kDeflate)}));
  Write(npz / "extra_member.npz",
        onnxq::testing::ZipBytes({member(rows, ZipCompression::kStored),
                                  member(Counting("y", ElementType::kInt32, {2}), ZipCompression::kStored)}));

  WriteTables(root / "load_calibration_table_fuzzer");
  return 0;
}
