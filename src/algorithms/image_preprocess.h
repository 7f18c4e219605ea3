// Image preprocessing for calibration data, on plain arrays: the steps of onnxq/image_preprocess.h
// (color, resize, crop, scale, layout) on one decoded image.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "onnxq/image_preprocess.h"
#include "onnxq/status.h"

namespace onnxq {

int ChannelsOf(ColorOrder color);

// Resizes `planes` channels of in_h x in_w floats (planar) to out_h x out_w, bilinear as step 2 of
// onnxq/image_preprocess.h says.
std::vector<float> ResizeBilinear(std::span<const float> planes, int channels, int in_h, int in_w, int out_h,
                                  int out_w);

// One sample from `rgb` (height x width x 3 bytes, interleaved) into `out`, which holds exactly
// ChannelsOf(color) * crop_h * crop_w floats. `options` must give the crop (no 0 left). A crop larger
// than the resized image is an error naming both sizes.
Status PreprocessImage(std::span<const uint8_t> rgb, int width, int height, const ImagePreprocessOptions& options,
                       std::span<float> out);

}  // namespace onnxq
