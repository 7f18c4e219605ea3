#include "algorithms/image_preprocess.h"

#include <algorithm>
#include <cmath>

namespace onnxq {

Result<ImagePreprocessOptions> ImagePreprocessPreset(const std::string& name) {
  ImagePreprocessOptions o;
  if (name == "imagenet") {
    o.mean = {0.485F, 0.456F, 0.406F};
    o.std = {0.229F, 0.224F, 0.225F};
    return o;
  }
  o.resize_shorter = 0;
  o.crop_h = 0;
  o.crop_w = 0;
  if (name == "unit") return o;
  if (name == "symmetric" || name == "paddleocr") {
    o.mean = {0.5F, 0.5F, 0.5F};
    o.std = {0.5F, 0.5F, 0.5F};
    if (name == "paddleocr") o.color = ColorOrder::kBgr;
    return o;
  }
  return InvalidArgument("unknown image preprocessing preset '" + name +
                         "': expected imagenet, unit, symmetric or paddleocr");
}

int ChannelsOf(ColorOrder color) { return color == ColorOrder::kGray ? 1 : 3; }

std::vector<float> ResizeBilinear(std::span<const float> planes, int channels, int in_h, int in_w, int out_h,
                                  int out_w) {
  // Per output coordinate: the two source indices and the weight of the second.
  struct Tap {
    int lo = 0;
    int hi = 0;
    float w = 0;
  };
  auto taps = [](int in, int out) {
    std::vector<Tap> t(static_cast<size_t>(out));
    const double scale = static_cast<double>(in) / out;
    for (int i = 0; i < out; ++i) {
      const double src = std::clamp((i + 0.5) * scale - 0.5, 0.0, static_cast<double>(in - 1));
      const int lo = static_cast<int>(std::floor(src));
      t[static_cast<size_t>(i)] = {lo, std::min(lo + 1, in - 1), static_cast<float>(src - lo)};
    }
    return t;
  };
  const std::vector<Tap> ys = taps(in_h, out_h);
  const std::vector<Tap> xs = taps(in_w, out_w);
  std::vector<float> out(static_cast<size_t>(channels) * out_h * out_w);
  for (int c = 0; c < channels; ++c) {
    const float* in = planes.data() + static_cast<size_t>(c) * in_h * in_w;
    float* dst = out.data() + static_cast<size_t>(c) * out_h * out_w;
    for (int y = 0; y < out_h; ++y) {
      const Tap& ty = ys[static_cast<size_t>(y)];
      const float* row0 = in + static_cast<size_t>(ty.lo) * in_w;
      const float* row1 = in + static_cast<size_t>(ty.hi) * in_w;
      for (int x = 0; x < out_w; ++x) {
        const Tap& tx = xs[static_cast<size_t>(x)];
        const float top = row0[tx.lo] + (row0[tx.hi] - row0[tx.lo]) * tx.w;
        const float bottom = row1[tx.lo] + (row1[tx.hi] - row1[tx.lo]) * tx.w;
        dst[static_cast<size_t>(y) * out_w + x] = top + (bottom - top) * ty.w;
      }
    }
  }
  return out;
}

namespace {

// The resized size of a height x width image (rows, columns).
std::pair<int, int> ResizedSize(int height, int width, const ImagePreprocessOptions& o) {
  if (o.resize_shorter > 0) {
    // torchvision's Resize(int): the longer side truncated, int(size * long / short).
    if (width <= height) {
      return {static_cast<int>(static_cast<int64_t>(o.resize_shorter) * height / width), o.resize_shorter};
    }
    return {o.resize_shorter, static_cast<int>(static_cast<int64_t>(o.resize_shorter) * width / height)};
  }
  const double scale = std::max(static_cast<double>(o.crop_h) / height, static_cast<double>(o.crop_w) / width);
  return {std::max(o.crop_h, static_cast<int>(std::lround(height * scale))),
          std::max(o.crop_w, static_cast<int>(std::lround(width * scale)))};
}

}  // namespace

Status PreprocessImage(std::span<const uint8_t> rgb, int width, int height, const ImagePreprocessOptions& options,
                       std::span<float> out) {
  const int channels = ChannelsOf(options.color);
  if (width <= 0 || height <= 0 || rgb.size() != static_cast<size_t>(width) * height * 3) {
    return InvalidArgument("an image of " + std::to_string(width) + "x" + std::to_string(height) + " needs " +
                           "width * height * 3 bytes of RGB");
  }
  if (options.crop_h <= 0 || options.crop_w <= 0 ||
      out.size() != static_cast<size_t>(channels) * options.crop_h * options.crop_w) {
    return InvalidArgument("the preprocessed sample needs a crop size and room for channels * crop_h * crop_w floats");
  }
  // 1. color, as planes of floats in [0, 255]
  const size_t pixels = static_cast<size_t>(width) * height;
  std::vector<float> planes(static_cast<size_t>(channels) * pixels);
  for (size_t i = 0; i < pixels; ++i) {
    const auto r = static_cast<float>(rgb[3 * i]);
    const auto g = static_cast<float>(rgb[3 * i + 1]);
    const auto b = static_cast<float>(rgb[3 * i + 2]);
    if (options.color == ColorOrder::kGray) {
      planes[i] = (r == g && g == b) ? r : 0.299F * r + 0.587F * g + 0.114F * b;
    } else {
      const bool bgr = options.color == ColorOrder::kBgr;
      planes[i] = bgr ? b : r;
      planes[pixels + i] = g;
      planes[2 * pixels + i] = bgr ? r : b;
    }
  }
  // 2. resize
  const auto [rh, rw] = ResizedSize(height, width, options);
  if (rh != height || rw != width) planes = ResizeBilinear(planes, channels, height, width, rh, rw);
  if (options.crop_h > rh || options.crop_w > rw) {
    return InvalidArgument("a crop of " + std::to_string(options.crop_h) + "x" + std::to_string(options.crop_w) +
                           " (HxW) does not fit the image resized to " + std::to_string(rh) + "x" + std::to_string(rw));
  }
  // 3.-5. crop, scale, layout
  const int top = (rh - options.crop_h) / 2;
  const int left = (rw - options.crop_w) / 2;
  for (int c = 0; c < channels; ++c) {
    const int rgb_index = options.color == ColorOrder::kBgr ? 2 - c : c;
    const float mean = options.mean[static_cast<size_t>(rgb_index)];
    const float inv_std = 1.0F / options.std[static_cast<size_t>(rgb_index)];
    const float* plane = planes.data() + static_cast<size_t>(c) * rh * rw;
    for (int y = 0; y < options.crop_h; ++y) {
      const float* row = plane + static_cast<size_t>(top + y) * rw + left;
      for (int x = 0; x < options.crop_w; ++x) {
        const float v = (row[x] / 255.0F - mean) * inv_std;
        const size_t at = options.layout == ImageLayout::kNchw
                              ? (static_cast<size_t>(c) * options.crop_h + y) * options.crop_w + x
                              : (static_cast<size_t>(y) * options.crop_w + x) * channels + c;
        out[at] = v;
      }
    }
  }
  return Status::Ok();
}

}  // namespace onnxq
