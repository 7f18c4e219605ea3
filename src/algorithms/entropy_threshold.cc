#include "algorithms/entropy_threshold.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace onnxq {
namespace {

constexpr double kSmoothingEpsilon = 1e-4;

// Evaluates D(t) for one distribution and one number of quantized bins, reusing its buffers for
// every candidate t.
class DivergenceEvaluator {
 public:
  DivergenceEvaluator(std::span<const double> distribution, int num_quantized_bins)
      : histogram_(distribution),
        num_quantized_bins_(num_quantized_bins),
        log_histogram_(distribution.size(), 0.0),
        tail_mass_(distribution.size() + 1, 0.0),
        group_mass_(static_cast<std::size_t>(num_quantized_bins), 0.0),
        group_support_(static_cast<std::size_t>(num_quantized_bins), 0.0),
        group_density_(static_cast<std::size_t>(num_quantized_bins), 0.0),
        group_log_density_(static_cast<std::size_t>(num_quantized_bins), 0.0) {
    for (std::size_t j = distribution.size(); j-- > 0;) {
      tail_mass_[j] = tail_mass_[j + 1] + distribution[j];
      if (distribution[j] > 0.0) log_histogram_[j] = std::log(distribution[j]);
    }
  }

  double total_mass() const { return tail_mass_[0]; }

  double Divergence(int num_kept_bins) {
    const auto t = static_cast<std::size_t>(num_kept_bins);
    const auto kept = static_cast<int64_t>(num_kept_bins);
    const int64_t levels = num_quantized_bins_;
    // p = h[0 .. t-1] with the clipped tail added to the last kept bin.
    const double p_last = histogram_[t - 1] + tail_mass_[t];
    const double log_p_last = p_last > 0.0 ? std::log(p_last) : 0.0;

    // Merge h[0 .. t-1] into the groups. In units of 1 / levels of a bin, bin j covers
    // [j * levels, (j + 1) * levels) and group g covers [g * t, (g + 1) * t); a bin overlaps at most
    // two groups because t >= levels.
    std::fill(group_mass_.begin(), group_mass_.end(), 0.0);
    std::fill(group_support_.begin(), group_support_.end(), 0.0);
    {
      std::size_t g = 0;
      int64_t group_end = kept;
      for (std::size_t j = 0; j < t; ++j) {
        const auto start = static_cast<int64_t>(j) * levels;
        while (start >= group_end) {
          ++g;
          group_end += kept;
        }
        const double h = histogram_[j];
        const bool nonzero = (j + 1 == t ? p_last : h) > 0.0;
        if (start + levels <= group_end) {
          group_mass_[g] += h;
          if (nonzero) group_support_[g] += 1.0;
        } else {
          const double w0 = static_cast<double>(group_end - start) / static_cast<double>(levels);
          const double w1 = 1.0 - w0;
          group_mass_[g] += h * w0;
          group_mass_[g + 1] += h * w1;
          if (nonzero) {
            group_support_[g] += w0;
            group_support_[g + 1] += w1;
          }
        }
      }
    }
    double q_total = 0.0;
    for (std::size_t g = 0; g < group_mass_.size(); ++g) {
      const double density = group_support_[g] > 0.0 ? group_mass_[g] / group_support_[g] : 0.0;
      group_density_[g] = density;
      group_log_density_[g] = density > 0.0 ? std::log(density) : 0.0;
      if (group_support_[g] > 0.0) q_total += group_mass_[g];
    }

    // Expand q back to t bins and accumulate the unnormalized sums of the KL formula:
    //   a = sum_{p>0,q>0} p (log p - log q),  a_mass = sum_{p>0,q>0} p,
    //   c = sum_{p>0,q=0} p log p,            c_mass = sum_{p>0,q=0} p.
    double a = 0.0;
    double a_mass = 0.0;
    double c = 0.0;
    double c_mass = 0.0;
    int64_t nonzero_p = 0;
    int64_t nonzero_q = 0;
    {
      std::size_t g = 0;
      int64_t group_end = kept;
      for (std::size_t j = 0; j < t; ++j) {
        const auto start = static_cast<int64_t>(j) * levels;
        while (start >= group_end) {
          ++g;
          group_end += kept;
        }
        const bool last = j + 1 == t;
        const double p = last ? p_last : histogram_[j];
        if (!(p > 0.0)) continue;
        ++nonzero_p;
        const double log_p = last ? log_p_last : log_histogram_[j];
        double q = 0.0;
        double log_q = 0.0;
        if (start + levels <= group_end) {
          q = group_density_[g];
          log_q = group_log_density_[g];
        } else {
          const double w0 = static_cast<double>(group_end - start) / static_cast<double>(levels);
          q = w0 * group_density_[g] + (1.0 - w0) * group_density_[g + 1];
          if (q > 0.0) log_q = std::log(q);
        }
        if (q > 0.0) {
          ++nonzero_q;
          a += p * (log_p - log_q);
          a_mass += p;
        } else {
          c += p * log_p;
          c_mass += p;
        }
      }
    }

    // Normalize and smooth: p' = alpha p, q' = beta q on non-zero bins, eps on zero bins (q is zero
    // wherever p is, so bins where both are zero add eps log(eps / eps) = 0). eps shrinks when there
    // are so many zero bins that 1 - eps * zeros would fall below 1/2.
    const auto zeros_p = static_cast<double>(kept - nonzero_p);
    const auto zeros_q = static_cast<double>(kept - nonzero_q);
    const double eps = zeros_q > 0.0 ? std::min(kSmoothingEpsilon, 0.5 / zeros_q) : kSmoothingEpsilon;
    const double log_alpha = std::log((1.0 - eps * zeros_p) / total_mass());
    double divergence = 0.0;
    if (a_mass > 0.0) {
      const double log_beta = std::log((1.0 - eps * zeros_q) / q_total);
      divergence += a + a_mass * (log_alpha - log_beta);
    }
    if (c_mass > 0.0) divergence += c + c_mass * (log_alpha - std::log(eps));
    return std::exp(log_alpha) * divergence;
  }

