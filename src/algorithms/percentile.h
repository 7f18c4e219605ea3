// Percentile calibration: the range that keeps `percentile` % of the values, read off a Histogram.
// Pure math, no graph.
//
// Symmetric (ONNX Runtime's default for this method): over the |x| distribution, the threshold t is
// the upper edge of the first |x| bin at which the CDF reaches percentile / 100 (the bin holding the
// ceil(n * percentile / 100)-th smallest |x|), clamped to the observed max |x|. The result is
// [-t, t] intersected with the observed [min, max], so data that never goes negative (after a Relu)
// gets [min, t] rather than a range wasting half its levels.
//
// Asymmetric: (100 - percentile) / 200 of the mass is cut on each side. rmin is the lower edge of
// the first bin at which the CDF reaches that fraction, rmax the upper edge of the first bin at which
// it reaches 1 - that fraction; both are clamped to the observed [min, max].
//
// Resolution: the threshold is exact to one bin width of the histogram (within one width of the
// sorted-data percentile).
#pragma once

#include "algorithms/histogram.h"

namespace onnxq {

struct PercentileOptions {
  // Share of the values kept, in percent; clamped to [0, 100]. 100 gives the MinMax range.
  double percentile = 99.999;
  bool symmetric = true;
};

// An empty histogram gives [0, 0].
ValueRange PercentileRange(const Histogram& histogram, const PercentileOptions& options = {});

}  // namespace onnxq
