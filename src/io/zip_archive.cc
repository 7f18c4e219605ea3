#include "io/zip_archive.h"

#include <zlib.h>

#include <algorithm>
#include <array>

namespace onnxq {
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kEndSignature = 0x06054b50;      // "PK\5\6"
constexpr uint32_t kCentralSignature = 0x02014b50;  // "PK\1\2"
constexpr uint32_t kLocalSignature = 0x04034b50;    // "PK\3\4"
constexpr int64_t kEndRecordBytes = 22;
constexpr int64_t kMaxCommentBytes = 65535;
constexpr int64_t kCentralEntryBytes = 46;
constexpr int64_t kLocalHeaderBytes = 30;
// A larger central directory is refused rather than read into memory (numpy writes ~50 bytes a member).
constexpr int64_t kMaxDirectoryBytes = int64_t{64} << 20;
constexpr int64_t kInputChunkBytes = int64_t{64} << 10;
// Deflate turns 2 bits into at most 258 bytes (a longest match with the shortest codes): no stream
// inflates to more than 1032 times its size. A member claiming more is corrupt or hostile.
constexpr int64_t kMaxDeflateRatio = 1032;
constexpr uint32_t kFlagEncrypted = 0x1;
constexpr uint32_t kFlagStrongEncryption = 0x40;

uint32_t Le16(const unsigned char* p) { return p[0] | (static_cast<uint32_t>(p[1]) << 8U); }
uint32_t Le32(const unsigned char* p) { return Le16(p) | (Le16(p + 2) << 16U); }

// Reads out.size() bytes at `offset`; false when the file holds fewer.
bool ReadAt(std::ifstream& in, int64_t offset, std::span<unsigned char> out) {
  in.clear();
  in.seekg(offset);
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size()));
  return in.gcount() == static_cast<std::streamsize>(out.size());
}

std::string Zip64Error(const std::string& what) {
  return what +
         " is a ZIP64 archive (a member or the archive over 4 GiB, or over 65535 members), which onnxq does "
         "not read: save fewer or smaller arrays per file";
}

}  // namespace

