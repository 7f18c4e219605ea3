// A tensor's value distribution as a streaming Histogram (algorithms/histogram.h): the statistic of
// Percentile, Entropy and power-of-two MinMSE (mode All). A later batch beyond the range so far widens
// the bins without losing a count; shards merge bin for bin. Exact zeros are also counted apart
// (Entropy leaves them out: see histogram_calibrators.h).
#pragma once

#include <memory>

#include "algorithms/histogram.h"
#include "calibration/tensor_statistic.h"

namespace onnxq {

class HistogramStatistic final : public TensorStatistic {
 public:
  explicit HistogramStatistic(int max_bins) : histogram_(HistogramOptions{.max_bins = max_bins}) {}

  void Collect(std::span<const float> values) override;
  Status Merge(const TensorStatistic& other) override;
  // {"kind": "histogram", "max_bins", "width_exponent", "first_bin_index", "counts", "min", "max",
  //  "nonfinite", "zeros"}: the Histogram's whole state and the count of exact zeros.
  nlohmann::json ToJson() const override;
  bool empty() const override { return histogram_.empty() && histogram_.nonfinite_count() == 0; }
  static Result<std::unique_ptr<HistogramStatistic>> FromJson(const nlohmann::json& json);

  const Histogram& histogram() const { return histogram_; }
  int64_t zeros() const { return zeros_; }

 private:
  HistogramStatistic(Histogram histogram, int64_t zeros) : histogram_(std::move(histogram)), zeros_(zeros) {}
  Histogram histogram_;
  int64_t zeros_ = 0;
};

}  // namespace onnxq