 private:
  std::span<const double> histogram_;
  int num_quantized_bins_;
  std::vector<double> log_histogram_;
  std::vector<double> tail_mass_;  // tail_mass_[j] = sum of h[j ..]
  std::vector<double> group_mass_;
  std::vector<double> group_support_;
  std::vector<double> group_density_;
  std::vector<double> group_log_density_;
};

}  // namespace

std::vector<double> AbsDistribution(const Histogram& histogram, int num_bins) {
  if (histogram.empty()) return {};
  const auto size = static_cast<std::size_t>(std::max(num_bins, 1));
  std::vector<double> distribution(size, 0.0);
  const AbsHistogram folded = histogram.FoldedAbs();
  const double max_abs = folded.max_abs;
  if (!(max_abs > 0.0)) {
    distribution[0] = static_cast<double>(folded.total_count);
    return distribution;
  }
  const double target_width = max_abs / static_cast<double>(size);
  const auto last = static_cast<int64_t>(size) - 1;
  auto target_index = [&](double x) {
    return static_cast<std::size_t>(std::min(static_cast<int64_t>(x / target_width), last));
  };
  for (std::size_t i = 0; i < folded.counts.size(); ++i) {
    if (folded.counts[i] == 0) continue;
    const auto count = static_cast<double>(folded.counts[i]);
    const auto j = static_cast<double>(folded.first_bin_index + static_cast<int64_t>(i));
    const double lo = j * folded.bin_width;
    const double hi = std::min((j + 1.0) * folded.bin_width, max_abs);
    const std::size_t first = target_index(lo);
    if (!(hi > lo)) {  // only max|x| itself, sitting on the bin's lower edge
      distribution[first] += count;
      continue;
    }
    const double density = count / (hi - lo);
    const std::size_t end = std::min(static_cast<std::size_t>(std::ceil(hi / target_width)), size);  // exclusive
    double assigned = 0.0;
    std::size_t k = first;
    for (; k < end; ++k) {
      const double overlap =
          std::min(hi, static_cast<double>(k + 1) * target_width) - std::max(lo, static_cast<double>(k) * target_width);
      if (overlap <= 0.0) continue;
      const double mass = density * overlap;
      distribution[k] += mass;
      assigned += mass;
    }
    // Rounding leftovers (a sliver past the last edge) go to the last bin touched.
    distribution[std::min(std::max(end, first + 1) - 1, size - 1)] += count - assigned;
  }
  return distribution;
}

double ClippingDivergence(std::span<const double> distribution, int num_kept_bins, int num_quantized_bins) {
  assert(num_quantized_bins >= 1 && num_quantized_bins <= num_kept_bins &&
         static_cast<std::size_t>(num_kept_bins) <= distribution.size());
  DivergenceEvaluator evaluator(distribution, num_quantized_bins);
  return evaluator.Divergence(num_kept_bins);
}

int EntropyThresholdBins(std::span<const double> distribution, int num_quantized_bins) {
  const auto size = static_cast<int>(distribution.size());
  assert(num_quantized_bins >= 1 && num_quantized_bins <= size);
  DivergenceEvaluator evaluator(distribution, num_quantized_bins);
  if (!(evaluator.total_mass() > 0.0)) return size;
  int best = size;
  double best_divergence = std::numeric_limits<double>::infinity();
  for (int t = num_quantized_bins; t <= size; ++t) {
    const double divergence = evaluator.Divergence(t);
    if (divergence < best_divergence) {
      best_divergence = divergence;
      best = t;
    }
  }
  return best;
}

ValueRange EntropyRange(const Histogram& histogram, const EntropyOptions& options) {
  if (histogram.empty()) return {};
  const float lo = histogram.min();
  const float hi = histogram.max();
  const float max_abs = histogram.max_abs();
  if (!(max_abs > 0.0F)) return {lo, hi};
  const int num_bins = std::max(options.num_bins, 1);
  const int num_quantized_bins = std::clamp(options.num_quantized_bins, 1, num_bins);
  const std::vector<double> distribution = AbsDistribution(histogram, num_bins);
  const int kept = EntropyThresholdBins(distribution, num_quantized_bins);
  // max|x| * num_bins is exact in double, so kept == num_bins gives max|x| exactly.
  const auto threshold = static_cast<float>(static_cast<double>(max_abs) * kept / num_bins);
  return {std::max(lo, -threshold), std::min(hi, threshold)};
}

}  // namespace onnxq
