#include "testing/npz_writer.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>

#include "io/npy_format.h"
#include "testing/test_support.h"

namespace onnxq::testing {
namespace {

void Put16(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v & 0xFFU));
  out.push_back(static_cast<char>((v >> 8U) & 0xFFU));
}

void Put32(std::string& out, uint32_t v) {
  Put16(out, v & 0xFFFFU);
  Put16(out, v >> 16U);
}

constexpr uint32_t kDosDate = (1U << 5U) | 1U;  // 1980-01-01

}  // namespace

void PrintTo(ZipCompression compression, std::ostream* os) {
  *os << (compression == ZipCompression::kStored ? "stored" : "deflate");
}

std::string Deflate(const std::string& data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string ZipBytes(const std::vector<ZipMember>& members) {
  std::string file;
  std::string directory;
  for (const ZipMember& m : members) {
    const bool deflated = m.compression == ZipCompression::kDeflate;
    const std::string data = deflated ? Deflate(m.data) : m.data;
    const auto crc = static_cast<uint32_t>(crc32_z(0, reinterpret_cast<const Bytef*>(m.data.data()), m.data.size()));
    const auto offset = static_cast<uint32_t>(file.size());
    // Local header: signature, version 2.0, flags, method, time, date, CRC, sizes, name and extra lengths.
    Put32(file, 0x04034b50);
    Put16(file, 20);
    Put16(file, 0);
    Put16(file, deflated ? 8 : 0);
    Put16(file, 0);
    Put16(file, kDosDate);
    Put32(file, crc);
    Put32(file, static_cast<uint32_t>(data.size()));
    Put32(file, static_cast<uint32_t>(m.data.size()));
    Put16(file, static_cast<uint32_t>(m.name.size()));
    Put16(file, 0);
    file += m.name;
    file += data;
    // Central directory entry: the same, with version made by, comment length, disk, attributes, offset.
    Put32(directory, 0x02014b50);
    Put16(directory, 20);
    Put16(directory, 20);
    Put16(directory, 0);
    Put16(directory, deflated ? 8 : 0);
    Put16(directory, 0);
    Put16(directory, kDosDate);
    Put32(directory, crc);
    Put32(directory, static_cast<uint32_t>(data.size()));
    Put32(directory, static_cast<uint32_t>(m.data.size()));
    Put16(directory, static_cast<uint32_t>(m.name.size()));
    Put16(directory, 0);
    Put16(directory, 0);
    Put16(directory, 0);
    Put16(directory, 0);
    Put32(directory, 0);
    Put32(directory, offset);
    directory += m.name;
  }
  const auto directory_offset = static_cast<uint32_t>(file.size());
  file += directory;
  Put32(file, 0x06054b50);
  Put16(file, 0);
  Put16(file, 0);
  Put16(file, static_cast<uint32_t>(members.size()));
  Put16(file, static_cast<uint32_t>(members.size()));
  Put32(file, static_cast<uint32_t>(directory.size()));
  Put32(file, directory_offset);
  Put16(file, 0);
  return file;
}

void WriteNpz(const std::filesystem::path& path, const Feeds& arrays, ZipCompression compression) {
  std::vector<ZipMember> members;
  for (const Tensor& t : arrays) members.push_back({t.name + ".npy", EncodeNpy(t), compression});
  WriteBytes(path, ZipBytes(members));
}

}  // namespace onnxq::testing
