// .npz bytes -> the zip directory, the member streams and the .npz sample reader, as `--calib-data
// s.npz` reads them: the file twice as two samples, against three kinds of model inputs, every batch
// read, then once more after Rewind.
#include <vector>

#include "fuzz_support.h"
#include "io/zip_archive.h"
#include "onnxq/data_reader.h"

namespace {

using onnxq::ElementType;
using onnxq::ModelInputSpec;

// The model inputs an .npz is matched against: a batch of rows; a sequence with a scalar sample rate
// and a state whose axis 0 is no batch (Silero VAD); an input of unknown shape.
const std::vector<std::vector<ModelInputSpec>>& InputKinds() {
  static const std::vector<std::vector<ModelInputSpec>> kinds = {
      {{.name = "x", .type = ElementType::kFloat, .has_shape = true, .shape = {-1, 3}}},
      {{.name = "x", .type = ElementType::kFloat, .has_shape = true, .shape = {-1, -1, 4}},
       {.name = "sr", .type = ElementType::kInt64, .has_shape = true, .shape = {}},
       {.name = "h", .type = ElementType::kFloat, .has_shape = true, .shape = {2, -1, 3}}},
      {{.name = "x", .type = ElementType::kUInt8, .has_shape = false}},
  };
  return kinds;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = onnxq::fuzz::WriteScratchFile("s.npz", onnxq::fuzz::AsText(data, size));
  auto entries = onnxq::ReadZipDirectory(path);
  if (!entries.ok()) return 0;
  // Every member streamed to its end (the CRC check), whatever its name.
  std::vector<std::byte> chunk(4096);
  for (const auto& entry : *entries) {
    auto member = onnxq::ZipMemberReader::Open(path, entry, "'s.npz' member '" + entry.name + "'");
    if (!member.ok()) continue;
    int64_t left = entry.uncompressed_size;
    while (left > 0) {
      const auto n = std::min<int64_t>(left, static_cast<int64_t>(chunk.size()));
      if (!(*member)->Read(std::span(chunk).first(static_cast<size_t>(n))).ok()) break;
      left -= n;
    }
  }
  for (const auto& inputs : InputKinds()) {
    auto reader = onnxq::OpenNpzFiles({path, path}, inputs, {.batch_size = 2});
    if (reader.ok()) onnxq::fuzz::Drain(**reader);
  }
  return 0;
}
