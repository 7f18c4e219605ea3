#include "io/image_decode.h"

// jpeglib.h needs size_t and FILE declared first.
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

namespace onnxq {
namespace {

constexpr size_t kMaxPixels = size_t{1} << 28;  // 256 Mpixels: refuse headers that would exhaust memory

bool StartsWith(std::span<const std::byte> bytes, std::initializer_list<uint8_t> magic) {
  if (bytes.size() < magic.size()) return false;
  size_t i = 0;
  for (const uint8_t m : magic) {
    if (std::to_integer<uint8_t>(bytes[i++]) != m) return false;
  }
  return true;
}

// libjpeg reports errors through error_exit, which must not return: it jumps back to DecodeJpegRaw.
struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void JpegErrorExit(j_common_ptr cinfo) {
  auto* error = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, error->message);
  std::longjmp(error->jump, 1);
}

// Warnings are not printed; a file that ends early (libjpeg would fill the rest with gray) is an error.
void JpegWarning(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) JpegErrorExit(cinfo);
}

// Between setjmp and longjmp this frame holds only trivially destructible objects; the pixel buffer is
// allocated by the caller once the header is read (the two-phase `size` call).
bool DecodeJpegRaw(const unsigned char* data, unsigned long size, RgbImage* image, char* message) {
  jpeg_decompress_struct cinfo{};
  JpegError error{};
  cinfo.err = jpeg_std_error(&error.mgr);
  error.mgr.error_exit = JpegErrorExit;
  error.mgr.emit_message = JpegWarning;
  if (setjmp(error.jump) != 0) {
    std::memcpy(message, error.message, JMSG_LENGTH_MAX);
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, size);
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  const size_t pixels = static_cast<size_t>(cinfo.output_width) * cinfo.output_height;
  if (cinfo.output_components != 3 || pixels == 0 || pixels > kMaxPixels) {
    std::snprintf(message, JMSG_LENGTH_MAX, "unsupported JPEG of %ux%u pixels, %d components", cinfo.output_width,
                  cinfo.output_height, cinfo.output_components);
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  image->width = static_cast<int>(cinfo.output_width);
  image->height = static_cast<int>(cinfo.output_height);
  image->pixels.resize(pixels * 3);
  const size_t stride = static_cast<size_t>(cinfo.output_width) * 3;
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = image->pixels.data() + cinfo.output_scanline * stride;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

Result<RgbImage> DecodeJpeg(std::span<const std::byte> bytes) {
  RgbImage image;
  char message[JMSG_LENGTH_MAX] = {};
  if (!DecodeJpegRaw(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()),
                     &image, message)) {
    return InvalidArgument(std::string("bad JPEG: ") + message);
  }
  return image;
}

Result<RgbImage> DecodePng(std::span<const std::byte> bytes) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  if (png_image_begin_read_from_memory(&png, bytes.data(), bytes.size()) == 0) {
    std::string message = png.message;
    png_image_free(&png);
    return InvalidArgument("bad PNG: " + message);
  }
  png.format = PNG_FORMAT_RGB;
  const size_t pixels = static_cast<size_t>(png.width) * png.height;
  if (pixels == 0 || pixels > kMaxPixels) {
    png_image_free(&png);
    return InvalidArgument("unsupported PNG of " + std::to_string(png.width) + "x" + std::to_string(png.height) +
                           " pixels");
  }
  RgbImage image{.width = static_cast<int>(png.width), .height = static_cast<int>(png.height)};
  image.pixels.resize(PNG_IMAGE_SIZE(png));
  if (png_image_finish_read(&png, nullptr, image.pixels.data(), 0, nullptr) == 0) {
    std::string message = png.message;
    png_image_free(&png);
    return InvalidArgument("bad PNG: " + message);
  }
  return image;
}

}  // namespace

Result<RgbImage> DecodeImage(std::span<const std::byte> bytes) {
  if (StartsWith(bytes, {0xFF, 0xD8, 0xFF})) return DecodeJpeg(bytes);
  if (StartsWith(bytes, {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A})) return DecodePng(bytes);
  return InvalidArgument("neither a JPEG nor a PNG file (unknown signature)");
}

}  // namespace onnxq
