// .npy bytes -> the .npy header parser and the array file reader, as `--calib-data x.npy` reads them:
// the header alone (ParseNpyHeader, NpySampleLayout), then every batch, twice (Rewind). The same bytes
// are then read as a raw file whose sample shape and element type follow the input's length.
#include "fuzz_support.h"
#include "io/npy_format.h"
#include "onnxq/data_reader.h"

namespace {

void ReadArrayFile(const onnxq::ArrayFileSpec& spec) {
  auto reader = onnxq::OpenArrayFiles({spec}, {.batch_size = 3});
  if (reader.ok()) onnxq::fuzz::Drain(**reader);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes = onnxq::fuzz::AsText(data, size);
  size_t rank = 1;  // of the file's shape, when its header parses
  if (auto header_size = onnxq::NpyHeaderSize(bytes.substr(0, onnxq::kNpyPrefixBytes), "'x.npy'");
      header_size.ok() && *header_size <= static_cast<int64_t>(size)) {
    const auto header = onnxq::ParseNpyHeader(bytes.substr(0, static_cast<size_t>(*header_size)), "'x.npy'");
    if (header.ok()) rank = header->shape.size();
  }
  const auto npy = onnxq::fuzz::WriteScratchFile("x.npy", bytes);
  // A model input of as many axes as the file, and of one fewer (or a scalar input for a file of one axis).
  (void)onnxq::NpySampleLayout(npy, "x", rank);
  if (rank > 0) (void)onnxq::NpySampleLayout(npy, "x", rank - 1);
  ReadArrayFile({.input_name = "x", .path = npy});
  ReadArrayFile({.input_name = "x", .path = npy, .layout = onnxq::SampleLayout::kWhole});

  constexpr onnxq::ElementType kTypes[] = {onnxq::ElementType::kFloat, onnxq::ElementType::kInt64,
                                           onnxq::ElementType::kUInt8, onnxq::ElementType::kBool};
  const auto raw = onnxq::fuzz::WriteScratchFile("x.raw", bytes);
  ReadArrayFile({.input_name = "x",
                 .path = raw,
                 .sample_shape = {static_cast<int64_t>(size % 3), 2},
                 .raw_type = kTypes[size % 4]});
  return 0;
}
