// Percentile and Entropy: ranges read off a streaming histogram of each tensor
// (algorithms/percentile.h, algorithms/entropy_threshold.h).
//
// Entropy leaves exact zeros out of the KL search (as pytorch-quantization's skip_zeros and ncnn do):
// after a Relu half the values or more are exact zeros, and that spike in the first bin makes the
// smallest candidate threshold (max|x| / 16) win whatever the rest of the distribution, because every
// larger candidate smears the spike over a wider quantization bin. Zeros quantize exactly anyway.
// For the same reason (a spike at the background value of images) model inputs keep their MinMax
// range. Defaults NumBins 256 / NumQuantizedBins 128: 129 candidate thresholds from max|x| / 2 up
// (options.h says why not TensorRT's 2048).
#pragma once

#include <memory>

#include "calibration/calibrator.h"

namespace onnxq {

// Bins the streaming histogram keeps over the observed range: 4 x max(NumBins, 2048), so that
// resampling |x| into NumBins bins (Entropy) or reading a percentile is limited by NumBins rather
// than by the histogram's nested grid, and every histogram method can reuse another's table.
int HistogramMaxBins(const CalibrationOptions& options);

std::unique_ptr<Calibrator> MakePercentileCalibrator(const CalibrationSettings& settings);
std::unique_ptr<Calibrator> MakeEntropyCalibrator(const CalibrationSettings& settings);

}  // namespace onnxq
