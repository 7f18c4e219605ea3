#include "calibration/pos_votes_statistic.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "common/simd.h"

// Packed lanes (GCC vector extensions, 64 bytes) never cross a call here, so the ABI for passing them,
// which -Wpsabi warns about when AVX-512 is off, never applies (see src/common/simd.h).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace onnxq {
namespace {

// Min and max of the finite values (MinMaxOf, and a slower pass only when a value is not finite).
void FiniteMinMax(std::span<const float> values, float* lo, float* hi) {
  MinMaxOf(values, lo, hi);
  if (std::isfinite(*lo) && std::isfinite(*hi)) return;
  *lo = std::numeric_limits<float>::infinity();
  *hi = -std::numeric_limits<float>::infinity();
  for (const float x : values) {
    if (!std::isfinite(x)) continue;
    *lo = std::min(*lo, x);
    *hi = std::max(*hi, x);
  }
}

}  // namespace

ONNXQ_FOR_EACH_X86_LEVEL
double PowerOfTwoSquaredError(std::span<const float> values, int pos, int64_t zero_point, const IntRange& range) {
  const float lo = static_cast<float>(range.qmin - zero_point);
  const float hi = static_cast<float>(range.qmax - zero_point);
  // Round half to even by adding and subtracting 1.5 * 2^23: exact for |v| < 2^22.
  constexpr float kRoundMagic = 12582912.0F;
  if (!(std::fabs(lo) < 4194304.0F && std::fabs(hi) < 4194304.0F)) {
    return SquaredQuantError(values, QuantParams{std::ldexp(1.0F, -pos), zero_point}, range);
  }
  // x * 2^pos is exact (or saturates to +-inf, which the clamp handles); clamping before rounding
  // gives clamp(round(v)) because the bounds are integers. The loops are written branch-free
  // (selects, integer finiteness test) so that they vectorize: squared errors of a block first,
  // then their sum in lanes.
  const float inverse = std::ldexp(1.0F, pos);
  const float scale = std::ldexp(1.0F, -pos);
  constexpr std::size_t kBlock = 256;
  constexpr std::size_t kLanes = 16;
  constexpr uint32_t kExponentMask = 0x7f800000U;
  float errors[kBlock];
  double total = 0.0;
  for (std::size_t begin = 0; begin < values.size(); begin += kBlock) {
    const std::size_t count = std::min(kBlock, values.size() - begin);
    const float* x = values.data() + begin;
    for (std::size_t i = 0; i < count; ++i) {
      float v = x[i] * inverse;
      v = v < lo ? lo : v;
      v = v > hi ? hi : v;
      const float q = (v + kRoundMagic) - kRoundMagic;
      const float error = x[i] - q * scale;
      const uint32_t finite = (std::bit_cast<uint32_t>(x[i]) & kExponentMask) != kExponentMask ? ~0U : 0U;
      errors[i] = std::bit_cast<float>(std::bit_cast<uint32_t>(error * error) & finite);
    }
    float lanes[kLanes] = {};
    std::size_t i = 0;
    for (; i + kLanes <= count; i += kLanes) {
      for (std::size_t k = 0; k < kLanes; ++k) lanes[k] += errors[i + k];
    }
    double block = 0.0;
    for (; i < count; ++i) block += static_cast<double>(errors[i]);
    for (const float lane : lanes) block += static_cast<double>(lane);
    total += block;
  }
  return total;
}