Result<std::vector<ZipEntry>> ReadZipDirectory(const fs::path& path) {
  const std::string file = "'" + path.string() + "'";
  const auto corrupt = [&](const std::string& reason) {
    return InvalidArgument(file + " is not a readable zip archive: " + reason +
                           "; write it with numpy.savez or numpy.savez_compressed");
  };
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return NotFound("calibration data " + file + " is not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open calibration data " + file);
  const auto size = static_cast<int64_t>(fs::file_size(path, ec));
  if (ec) return IoError("cannot read the size of " + file + ": " + ec.message());
  if (size < kEndRecordBytes) return corrupt("it holds " + std::to_string(size) + " bytes");

  // The end record: the last signature whose record and comment end within the file.
  const int64_t tail_size = std::min(size, kEndRecordBytes + kMaxCommentBytes);
  std::vector<unsigned char> tail(static_cast<size_t>(tail_size));
  if (!ReadAt(in, size - tail_size, tail)) return IoError("cannot read " + file);
  int64_t end = -1;
  for (int64_t p = tail_size - kEndRecordBytes; p >= 0 && end < 0; --p) {
    const unsigned char* e = &tail[static_cast<size_t>(p)];
    if (Le32(e) == kEndSignature && p + kEndRecordBytes + Le16(e + 20) <= tail_size) end = p;
  }
  if (end < 0) return corrupt("it has no end of central directory record");
  const unsigned char* e = &tail[static_cast<size_t>(end)];
  const uint32_t disk = Le16(e + 4);
  const uint32_t directory_disk = Le16(e + 6);
  const uint32_t disk_entries = Le16(e + 8);
  const uint32_t entries = Le16(e + 10);
  const int64_t directory_size = Le32(e + 12);
  const int64_t directory_offset = Le32(e + 16);
  if (entries == 0xFFFFU || directory_size == 0xFFFFFFFFLL || directory_offset == 0xFFFFFFFFLL) {
    return Unsupported(Zip64Error(file));
  }
  if (disk != 0 || directory_disk != 0 || disk_entries != entries) {
    return Unsupported(file + " is a multi-disk zip archive, which onnxq does not read");
  }
  const int64_t end_offset = size - tail_size + end;
  if (directory_offset + directory_size > end_offset) return corrupt("its central directory lies outside the file");
  if (directory_size > kMaxDirectoryBytes) {
    return corrupt("its central directory takes " + std::to_string(directory_size) + " bytes");
  }
  std::vector<unsigned char> directory(static_cast<size_t>(directory_size));
  if (!ReadAt(in, directory_offset, directory)) return IoError("cannot read " + file);

  std::vector<ZipEntry> result;
  int64_t p = 0;
  for (uint32_t i = 0; i < entries; ++i) {
    const std::string entry_number = "entry " + std::to_string(i + 1) + " of its central directory";
    if (p + kCentralEntryBytes > directory_size || Le32(&directory[static_cast<size_t>(p)]) != kCentralSignature) {
      return corrupt(entry_number + " is cut short or has no signature");
    }
    const unsigned char* c = &directory[static_cast<size_t>(p)];
    const uint32_t flags = Le16(c + 8);
    const uint32_t method = Le16(c + 10);
    const int64_t name_size = Le16(c + 28);
    const int64_t extra_size = Le16(c + 30);
    const int64_t comment_size = Le16(c + 32);
    const int64_t next = p + kCentralEntryBytes + name_size + extra_size + comment_size;
    if (next > directory_size) return corrupt(entry_number + " runs past the directory's end");
    ZipEntry entry;
    entry.name.assign(reinterpret_cast<const char*>(c + kCentralEntryBytes), static_cast<size_t>(name_size));
    const std::string member = file + " member '" + entry.name + "'";
    entry.crc32 = Le32(c + 16);
    entry.compressed_size = Le32(c + 20);
    entry.uncompressed_size = Le32(c + 24);
    const int64_t local_offset = Le32(c + 42);
    if (entry.compressed_size == 0xFFFFFFFFLL || entry.uncompressed_size == 0xFFFFFFFFLL ||
        local_offset == 0xFFFFFFFFLL || Le16(c + 34) == 0xFFFFU) {
      return Unsupported(Zip64Error(file));
    }
    if ((flags & (kFlagEncrypted | kFlagStrongEncryption)) != 0) {
      return Unsupported(member + " is encrypted: save the arrays without a password");
    }
    if (method != 0 && method != 8) {
      return Unsupported(member + " is compressed with zip method " + std::to_string(method) +
                         "; onnxq reads stored and deflated members (numpy.savez, numpy.savez_compressed)");
    }
    entry.method = method == 0 ? ZipMethod::kStored : ZipMethod::kDeflate;

    // The local header, for where the data starts; its data must end before the central directory.
    std::array<unsigned char, kLocalHeaderBytes> local{};
    if (local_offset + kLocalHeaderBytes > directory_offset || !ReadAt(in, local_offset, local) ||
        Le32(local.data()) != kLocalSignature) {
      return corrupt(member + " has no local header where the directory puts it");
    }
    entry.data_offset = local_offset + kLocalHeaderBytes + Le16(local.data() + 26) + Le16(local.data() + 28);
    if (entry.data_offset + entry.compressed_size > directory_offset) {
      return corrupt(member + " runs past the start of the central directory");
    }
    if (entry.method == ZipMethod::kStored && entry.compressed_size != entry.uncompressed_size) {
      return corrupt(member + " is stored but its sizes differ (" + std::to_string(entry.compressed_size) + " and " +
                     std::to_string(entry.uncompressed_size) + " bytes)");
    }
    if (entry.method == ZipMethod::kDeflate &&
        entry.uncompressed_size > entry.compressed_size * kMaxDeflateRatio + kLocalHeaderBytes) {
      return corrupt(member + " claims " + std::to_string(entry.uncompressed_size) + " bytes from " +
                     std::to_string(entry.compressed_size) + " deflated ones, more than deflate can produce");
    }
    result.push_back(std::move(entry));
    p = next;
  }
  return result;
}

struct ZipMemberReader::Inflater {
  z_stream stream{};
  std::vector<unsigned char> input = std::vector<unsigned char>(static_cast<size_t>(kInputChunkBytes));
  bool started = false;
  ~Inflater() {
    if (started) inflateEnd(&stream);
  }
};

ZipMemberReader::ZipMemberReader(ZipEntry entry, std::string what) : entry_(std::move(entry)), what_(std::move(what)) {}

