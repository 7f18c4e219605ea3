// Streaming histogram of a tensor's values on a nested power-of-two grid. Pure math, no graph.
//
// Grid. The bin width is w = 2^k (k = width_exponent(), any integer in [kMinWidthExponent,
// kMaxWidthExponent]) and bins are anchored at 0 and mirrored around it:
//
//   bin g >= 0 holds  g*w <= x <  (g+1)*w      (0 and -0 go to bin 0)
//   bin g <  0 holds  g*w <  x <= (g+1)*w      i.e. g = -1 - floor(|x| / w)
//
// so bin g and bin -1-g hold exactly the values of the same |x| bin, and the distribution of |x|
// (FoldedAbs) is exact. Doubling the width maps bin g to bin floor(g / 2) (= g >> 1) on both sides,
// exactly, without losing a count.
//
// Width choice. For the observed range [min, max] the width exponent is the smallest k such that
//   (a) the bins from BinIndexOf(min) to BinIndexOf(max) number at most max_bins, and
//   (b) w >= ulp(max|x|) (k >= ilogb(max|x|) - 23, and k >= -149 = the smallest float ulp),
// (b) keeps every bin index below 2^24 (single-value or constant data get one bin of width ulp(|x|),
// all-zero data one bin [0, 2^-149)). Both conditions only get stricter when the range grows, so the
// width chosen while streaming equals the width chosen for the whole data at once: the histogram is a
// function of the multiset of values only, whatever the batch order or sharding (Merge of shard
// histograms == histogram of all the data, bin for bin).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace onnxq {

// A real range [rmin, rmax], e.g. a calibration result.
struct ValueRange {
  float rmin = 0.0F;
  float rmax = 0.0F;
};

struct HistogramOptions {
  // Upper bound on the number of bins between the observed min and max (clamped to >= 2, since a
  // range around 0 always spans at least bins -1 and 0).
  int max_bins = 2048;
};

// Everything a Histogram holds, as plain values: what a calibration table stores.
struct HistogramState {
  int width_exponent = 0;
  int64_t first_bin_index = 0;
  std::vector<int64_t> counts;  // empty for an empty histogram
  float min = 0.0F;
  float max = 0.0F;
  int64_t nonfinite_count = 0;
  int max_bins = 2048;

  friend bool operator==(const HistogramState&, const HistogramState&) = default;
};

// Distribution of |x|: counts[i] values with j*w <= |x| < (j+1)*w, j = first_bin_index + i.
// (first_bin_index is 0 when the data straddles 0, and at most max_bins bins are stored.)
struct AbsHistogram {
  double bin_width = 1.0;
  int64_t first_bin_index = 0;
  std::vector<int64_t> counts;
  float max_abs = 0.0F;
  int64_t total_count = 0;
};

class Histogram {
 public:
  static constexpr int kMinWidthExponent = -149;  // ulp of the smallest subnormal float
  static constexpr int kMaxWidthExponent = 129;   // every finite float lies in bin -1 or 0

  explicit Histogram(const HistogramOptions& options = {});

  // Rebuilds a histogram from State(). Returns nullopt when the state is not one a Histogram can be
  // in (negative counts, counts that do not match [min, max] on the grid, too many bins, ...).
  static std::optional<Histogram> FromState(const HistogramState& state);
  HistogramState State() const;

  // Adds the finite values; NaN and +-Inf are only counted in nonfinite_count(). Returns how many of
  // the values are exactly 0 (either sign), which bin 0 holds among others. Two passes over the data
  // (min/max, then binning) and no allocation unless the bin span grows.
  int64_t Add(std::span<const float> values);
  // Adds the other histogram's counts. With equal max_bins the result is what Add would have built
  // from both data sets; with a coarser `other` the result keeps the coarser width.
  void Merge(const Histogram& other);

  bool empty() const { return total_count_ == 0; }
  int max_bins() const { return max_bins_; }
  int width_exponent() const { return width_exponent_; }
  double bin_width() const;
  // Grid index of counts()[0].
  int64_t first_bin_index() const { return first_bin_index_; }
  const std::vector<int64_t>& counts() const { return counts_; }
  int64_t total_count() const { return total_count_; }
  int64_t nonfinite_count() const { return nonfinite_count_; }
  // Exact observed extremes of the finite values (0 when empty).
  float min() const { return min_; }
  float max() const { return max_; }
  float max_abs() const;

  // Grid index of a finite value at the current width.
  int64_t BinIndexOf(float x) const;
  // Edges and centre of counts()[i]. The edge on the side of 0 is inclusive (see the grid above).
  double BinLowerEdge(std::size_t i) const;
  double BinUpperEdge(std::size_t i) const;
  double BinCenter(std::size_t i) const;

  // The |x| distribution at the same width; exact.
  AbsHistogram FoldedAbs() const;

 private:
  // Add for any values: extends the range first.
  int64_t AddAnyRange(std::span<const float> values);
  // Makes the bins cover [lo, hi] at width exponent >= min_exponent, merging bin pairs as needed.
  void CoverRange(float lo, float hi, int min_exponent);

  int max_bins_ = 2048;
  int width_exponent_ = 0;
  int64_t first_bin_index_ = 0;
  std::vector<int64_t> counts_;
  float min_ = 0.0F;
  float max_ = 0.0F;
  int64_t total_count_ = 0;
  int64_t nonfinite_count_ = 0;
};

// Whether Histogram::Add may take its AVX-512 path where the machine has one (the default); tests turn
// it off to check the portable path on the same machine. Returns the previous setting.
bool AllowHistogramAvx512(bool allowed);

}  // namespace onnxq
