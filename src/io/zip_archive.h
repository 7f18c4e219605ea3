// Reading the members of a zip archive (what numpy.savez and numpy.savez_compressed write): the
// central directory, then each member as a stream of its uncompressed bytes, stored or deflated.
//
//   [local header 1][data 1] ... [local header n][data n] [central directory: n entries] [end record]
//
// The central directory is the truth (numpy's local headers carry a ZIP64 extra field, and a writer
// that cannot seek puts sizes after the data); a local header only tells where its data starts. The
// file is not trusted: every offset and size is checked to lie inside the file before it is used, a
// member may not claim to inflate to more than deflate can produce from its compressed size (1032
// to 1), and each member's CRC-32 is checked once it has been read to its end. ZIP64 archives (a
// member or the archive over 4 GiB, or over 65,535 members), multi-disk and encrypted archives and
// compression methods other than stored and deflate are refused with an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "onnxq/status.h"

namespace onnxq {

enum class ZipMethod { kStored, kDeflate };

struct ZipEntry {
  std::string name;
  ZipMethod method = ZipMethod::kStored;
  uint32_t crc32 = 0;
  int64_t compressed_size = 0;
  int64_t uncompressed_size = 0;
  int64_t data_offset = 0;  // of the (compressed) data in the file, after the local header
};

// The central directory of the zip archive at `path`, with every entry's data range checked against
// the file. Errors name the file.
Result<std::vector<ZipEntry>> ReadZipDirectory(const std::filesystem::path& path);

// One member's uncompressed bytes, read in order. Memory: a 64 KiB input buffer and zlib's state.
class ZipMemberReader {
 public:
  // `what` names the member in errors ("'a.npz' member 'x.npy'").
  static Result<std::unique_ptr<ZipMemberReader>> Open(const std::filesystem::path& path, const ZipEntry& entry,
                                                       std::string what);
  ~ZipMemberReader();
  ZipMemberReader(const ZipMemberReader&) = delete;
  ZipMemberReader& operator=(const ZipMemberReader&) = delete;

  // Fills `out` with the next out.size() bytes; reading past the member's end is an error. The
  // CRC-32 is checked when the last byte has been read.
  Status Read(std::span<std::byte> out);
  // Reads and drops the next `count` bytes.
  Status Skip(int64_t count);
  // Uncompressed bytes read so far.
  int64_t position() const { return position_; }

 private:
  struct Inflater;
  ZipMemberReader(ZipEntry entry, std::string what);
  Status ReadStored(std::span<std::byte> out);
  Status ReadDeflated(std::span<std::byte> out);

  ZipEntry entry_;
  std::string what_;
  std::ifstream file_;
  std::unique_ptr<Inflater> inflater_;  // deflated members only
  int64_t consumed_ = 0;                // compressed bytes read from the file
  int64_t position_ = 0;
  uint32_t crc_ = 0;
};

}  // namespace onnxq
