// PNG and JPEG files made in tests (libpng, libjpeg-turbo), from 8-bit RGB pixels.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace onnxq::testing {

// `rgb` holds height x width x 3 bytes, interleaved.
std::string EncodePng(const std::vector<uint8_t>& rgb, int width, int height);
std::string EncodeJpeg(const std::vector<uint8_t>& rgb, int width, int height, int quality = 95);

// An 8-bit grayscale PNG (one byte a pixel).
std::string EncodeGrayPng(const std::vector<uint8_t>& gray, int width, int height);

}  // namespace onnxq::testing
