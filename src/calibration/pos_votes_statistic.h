// Power-of-two MinMSE in mode MostCommon: every batch votes for the position whose scale 2^-pos
// quantizes that batch with the smallest squared error (candidates pos0 - 1 .. pos0 + 3 around
// pos0 = RoundPos of the batch's range), and the most common vote wins. Votes add up across shards,
// so merging is exact. The running min and max are kept as well: asymmetric grids take their zero
// point from the whole range.
#pragma once

#include <array>
#include <limits>
#include <memory>
#include <optional>

#include "algorithms/power_of_two.h"
#include "calibration/tensor_statistic.h"

namespace onnxq {

class PosVotesStatistic final : public TensorStatistic {
 public:
  struct Options {
    QuantType type = QuantType::kUInt8;
    RangeOptions grid;            // the activation grid (symmetry, zero point convention)
    bool range_symmetric = true;  // CalibTensorRangeSymmetric: a batch's range is [-max|x|, max|x|]
    MinMseOptions candidates;
  };
  explicit PosVotesStatistic(const Options& options) : options_(options) {}

  // One pass for the range, one per candidate; no allocation.
  void Collect(std::span<const float> values) override;
  Status Merge(const TensorStatistic& other) override;
  // {"kind": "pos_votes", "votes": {"pos": count, ...}, "min", "max", "batches"}.
  nlohmann::json ToJson() const override;
  bool empty() const override { return batches_ == 0 && nonfinite_ == 0; }
  static Result<std::unique_ptr<PosVotesStatistic>> FromJson(const nlohmann::json& json, const Options& options);

  // The most common vote (ties: the smaller pos, i.e. the coarser scale); nullopt without votes
  // (every batch was all zeros).
  std::optional<int> MostCommonPos() const;
  float min() const { return min_; }
  float max() const { return max_; }
  int64_t batches() const { return batches_; }
  // Non-finite values seen (an additive -inf mask, an overflow): no grid holds the tensor then.
  int64_t nonfinite() const { return nonfinite_; }

 private:
  static constexpr int kPositions = kMaxPos - kMinPos + 1;

  Options options_;
  std::array<int64_t, kPositions> votes_{};
  float min_ = std::numeric_limits<float>::infinity();
  float max_ = -std::numeric_limits<float>::infinity();
  int64_t batches_ = 0;
  int64_t nonfinite_ = 0;
};

}  // namespace onnxq