ZipMemberReader::~ZipMemberReader() = default;

Result<std::unique_ptr<ZipMemberReader>> ZipMemberReader::Open(const fs::path& path, const ZipEntry& entry,
                                                               std::string what) {
  std::unique_ptr<ZipMemberReader> reader(new ZipMemberReader(entry, std::move(what)));
  reader->file_.open(path, std::ios::binary);
  if (!reader->file_) return NotFound("cannot open calibration data '" + path.string() + "'");
  if (entry.method == ZipMethod::kDeflate) {
    reader->inflater_ = std::make_unique<Inflater>();
    // Negative window bits: raw deflate data, as zip stores it (no zlib header).
    if (inflateInit2(&reader->inflater_->stream, -MAX_WBITS) != Z_OK) {
      return Internal("zlib cannot start inflating " + reader->what_);
    }
    reader->inflater_->started = true;
  }
  return reader;
}

Status ZipMemberReader::Read(std::span<std::byte> out) {
  if (out.size() > static_cast<uint64_t>(entry_.uncompressed_size - position_)) {
    return Internal("reading past the end of " + what_);
  }
  ONNXQ_RETURN_IF_ERROR(entry_.method == ZipMethod::kStored ? ReadStored(out) : ReadDeflated(out));
  crc_ = static_cast<uint32_t>(crc32_z(crc_, reinterpret_cast<const Bytef*>(out.data()), out.size()));
  position_ += static_cast<int64_t>(out.size());
  if (position_ == entry_.uncompressed_size && crc_ != entry_.crc32) {
    return InvalidArgument(what_ + " fails its CRC-32 check: the file is corrupt; write it again");
  }
  return Status::Ok();
}

Status ZipMemberReader::Skip(int64_t count) {
  std::vector<std::byte> scratch(static_cast<size_t>(std::min(count, kInputChunkBytes)));
  while (count > 0) {
    const int64_t n = std::min(count, kInputChunkBytes);
    ONNXQ_RETURN_IF_ERROR(Read(std::span<std::byte>(scratch).first(static_cast<size_t>(n))));
    count -= n;
  }
  return Status::Ok();
}

Status ZipMemberReader::ReadStored(std::span<std::byte> out) {
  file_.clear();
  file_.seekg(entry_.data_offset + position_);
  file_.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size()));
  if (file_.gcount() != static_cast<std::streamsize>(out.size())) {
    return InvalidArgument(what_ + " is cut short: the file is truncated");
  }
  return Status::Ok();
}

Status ZipMemberReader::ReadDeflated(std::span<std::byte> out) {
  z_stream& z = inflater_->stream;
  const auto corrupt = [&](const std::string& reason) {
    return InvalidArgument(what_ + " has corrupt deflate data (" + reason + "); write the file again");
  };
  size_t done = 0;
  while (done < out.size()) {
    if (z.avail_in == 0 && consumed_ < entry_.compressed_size) {
      const int64_t n = std::min(kInputChunkBytes, entry_.compressed_size - consumed_);
      if (!ReadAt(file_, entry_.data_offset + consumed_,
                  std::span<unsigned char>(inflater_->input).first(static_cast<size_t>(n)))) {
        return InvalidArgument(what_ + " is cut short: the file is truncated");
      }
      consumed_ += n;
      z.next_in = inflater_->input.data();
      z.avail_in = static_cast<uInt>(n);
    }
    const uInt want = static_cast<uInt>(std::min<size_t>(out.size() - done, size_t{1} << 30U));
    const uInt input_before = z.avail_in;
    z.next_out = reinterpret_cast<Bytef*>(out.data() + done);
    z.avail_out = want;
    const int rc = inflate(&z, Z_NO_FLUSH);
    const size_t produced = want - z.avail_out;
    done += produced;
    if (rc == Z_STREAM_END) {
      if (done < out.size()) return corrupt("it ends before the member's size");
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) return corrupt(z.msg != nullptr ? z.msg : "zlib error " + std::to_string(rc));
    if (produced == 0 && z.avail_in == input_before && (z.avail_in > 0 || consumed_ >= entry_.compressed_size)) {
      return corrupt("it is cut short");
    }
  }
  return Status::Ok();
}

}  // namespace onnxq
