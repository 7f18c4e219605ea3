// JPEG (libjpeg-turbo) and PNG (libpng) files decoded to 8-bit RGB, from bytes in memory. Pure
// functions: no file access, errors as values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "onnxq/status.h"

namespace onnxq {

struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // height x width x 3, interleaved R, G, B
};

// Decodes a JPEG or PNG file's bytes, chosen by the signature. Grayscale, palette, 16-bit and alpha PNGs
// become 8-bit RGB (alpha dropped); grayscale and CMYK JPEGs too. Anything else, or a damaged file, is an
// error saying what was wrong (the caller names the file).
Result<RgbImage> DecodeImage(std::span<const std::byte> bytes);

}  // namespace onnxq
