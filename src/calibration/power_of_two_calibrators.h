// Power-of-two methods (vai_q_onnx PowerOfTwoMethod): ranges come with pos, scale = 2^-pos, chosen on
// the activation grid of the settings (algorithms/power_of_two.h).
//   NonOverflow  the finest scale at which no calibrated value saturates (min / max statistic).
//   MinMSE All   over every value of every batch, from a histogram: the candidate pos0 - 1 .. pos0 + 3
//                with the least sum over bins of count x (x - dequant(quant(x)))^2, the zero point
//                fixed per candidate.
//   MinMSE MostCommon  the most common per-batch best position (pos_votes_statistic.h); on an
//                asymmetric grid with rmin < 0 no finer than NonOverflow's: every batch voted with the
//                zero point of its own range, the tensor gets the one of the whole range.
// The range returned is the calibrated one ([-max|x|, max|x|] when symmetric): asymmetric grids take
// their zero point from it.
#pragma once

#include <memory>

#include "calibration/calibrator.h"

namespace onnxq {

std::unique_ptr<Calibrator> MakeNonOverflowCalibrator(const CalibrationSettings& settings);
std::unique_ptr<Calibrator> MakeMinMseCalibrator(const CalibrationSettings& settings);

}  // namespace onnxq
