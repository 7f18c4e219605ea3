#include "io/npy_format.h"

#include <charconv>
#include <cstring>
#include <optional>
#include <vector>

namespace onnxq {
namespace {

constexpr std::string_view kMagic = "\x93NUMPY";

Result<ElementType> ParseDescr(std::string_view descr, const std::string& what) {
  if (descr == "<f4") return ElementType::kFloat;
  if (descr == "<i8") return ElementType::kInt64;
  if (descr == "<i4") return ElementType::kInt32;
  if (descr == "|u1") return ElementType::kUInt8;
  if (descr == "|i1") return ElementType::kInt8;
  if (descr == "|b1") return ElementType::kBool;
  return Unsupported(what + " has numpy dtype '" + std::string(descr) +
                     "'; onnxq reads float32, int64, int32, uint8, int8 and bool arrays (convert with astype)");
}

const char* Descr(ElementType type) {
  switch (type) {
    case ElementType::kFloat:
      return "<f4";
    case ElementType::kInt64:
      return "<i8";
    case ElementType::kInt32:
      return "<i4";
    case ElementType::kUInt8:
      return "|u1";
    case ElementType::kInt8:
      return "|i1";
    case ElementType::kBool:
      return "|b1";
  }
  return "<f4";
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  return text;
}

// The text after `'key':` in the header dictionary (spaces skipped), or nullopt when the key is absent.
std::optional<std::string_view> ValueOf(std::string_view dict, std::string_view key) {
  const std::string quoted = "'" + std::string(key) + "'";
  const size_t at = dict.find(quoted);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = Trim(dict.substr(at + quoted.size()));
  if (rest.empty() || rest.front() != ':') return std::nullopt;
  return Trim(rest.substr(1));
}

// The dimensions of a shape tuple's inside, "2, 3" or "5," or "" (numpy may write 2L on Python 2).
Result<std::vector<int64_t>> ParseDims(std::string_view inside, const std::string& what) {
  std::vector<int64_t> dims;
  while (!Trim(inside).empty()) {
    const size_t comma = inside.find(',');
    std::string_view item = Trim(inside.substr(0, comma));
    inside = comma == std::string_view::npos ? std::string_view() : inside.substr(comma + 1);
    if (!item.empty() && item.back() == 'L') item.remove_suffix(1);
    if (item.empty() || item.find_first_not_of("0123456789") != std::string_view::npos) {
      return InvalidArgument(what + " has a .npy shape dimension '" + std::string(item) +
                             "' that is not a whole number");
    }
    int64_t dim = 0;
    const auto [stop, error] = std::from_chars(item.data(), item.data() + item.size(), dim);
    if (error != std::errc() || stop != item.data() + item.size()) {
      return InvalidArgument(what + " has a .npy shape dimension " + std::string(item) + " that is out of range");
    }
    dims.push_back(dim);
  }
  return dims;
}

}  // namespace

Result<int64_t> NpyHeaderSize(std::string_view first, const std::string& what) {
  if (first.size() < 10 || first.substr(0, kMagic.size()) != kMagic) {
    return InvalidArgument(what + " is not a .npy file (bad magic)");
  }
  const auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(first[i])); };
  const uint32_t major = byte(6);
  if (major < 1 || major > 3) {
    return Unsupported(what + " is a .npy file of version " + std::to_string(major) +
                       ", which onnxq does not read (numpy writes 1.0 to 3.0)");
  }
  if (major > 1 && first.size() < kNpyPrefixBytes) return InvalidArgument(what + " has a truncated .npy header");
  const int64_t size = major == 1 ? int64_t{10} + (byte(8) | (byte(9) << 8U))
                                  : int64_t{12} + (byte(8) | (byte(9) << 8U) | (byte(10) << 16U) | (byte(11) << 24U));
  if (size < static_cast<int64_t>(kNpyPrefixBytes)) {
    return InvalidArgument(what + " has a .npy header of " + std::to_string(size) +
                           " bytes, too short for its dictionary");
  }
  if (size > kMaxNpyHeaderBytes) {
    return InvalidArgument(what + " has a .npy header of " + std::to_string(size) + " bytes, more than the " +
                           std::to_string(kMaxNpyHeaderBytes) + " onnxq reads (a corrupt file?)");
  }
  return size;
}

Result<NpyHeader> ParseNpyHeader(std::string_view header, const std::string& what) {
  ONNXQ_ASSIGN_OR_RETURN(const int64_t size, NpyHeaderSize(header, what));
  if (static_cast<int64_t>(header.size()) < size) return InvalidArgument(what + " has a truncated .npy header");
  const size_t prefix = header[6] == '\x01' ? 10 : 12;
  const std::string_view dict = header.substr(prefix, static_cast<size_t>(size) - prefix);

  NpyHeader result;
  const auto descr = ValueOf(dict, "descr");
  if (!descr) return InvalidArgument(what + " has no dtype in its .npy header");
  if (descr->empty() || descr->front() != '\'') {
    return Unsupported(what +
                       " has a structured numpy dtype; onnxq reads plain float32, int64, int32, uint8, int8 "
                       "and bool arrays");
  }
  const size_t end = descr->find('\'', 1);
  if (end == std::string_view::npos) return InvalidArgument(what + " has no dtype in its .npy header");
  ONNXQ_ASSIGN_OR_RETURN(result.type, ParseDescr(descr->substr(1, end - 1), what));

  if (const auto fortran = ValueOf(dict, "fortran_order"); fortran && fortran->starts_with("True")) {
    return Unsupported(what + " is Fortran-ordered; save it with numpy.ascontiguousarray");
  }

  const auto shape = ValueOf(dict, "shape");
  const size_t close = shape ? shape->find(')') : std::string_view::npos;
  if (!shape || shape->empty() || shape->front() != '(' || close == std::string_view::npos) {
    return InvalidArgument(what + " has no shape in its .npy header");
  }
  ONNXQ_ASSIGN_OR_RETURN(result.shape, ParseDims(shape->substr(1, close - 1), what));
  result.data_offset = size;
  return result;
}

std::string EncodeNpy(const Tensor& tensor) {
  std::string shape;  // "2, 3" or "5," as Python writes tuples
  for (size_t i = 0; i < tensor.shape.size(); ++i) shape += (i > 0 ? ", " : "") + std::to_string(tensor.shape[i]);
  if (tensor.shape.size() == 1) shape += ",";
  std::string header =
      std::string("{'descr': '") + Descr(tensor.type) + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string content(kMagic);
  content.push_back('\x01');
  content.push_back('\x00');
  content.push_back(static_cast<char>(header.size() & 0xFFU));
  content.push_back(static_cast<char>((header.size() >> 8U) & 0xFFU));
  content += header;
  content.append(reinterpret_cast<const char*>(tensor.bytes.data()), tensor.bytes.size());
  return content;
}

}  // namespace onnxq
