// How a folder of images becomes model inputs (8-bit RGB pixels in, the float sample a model takes out),
// torchvision's Resize(shorter) + CenterCrop + ToTensor + Normalize in this order:
//
//   1. color:  RGB as decoded, BGR (channels swapped) or GRAY (0.299 R + 0.587 G + 0.114 B; a pixel with
//              R = G = B keeps its value exactly)
//   2. resize: the shorter side to `resize_shorter` pixels, the other side in proportion (rounded), with
//              bilinear interpolation at half-pixel centers (align_corners = false, no antialiasing):
//                src = (dst + 0.5) * in / out - 0.5, clamped to [0, in - 1]
//              resize_shorter = 0: the smallest size that covers the crop, max(crop_h / h, crop_w / w)
//   3. crop:   a crop_h x crop_w window at the center, top = (H - crop_h) / 2, left = (W - crop_w) / 2
//   4. scale:  x = (pixel / 255 - mean[c]) / std[c], with mean and std given in R, G, B order (a BGR
//              sample's channel 0 uses mean[2]; a GRAY sample uses mean[0])
//   5. layout: NCHW (planes) or NHWC (interleaved) for one sample, without the batch axis
#pragma once

#include <array>
#include <string>

#include "onnxq/status.h"

namespace onnxq {

enum class ColorOrder { kRgb, kBgr, kGray };
enum class ImageLayout { kNchw, kNhwc };

struct ImagePreprocessOptions {
  int resize_shorter = 256;                        // 0: just cover the crop
  int crop_h = 224;                                // 0: from the model's input shape
  int crop_w = 224;                                // 0: from the model's input shape
  std::array<float, 3> mean = {0.0F, 0.0F, 0.0F};  // on [0, 1] pixel values, R, G, B
  std::array<float, 3> std = {1.0F, 1.0F, 1.0F};
  ColorOrder color = ColorOrder::kRgb;
  ImageLayout layout = ImageLayout::kNchw;
};

// A preset by name: "imagenet" (torchvision: resize 256, crop 224, mean 0.485,0.456,0.406, std
// 0.229,0.224,0.225, RGB, NCHW), "unit" ([0, 1]), "symmetric" ([-1, 1]: mean 0.5, std 0.5) or
// "paddleocr" (BGR, mean 0.5, std 0.5). All but "imagenet" leave the size to the model (resize 0,
// crop 0). Another name is an error that lists these.
Result<ImagePreprocessOptions> ImagePreprocessPreset(const std::string& name);

}  // namespace onnxq