ONNXQ_FOR_EACH_X86_LEVEL
void PowerOfTwoSquaredErrors(std::span<const float> values, std::span<const PosCandidate> candidates,
                             const IntRange& range, std::span<double> losses) {
  using FloatLanes = float __attribute__((vector_size(64)));
  using IntLanes = int32_t __attribute__((vector_size(64)));
  constexpr std::size_t kLanes = 16;
  constexpr std::size_t kMost = 8;
  constexpr float kRoundMagic = 12582912.0F;  // 1.5 * 2^23, as in PowerOfTwoSquaredError
  const std::size_t k = candidates.size();
  bool lanes_apply = k <= kMost;
  for (const PosCandidate& c : candidates) {
    const float lo = static_cast<float>(range.qmin - c.zero_point);
    const float hi = static_cast<float>(range.qmax - c.zero_point);
    lanes_apply = lanes_apply && std::fabs(lo) < 4194304.0F && std::fabs(hi) < 4194304.0F;
  }
  if (!lanes_apply) {
    for (std::size_t c = 0; c < k; ++c) {
      losses[c] = PowerOfTwoSquaredError(values, candidates[c].pos, candidates[c].zero_point, range);
    }
    return;
  }
  float inverse[kMost];
  float scale[kMost];
  float lo[kMost];
  float hi[kMost];
  for (std::size_t c = 0; c < k; ++c) {
    inverse[c] = std::ldexp(1.0F, candidates[c].pos);
    scale[c] = std::ldexp(1.0F, -candidates[c].pos);
    lo[c] = static_cast<float>(range.qmin - candidates[c].zero_point);
    hi[c] = static_cast<float>(range.qmax - candidates[c].zero_point);
  }
  double totals[kMost] = {};
  constexpr std::size_t kBlock = 256;
  constexpr int32_t kExponentMask = 0x7f800000;
  const float* data = values.data();
  const std::size_t whole = values.size() / kLanes * kLanes;
  for (std::size_t begin = 0; begin < whole; begin += kBlock) {
    const std::size_t end = std::min(whole, begin + kBlock);
    FloatLanes sums[kMost] = {};
    for (std::size_t i = begin; i < end; i += kLanes) {
      FloatLanes x;
      std::memcpy(&x, data + i, sizeof(x));
      // The steps of PowerOfTwoSquaredError, one load for every candidate. NaN and +-Inf become 0,
      // whose error is 0 on every grid (0 lies within [lo, hi], a zero point being a grid value).
      const IntLanes finite = (std::bit_cast<IntLanes>(x) & kExponentMask) != kExponentMask;
      x = std::bit_cast<FloatLanes>(std::bit_cast<IntLanes>(x) & finite);
      for (std::size_t c = 0; c < k; ++c) {
        FloatLanes v = x * inverse[c];
        v = v < lo[c] ? lo[c] : v;
        v = v > hi[c] ? hi[c] : v;
        const FloatLanes q = (v + kRoundMagic) - kRoundMagic;
        const FloatLanes error = x - q * scale[c];
        sums[c] += error * error;
      }
    }
    for (std::size_t c = 0; c < k; ++c) {
      double block = 0.0;
      for (std::size_t lane = 0; lane < kLanes; ++lane) block += static_cast<double>(sums[c][lane]);
      totals[c] += block;
    }
  }
  for (std::size_t c = 0; c < k; ++c) {
    losses[c] =
        totals[c] + PowerOfTwoSquaredError(values.subspan(whole), candidates[c].pos, candidates[c].zero_point, range);
  }
}
void PosVotesStatistic::Collect(std::span<const float> values) {
  float lo = 0.0F;
  float hi = 0.0F;
  FiniteMinMax(values, &lo, &hi);
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
  const IntRange range = QuantRange(options_.type, options_.grid);
  const int pos0 = RoundPos(lo, hi, options_.type, options_.grid);
  const int first = std::clamp(pos0 - std::max(options_.candidates.candidates_below, 0), kMinPos, kMaxPos);
  const int last = std::clamp(pos0 + std::max(options_.candidates.candidates_above, 0), kMinPos, kMaxPos);
  // Every candidate's loss in one pass over the batch.
  std::array<PosCandidate, kMaxCandidates> candidates{};
  std::array<double, kMaxCandidates> losses{};
  const auto count = static_cast<std::size_t>(std::min(last - first + 1, kMaxCandidates));
  for (std::size_t c = 0; c < count; ++c) {
    const int pos = first + static_cast<int>(c);
    candidates[c] = {.pos = pos,
                     .zero_point = PowerOfTwoQuantParams(pos, lo, hi, options_.type, options_.grid).zero_point};
  }
  PowerOfTwoSquaredErrors(values, std::span(candidates).first(count), range, std::span(losses).first(count));
  int best = first;
  double best_loss = std::numeric_limits<double>::infinity();
  for (std::size_t c = 0; c < count; ++c) {
    if (losses[c] < best_loss) {  // strict: ties keep the coarser scale
      best_loss = losses[c];
      best = candidates[c].pos;
    }
  }
  // Candidates beyond the most one pass takes (MinMseOptions asks for more than 8), one by one.
  for (int pos = first + static_cast<int>(count); pos <= last; ++pos) {
    const QuantParams params = PowerOfTwoQuantParams(pos, lo, hi, options_.type, options_.grid);
    const double loss = PowerOfTwoSquaredError(values, pos, params.zero_point, range);
    if (loss < best_loss) {
      best_loss = loss;
      best = pos;
    }
  }
  ++votes_[static_cast<std::size_t>(best - kMinPos)];
}

Status PosVotesStatistic::Merge(const TensorStatistic& other) {
  const auto* o = dynamic_cast<const PosVotesStatistic*>(&other);
  if (o == nullptr) return InvalidArgument("cannot merge power-of-two votes with a statistic of another kind");
  for (std::size_t i = 0; i < votes_.size(); ++i) votes_[i] += o->votes_[i];
  min_ = std::min(min_, o->min_);
  max_ = std::max(max_, o->max_);
  batches_ += o->batches_;
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
  return {{"kind", "pos_votes"}, {"votes", votes}, {"min", min_}, {"max", max_}, {"batches", batches_}};
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
      if (used != key.size() || pos < kMinPos || pos > kMaxPos || count.get<int64_t>() < 0) {
        return InvalidArgument("power-of-two vote statistic has a bad entry '" + key + "'");
      }
      stat->votes_[static_cast<std::size_t>(pos - kMinPos)] = count.get<int64_t>();
    }
    stat->min_ = json.at("min").get<float>();
    stat->max_ = json.at("max").get<float>();
    stat->batches_ = json.at("batches").get<int64_t>();
    if (stat->batches_ > 0 && !(stat->min_ <= stat->max_)) {
      return InvalidArgument("power-of-two vote statistic has min > max");
    }
    return stat;
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("malformed power-of-two vote statistic: ") + e.what());
  }
}

}  // namespace onnxq
