#include "calibration/pos_votes_statistic.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "calibration/json_numbers.h"

namespace onnxq {
namespace {

// Min and max of the finite values (MinMaxOf, and a slower pass only when a value is not finite);
// returns the count of the others.
int64_t FiniteMinMax(std::span<const float> values, float* lo, float* hi) {
  MinMaxOf(values, lo, hi);
  if (std::isfinite(*lo) && std::isfinite(*hi)) return 0;
  *lo = std::numeric_limits<float>::infinity();
  *hi = -std::numeric_limits<float>::infinity();
  int64_t nonfinite = 0;
  for (const float x : values) {
    if (!std::isfinite(x)) {
      ++nonfinite;
      continue;
    }
    *lo = std::min(*lo, x);
    *hi = std::max(*hi, x);
  }
  return nonfinite;
}

}  // namespace

void PosVotesStatistic::Collect(std::span<const float> values) {
  float lo = 0.0F;
  float hi = 0.0F;
  nonfinite_ += FiniteMinMax(values, &lo, &hi);
  if (!(lo <= hi)) return;  // no finite value
  min_ = std::min(min_, lo);
  max_ = std::max(max_, hi);
  ++batches_;
  if (options_.range_symmetric) {
    const float absmax = std::max(std::fabs(lo), std::fabs(hi));
    lo = -absmax;
    hi = absmax;
  }
  if (std::min(lo, 0.0F) == 0.0F && std::max(hi, 0.0F) == 0.0F) return;  // all zeros: every scale is exact
  const int pos0 = RoundPos(lo, hi, options_.type, options_.grid);
  const int first = std::clamp(pos0 - std::max(options_.candidates.candidates_below, 0), kMinPos, kMaxPos);
  const int last = std::clamp(pos0 + std::max(options_.candidates.candidates_above, 0), kMinPos, kMaxPos);
  const int best = LeastSquaredErrorPos(values, first, last, lo, hi, options_.type, options_.grid);
  ++votes_[static_cast<std::size_t>(best - kMinPos)];
}

Status PosVotesStatistic::Merge(const TensorStatistic& other) {
  const auto* o = dynamic_cast<const PosVotesStatistic*>(&other);
  if (o == nullptr) return InvalidArgument("cannot merge power-of-two votes with a statistic of another kind");
  for (std::size_t i = 0; i < votes_.size(); ++i) votes_[i] += o->votes_[i];
  min_ = std::min(min_, o->min_);
  max_ = std::max(max_, o->max_);
  batches_ += o->batches_;
  nonfinite_ += o->nonfinite_;
  return Status::Ok();
}

std::optional<int> PosVotesStatistic::MostCommonPos() const {
  std::optional<int> best;
  int64_t best_votes = 0;
  for (std::size_t i = 0; i < votes_.size(); ++i) {
    if (votes_[i] > best_votes) {  // ascending pos: ties keep the smaller one
      best_votes = votes_[i];
      best = static_cast<int>(i) + kMinPos;
    }
  }
  return best;
}

nlohmann::json PosVotesStatistic::ToJson() const {
  nlohmann::json votes = nlohmann::json::object();
  for (std::size_t i = 0; i < votes_.size(); ++i) {
    if (votes_[i] > 0) votes[std::to_string(static_cast<int>(i) + kMinPos)] = votes_[i];
  }
  return {{"kind", "pos_votes"}, {"votes", votes},      {"min", min_},
          {"max", max_},         {"batches", batches_}, {"nonfinite", nonfinite_}};
}

Result<std::unique_ptr<PosVotesStatistic>> PosVotesStatistic::FromJson(const nlohmann::json& json,
                                                                       const Options& options) {
  try {
    if (json.value("kind", "") != "pos_votes") {
      return InvalidArgument("expected a power-of-two vote statistic, found kind '" + json.value("kind", "?") + "'");
    }
    auto stat = std::make_unique<PosVotesStatistic>(options);
    for (const auto& [key, count] : json.at("votes").items()) {
      std::size_t used = 0;
      const int pos = std::stoi(key, &used);
      if (used != key.size() || pos < kMinPos || pos > kMaxPos) {
        return InvalidArgument("power-of-two vote statistic has a bad entry '" + key + "'");
      }
      ONNXQ_ASSIGN_OR_RETURN(
          stat->votes_[static_cast<std::size_t>(pos - kMinPos)],
          JsonInteger(count, 0, std::numeric_limits<int64_t>::max(), "power-of-two vote statistic: votes of " + key));
    }
    ONNXQ_ASSIGN_OR_RETURN(stat->min_, JsonFloat(json.at("min"), "power-of-two vote statistic: min"));
    ONNXQ_ASSIGN_OR_RETURN(stat->max_, JsonFloat(json.at("max"), "power-of-two vote statistic: max"));
    ONNXQ_ASSIGN_OR_RETURN(stat->batches_, JsonInteger(json.at("batches"), 0, std::numeric_limits<int64_t>::max(),
                                                       "power-of-two vote statistic: batches"));
    if (json.contains("nonfinite")) {
      ONNXQ_ASSIGN_OR_RETURN(stat->nonfinite_, JsonInteger(json.at("nonfinite"), 0, std::numeric_limits<int64_t>::max(),
                                                           "power-of-two vote statistic: nonfinite"));
    }
    if (stat->batches_ > 0 && !(stat->min_ <= stat->max_)) {
      return InvalidArgument("power-of-two vote statistic has min > max");
    }
    return stat;
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("malformed power-of-two vote statistic: ") + e.what());
  }
}

}  // namespace onnxq
