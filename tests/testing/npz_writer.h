// Zip archives and .npz files written by tests, laid out as numpy.savez (stored members) and
// numpy.savez_compressed (deflated members) write them.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "onnxq/tensor.h"

namespace onnxq::testing {

enum class ZipCompression { kStored, kDeflate };
void PrintTo(ZipCompression compression, std::ostream* os);

struct ZipMember {
  std::string name;
  std::string data;  // uncompressed
  ZipCompression compression = ZipCompression::kStored;
};

// The bytes of a zip archive of `members`: each local header and its data, the central directory and
// the end record.
std::string ZipBytes(const std::vector<ZipMember>& members);

// `data` deflated by zlib, raw (no zlib header or trailer), as zip stores it.
std::string Deflate(const std::string& data);

// A .npz file as numpy.savez writes it: a member "<name>.npy" for each tensor, in order.
void WriteNpz(const std::filesystem::path& path, const Feeds& arrays,
              ZipCompression compression = ZipCompression::kStored);

}  // namespace onnxq::testing
