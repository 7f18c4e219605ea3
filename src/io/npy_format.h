// The numpy .npy format, from bytes: the header of a .npy file or of an .npz member, and the bytes of
// a whole .npy file. Every number is range-checked; errors name the file (or member) as `what` says,
// e.g. "'calib.npy'" or "'s0.npz' member 'x.npy'".
//
//   \x93NUMPY <major> <minor> <header length: 2 bytes (1.0) or 4 (2.0, 3.0)> {'descr': '<f4',
//   'fortran_order': False, 'shape': (2, 3), } <spaces> \n <data, C order>
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "onnxq/data_reader.h"
#include "onnxq/status.h"
#include "onnxq/tensor.h"

namespace onnxq {

// Bytes that NpyHeaderSize needs: the magic, the version and the longest header length field.
inline constexpr size_t kNpyPrefixBytes = 12;

// A header longer than this is refused (numpy itself refuses headers over 10,000 bytes by default).
inline constexpr int64_t kMaxNpyHeaderBytes = int64_t{1} << 20;

// The size of the whole header (magic to newline: the offset of the data) from the first bytes of the
// file, `first` (at least 10 bytes, 12 for versions 2.0 and 3.0, or fewer when that is all there is).
// Never less than kNpyPrefixBytes (a shorter header cannot hold the dictionary): a reader that read
// the first kNpyPrefixBytes bytes has not read past the header.
Result<int64_t> NpyHeaderSize(std::string_view first, const std::string& what);

// Parses a whole header, `header` being its NpyHeaderSize bytes: dtype, shape (each dimension checked to
// fit int64) and data_offset = header.size().
Result<NpyHeader> ParseNpyHeader(std::string_view header, const std::string& what);

// The bytes of a version 1.0 .npy file holding `tensor`, as numpy.save writes them (data 64-aligned).
std::string EncodeNpy(const Tensor& tensor);

}  // namespace onnxq
