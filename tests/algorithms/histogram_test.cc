#include "algorithms/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <random>
#include <vector>

namespace onnxq {
namespace {

// The documented bin rule, written independently: g = floor(x / w) for x >= 0, -1 - floor(|x| / w) below.
int64_t GridIndexAt(float x, int exponent) {
  const double j = std::floor(std::fabs(static_cast<double>(x)) / std::ldexp(1.0, exponent));
  return static_cast<int64_t>(x < 0.0F ? -j - 1.0 : j);
}

// Per grid index counts, computed value by value at width 2^exponent.
std::map<int64_t, int64_t> BruteForceBins(const std::vector<float>& values, int exponent) {
  std::map<int64_t, int64_t> bins;
  for (float x : values) {
    if (std::isfinite(x)) ++bins[GridIndexAt(x, exponent)];
  }
  return bins;
}

std::map<int64_t, int64_t> NonEmptyBins(const Histogram& histogram) {
  std::map<int64_t, int64_t> bins;
  for (std::size_t i = 0; i < histogram.counts().size(); ++i) {
    if (histogram.counts()[i] != 0) bins[histogram.first_bin_index() + static_cast<int64_t>(i)] = histogram.counts()[i];
  }
  return bins;
}

std::vector<float> NormalData(int n, float mean, float stddev, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(mean, stddev);
  std::vector<float> data(static_cast<std::size_t>(n));
  for (float& x : data) x = normal(rng);
  return data;
}

TEST(HistogramTest, HandComputedBins) {
  // Range [-0.25, 3] in at most 8 bins: width 1/2 spans bins -1 .. 6 (8 bins); width 1/4 would need 15.
  Histogram histogram(HistogramOptions{.max_bins = 8});
  const std::vector<float> values = {0.5F, 1.5F, -0.25F, 3.0F};
  histogram.Add(values);
  EXPECT_EQ(histogram.width_exponent(), -1);
  EXPECT_DOUBLE_EQ(histogram.bin_width(), 0.5);
  EXPECT_EQ(histogram.first_bin_index(), -1);
  EXPECT_EQ(histogram.counts(), (std::vector<int64_t>{1, 0, 1, 0, 1, 0, 0, 1}));
  EXPECT_EQ(histogram.total_count(), 4);
  EXPECT_EQ(histogram.min(), -0.25F);
  EXPECT_EQ(histogram.max(), 3.0F);
  EXPECT_FLOAT_EQ(histogram.max_abs(), 3.0F);
  EXPECT_DOUBLE_EQ(histogram.BinLowerEdge(0), -0.5);
  EXPECT_DOUBLE_EQ(histogram.BinUpperEdge(0), 0.0);
  EXPECT_DOUBLE_EQ(histogram.BinCenter(7), 3.25);

  // Extending to -3.9 needs width 1: bins -4 .. 3.
  const std::vector<float> more = {-3.9F};
  histogram.Add(more);
  EXPECT_EQ(histogram.width_exponent(), 0);
  EXPECT_EQ(histogram.first_bin_index(), -4);
  EXPECT_EQ(histogram.counts(), (std::vector<int64_t>{1, 0, 0, 1, 1, 1, 0, 1}));
  EXPECT_EQ(histogram.total_count(), 5);
  EXPECT_EQ(histogram.min(), -3.9F);
}

TEST(HistogramTest, BinEdgesAreMirroredAroundZero) {
  Histogram histogram(HistogramOptions{.max_bins = 4});
  const std::vector<float> values = {-1.0F, -0.5F, 0.0F, -0.0F, 1.0F};
  histogram.Add(values);
  // Width 1: 1 -> bin 1 = [1, 2), -1 -> bin -2 = (-2, -1], -0.5 -> bin -1 = (-1, 0], 0 and -0 -> bin 0.
  EXPECT_EQ(histogram.width_exponent(), 0);
  EXPECT_EQ(histogram.first_bin_index(), -2);
  EXPECT_EQ(histogram.counts(), (std::vector<int64_t>{1, 1, 2, 1}));
  EXPECT_EQ(histogram.BinIndexOf(-1.0F), -2);
  EXPECT_EQ(histogram.BinIndexOf(-0.0F), 0);
}

TEST(HistogramTest, WidthIsTheSmallestThatFits) {
  Histogram histogram;
  const std::vector<float> data = NormalData(10000, 0.3F, 2.0F, 1);
  histogram.Add(data);
  ASSERT_LE(histogram.counts().size(), 2048U);
  // Half the width would need more than 2048 bins.
  const int finer = histogram.width_exponent() - 1;
  EXPECT_GT(GridIndexAt(histogram.max(), finer) - GridIndexAt(histogram.min(), finer) + 1, 2048);
  EXPECT_EQ(NonEmptyBins(histogram), BruteForceBins(data, histogram.width_exponent()));
}

TEST(HistogramTest, StreamingExtensionEqualsOneShot) {
  // Batches whose range keeps growing, on both sides, by orders of magnitude.
  std::vector<std::vector<float>> batches;
  std::vector<float> all;
  for (int b = 0; b < 8; ++b) {
    const float spread = std::ldexp(1.0F, 2 * b - 6);
    batches.push_back(NormalData(3000, b % 2 == 0 ? spread : -spread, spread, 100U + static_cast<unsigned>(b)));
    all.insert(all.end(), batches.back().begin(), batches.back().end());
  }
  Histogram streamed;
  for (const auto& batch : batches) streamed.Add(batch);
  Histogram one_shot;
  one_shot.Add(all);
  EXPECT_EQ(streamed.State(), one_shot.State());
  EXPECT_EQ(streamed.total_count(), static_cast<int64_t>(all.size()));
  EXPECT_EQ(NonEmptyBins(streamed), BruteForceBins(all, streamed.width_exponent()));
  EXPECT_EQ(streamed.min(), *std::min_element(all.begin(), all.end()));
  EXPECT_EQ(streamed.max(), *std::max_element(all.begin(), all.end()));
}

TEST(HistogramTest, BatchOrderDoesNotMatter) {
  std::vector<float> all = NormalData(20000, 0.5F, 3.0F, 7);
  all.push_back(-250.0F);
  all.push_back(1e-7F);
  std::mt19937 rng(3);
  std::vector<int64_t> reference_counts;
  HistogramState reference;
  for (int trial = 0; trial < 4; ++trial) {
    std::shuffle(all.begin(), all.end(), rng);
    Histogram histogram;
    for (std::size_t i = 0; i < all.size(); i += 777) {
      histogram.Add(std::span<const float>(all).subspan(i, std::min<std::size_t>(777, all.size() - i)));
    }
    if (trial == 0) {
      reference = histogram.State();
    } else {
      EXPECT_EQ(histogram.State(), reference) << "trial " << trial;
    }
  }
}

TEST(HistogramTest, ShardMergeEqualsWholeBinForBin) {
  const std::vector<float> all = [] {
    std::vector<float> data = NormalData(30000, -1.0F, 0.5F, 11);
    const std::vector<float> far = NormalData(500, 40.0F, 5.0F, 12);
    data.insert(data.end(), far.begin(), far.end());
    return data;
  }();
  Histogram whole;
  whole.Add(all);
  // Shards with very different ranges: the first only holds the narrow part.
  Histogram shard1;
  Histogram shard2;
  Histogram shard3;
  shard1.Add(std::span<const float>(all).subspan(0, 10000));
  shard2.Add(std::span<const float>(all).subspan(10000, 15000));
  shard3.Add(std::span<const float>(all).subspan(25000));
  Histogram merged = shard1;
  merged.Merge(shard3);
  merged.Merge(shard2);
  EXPECT_EQ(merged.State(), whole.State());
  Histogram merged_other_way = shard3;
  merged_other_way.Merge(shard2);
  merged_other_way.Merge(shard1);
  EXPECT_EQ(merged_other_way.State(), whole.State());
  Histogram from_empty;
  from_empty.Merge(whole);
  EXPECT_EQ(from_empty.State(), whole.State());
}

TEST(HistogramTest, MergeWithCoarserHistogramKeepsEveryCount) {
  Histogram fine(HistogramOptions{.max_bins = 4096});
  Histogram coarse(HistogramOptions{.max_bins = 16});
  const std::vector<float> a = NormalData(1000, 0.0F, 1.0F, 21);
  const std::vector<float> b = NormalData(1000, 0.0F, 1.0F, 22);
  fine.Add(a);
  coarse.Add(b);
  fine.Merge(coarse);
  EXPECT_EQ(fine.width_exponent(), coarse.width_exponent());
  EXPECT_EQ(fine.total_count(), 2000);
  std::vector<float> both = a;
  both.insert(both.end(), b.begin(), b.end());
  EXPECT_EQ(NonEmptyBins(fine), BruteForceBins(both, fine.width_exponent()));
}

TEST(HistogramTest, ConstantAndAllZeroData) {
  Histogram zeros;
  const std::vector<float> z = {0.0F, 0.0F, -0.0F};
  zeros.Add(z);
  EXPECT_EQ(zeros.counts(), (std::vector<int64_t>{3}));
  EXPECT_EQ(zeros.first_bin_index(), 0);
  EXPECT_EQ(zeros.width_exponent(), Histogram::kMinWidthExponent);
  EXPECT_EQ(zeros.min(), 0.0F);
  EXPECT_EQ(zeros.max(), 0.0F);

  Histogram constant;
  const std::vector<float> c = {5.0F, 5.0F};
  constant.Add(c);
  ASSERT_EQ(constant.counts().size(), 1U);
  EXPECT_EQ(constant.counts()[0], 2);
  EXPECT_EQ(constant.width_exponent(), 2 - 23);  // one ulp of 5.0
  EXPECT_LE(constant.BinLowerEdge(0), 5.0);
  EXPECT_GT(constant.BinUpperEdge(0), 5.0);

  // Growing from a single value to a wide range still counts everything exactly.
  const std::vector<float> wide = {-1000.0F, 3.0F, 1e-3F};
  constant.Add(wide);
  zeros.Merge(constant);
  EXPECT_EQ(zeros.total_count(), 8);
  std::vector<float> all = z;
  all.insert(all.end(), c.begin(), c.end());
  all.insert(all.end(), wide.begin(), wide.end());
  EXPECT_EQ(NonEmptyBins(zeros), BruteForceBins(all, zeros.width_exponent()));
}

TEST(HistogramTest, ExtremeMagnitudes) {
  Histogram histogram;
  const std::vector<float> values = {std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
                                     std::numeric_limits<float>::denorm_min(), 0.0F};
  histogram.Add(values);
  EXPECT_EQ(histogram.total_count(), 4);
  EXPECT_EQ(NonEmptyBins(histogram), BruteForceBins(values, histogram.width_exponent()));
  Histogram tiny;
  const std::vector<float> subnormals = {std::numeric_limits<float>::denorm_min(),
                                         -3 * std::numeric_limits<float>::denorm_min()};
  tiny.Add(subnormals);
  EXPECT_EQ(tiny.width_exponent(), Histogram::kMinWidthExponent);
  EXPECT_EQ(tiny.first_bin_index(), -4);
  EXPECT_EQ(tiny.counts(), (std::vector<int64_t>{1, 0, 0, 0, 0, 1}));
}

TEST(HistogramTest, NonFiniteValuesAreCountedApart) {
  Histogram histogram;
  const std::vector<float> values = {1.0F, std::numeric_limits<float>::quiet_NaN(),
                                     std::numeric_limits<float>::infinity(), -2.0F,
                                     -std::numeric_limits<float>::infinity()};
  histogram.Add(values);
  EXPECT_EQ(histogram.nonfinite_count(), 3);
  EXPECT_EQ(histogram.total_count(), 2);
  EXPECT_EQ(histogram.min(), -2.0F);
  EXPECT_EQ(histogram.max(), 1.0F);
  const std::vector<float> only_nan = {std::numeric_limits<float>::quiet_NaN()};
  Histogram empty;
  empty.Add(only_nan);
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.nonfinite_count(), 1);
  histogram.Merge(empty);
  EXPECT_EQ(histogram.nonfinite_count(), 4);
  EXPECT_EQ(histogram.total_count(), 2);
}

TEST(HistogramTest, FoldedAbsIsExact) {
  // Values on bin edges on both sides: |x| must land in the same bin as the positive value.
  std::vector<float> values = NormalData(5000, 0.0F, 1.0F, 31);
  for (float edge : {0.25F, 0.5F, 1.0F, 2.0F}) {
    values.push_back(edge);
    values.push_back(-edge);
  }
  Histogram histogram;
  histogram.Add(values);
  const AbsHistogram folded = histogram.FoldedAbs();
  std::vector<float> abs_values;
  for (float x : values) abs_values.push_back(std::fabs(x));
  const std::map<int64_t, int64_t> expected = BruteForceBins(abs_values, histogram.width_exponent());
  std::map<int64_t, int64_t> actual;
  for (std::size_t j = 0; j < folded.counts.size(); ++j) {
    if (folded.counts[j] != 0) actual[folded.first_bin_index + static_cast<int64_t>(j)] = folded.counts[j];
  }
  EXPECT_EQ(actual, expected);
  EXPECT_EQ(folded.total_count, static_cast<int64_t>(values.size()));
  EXPECT_DOUBLE_EQ(folded.bin_width, histogram.bin_width());
  EXPECT_EQ(folded.max_abs, histogram.max_abs());
}

TEST(HistogramTest, FoldedAbsOfOneSidedDataStaysSmall) {
  // Negative data far from 0: the folded bins start at the smallest |x| bin, not at 0.
  Histogram histogram(HistogramOptions{.max_bins = 16});
  const std::vector<float> values = {-5.0F, -6.0F, -7.5F, -5.0F};
  histogram.Add(values);
  ASSERT_DOUBLE_EQ(histogram.bin_width(), 0.25);  // bins -31 .. -21 (11 bins); width 1/8 needs 21
  const AbsHistogram folded = histogram.FoldedAbs();
  EXPECT_EQ(folded.first_bin_index, 20);
  EXPECT_EQ(folded.counts, (std::vector<int64_t>{2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(folded.max_abs, 7.5F);
}

TEST(HistogramTest, StateRoundTripsAndBadStatesAreRejected) {
  Histogram histogram(HistogramOptions{.max_bins = 64});
  const std::vector<float> data = NormalData(1000, 0.0F, 1.0F, 41);
  histogram.Add(data);
  const HistogramState state = histogram.State();
  const std::optional<Histogram> restored = Histogram::FromState(state);
  ASSERT_TRUE(restored.has_value());
  EXPECT_EQ(restored->State(), state);
  EXPECT_EQ(restored->total_count(), 1000);
  // A restored histogram keeps streaming exactly like the original.
  const std::vector<float> more = NormalData(1000, 3.0F, 4.0F, 42);
  Histogram continued = *restored;
  continued.Add(more);
  histogram.Add(more);
  EXPECT_EQ(continued.State(), histogram.State());

  HistogramState bad = state;
  bad.counts[3] = -1;
  EXPECT_FALSE(Histogram::FromState(bad).has_value());
  bad = state;
  bad.first_bin_index += 1;
  EXPECT_FALSE(Histogram::FromState(bad).has_value());
  bad = state;
  bad.counts.push_back(1);
  EXPECT_FALSE(Histogram::FromState(bad).has_value());
  bad = state;
  bad.max_bins = 8;
  EXPECT_FALSE(Histogram::FromState(bad).has_value());
  bad = state;
  bad.width_exponent = -200;
  EXPECT_FALSE(Histogram::FromState(bad).has_value());
  bad = state;
  bad.min = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(Histogram::FromState(bad).has_value());
  EXPECT_TRUE(Histogram::FromState(HistogramState{}).has_value());
}

// Add as histogram.h defines it, one value at a time: min / max, then per value index + increment.
// Only the width choice is taken from the library: merging a histogram of the two new extremes
// settles on the same grid as Add (the width conditions only get stricter as the range grows).
HistogramState ReferenceAdd(const HistogramState& before, const std::vector<float>& values) {
  HistogramState state = before;
  float lo = std::numeric_limits<float>::infinity();
  float hi = -std::numeric_limits<float>::infinity();
  int64_t finite = 0;
  for (float x : values) {
    if (!std::isfinite(x)) {
      ++state.nonfinite_count;
      continue;
    }
    lo = std::min(lo, x);
    hi = std::max(hi, x);
    ++finite;
  }
  if (finite == 0) return state;
  // The grid for the new range: what a histogram of the two extremes alone, merged in, settles on.
  Histogram extremes(HistogramOptions{.max_bins = state.max_bins});
  const std::vector<float> ends = {lo, hi};
  extremes.Add(ends);
  std::optional<Histogram> grown = Histogram::FromState(before);
  EXPECT_TRUE(grown.has_value());
  grown->Merge(extremes);
  const HistogramState grid = grown->State();
  state.width_exponent = grid.width_exponent;
  state.first_bin_index = grid.first_bin_index;
  state.min = state.counts.empty() ? lo : std::min(lo, before.min);
  state.max = state.counts.empty() ? hi : std::max(hi, before.max);
  // Old counts moved to the (possibly coarser) grid, then every new value counted where it falls.
  state.counts.assign(grid.counts.size(), 0);
  const int shift = grid.width_exponent - before.width_exponent;
  for (std::size_t i = 0; i < before.counts.size(); ++i) {
    const int64_t g = (before.first_bin_index + static_cast<int64_t>(i)) >> std::min(shift, 63);
    state.counts[static_cast<std::size_t>(g - grid.first_bin_index)] += before.counts[i];
  }
  for (float x : values) {
    if (std::isfinite(x)) {
      ++state.counts[static_cast<std::size_t>(GridIndexAt(x, grid.width_exponent) - grid.first_bin_index)];
    }
  }
  return state;
}

std::vector<float> Relu6Data(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(0.0F, 1.0F);
  std::vector<float> data(n);
  for (float& x : data) {
    const float u = unit(rng);
    x = u < 0.5F ? 0.0F : u < 0.55F ? 6.0F : 6.0F - 6.0F * unit(rng);
  }
  return data;
}

std::vector<float> LaplaceData(std::size_t n, float scale, unsigned seed) {
  std::mt19937 rng(seed);
  std::exponential_distribution<float> magnitude(1.0F / scale);
  std::bernoulli_distribution negative(0.5);
  std::vector<float> data(n);
  for (float& x : data) x = negative(rng) ? -magnitude(rng) : magnitude(rng);
  return data;
}

TEST(HistogramTest, AddMatchesValueByValueReference) {
  constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
  constexpr float kInf = std::numeric_limits<float>::infinity();
  std::mt19937 rng(51);
  // Random batches: normal data with NaN, +-Inf, exact zeros of both signs and subnormals mixed in.
  auto mixed = [&rng](std::size_t n, float spread) {
    std::vector<float> data = NormalData(static_cast<int>(n), 0.0F, spread, static_cast<unsigned>(rng()));
    std::uniform_int_distribution<int> pick(0, 15);
    for (float& x : data) {
      switch (pick(rng)) {
        case 0:
          x = kNan;
          break;
        case 1:
          x = kInf;
          break;
        case 2:
          x = -kInf;
          break;
        case 3:
          x = 0.0F;
          break;
        case 4:
          x = -0.0F;
          break;
        case 5:
          x = std::numeric_limits<float>::denorm_min();
          break;
        default:
          break;
      }
    }
    return data;
  };
  std::vector<std::vector<float>> batches = {
      Relu6Data(65536, 1),
      Relu6Data(1000, 2),
      LaplaceData(65536, 1.0F, 3),
      LaplaceData(777, 0.01F, 4),
      std::vector<float>(65536, 0.0F),
      std::vector<float>(33, -0.0F),
      std::vector<float>(1001, 5.0F),   // constant, nonzero: one bin of width ulp(5)
      std::vector<float>(70001, 5.0F),  // more in one bin than a 16-bit count holds
      Relu6Data(140000, 9),
      mixed(4099, 1.0F),
      mixed(256, 100.0F),
      mixed(3, 1.0F),
      {-0.0F, 0.0F, -1.0F},
      {kNan, kNan},
      {},
      {0.0F, -0.0F, 2.0F, kInf},
      Relu6Data(4096, 5),
      LaplaceData(5000, 1e-36F, 8),  // width 2^-130 or so: below the float range of 2^-k
  };
  // Subnormal values only: width 2^-149.
  std::vector<float> subnormal(301);
  for (std::size_t i = 0; i < subnormal.size(); ++i) {
    subnormal[i] = static_cast<float>(static_cast<int>(i) - 150) * std::numeric_limits<float>::denorm_min();
  }
  batches.push_back(subnormal);
  // Relu6 data with NaN and Inf in it (blocks with many zeros and non-finite values).
  std::vector<float> relu6_nonfinite = Relu6Data(3000, 6);
  for (std::size_t i = 0; i < relu6_nonfinite.size(); i += 37) relu6_nonfinite[i] = i % 2 == 0 ? kNan : kInf;
  batches.push_back(relu6_nonfinite);
  // All negative data: bin 0 lies outside the bins; with NaN too.
  std::vector<float> negative = LaplaceData(5000, 1.0F, 7);
  for (float& x : negative) x = -std::fabs(x) - 1.0F;
  negative[17] = kNan;
  batches.push_back(negative);

  // Each batch alone, with the default, the calibrators' and a tiny bin budget, on every code path.
  for (const bool avx512 : {true, false}) {
    const bool before = AllowHistogramAvx512(avx512);
    for (int max_bins : {2048, 8192, 2, 5, 64}) {
      for (std::size_t b = 0; b < batches.size(); ++b) {
        Histogram histogram(HistogramOptions{.max_bins = max_bins});
        const auto exact_zeros = std::count(batches[b].begin(), batches[b].end(), 0.0F);  // -0 == 0
        EXPECT_EQ(histogram.Add(batches[b]), exact_zeros) << "batch " << b << ", max_bins " << max_bins;
        EXPECT_EQ(histogram.State(),
                  ReferenceAdd(Histogram(HistogramOptions{.max_bins = max_bins}).State(), batches[b]))
            << "batch " << b << ", max_bins " << max_bins << ", AVX-512 allowed " << avx512;
      }
    }
    AllowHistogramAvx512(before);
  }
  // All batches streamed into one histogram, in two orders.
  for (bool reverse : {false, true}) {
    Histogram histogram;
    HistogramState reference = histogram.State();
    for (std::size_t k = 0; k < batches.size(); ++k) {
      const std::vector<float>& batch = batches[reverse ? batches.size() - 1 - k : k];
      histogram.Add(batch);
      reference = ReferenceAdd(reference, batch);
      ASSERT_EQ(histogram.State(), reference) << "after batch " << k << (reverse ? " (reversed)" : "");
    }
  }
}

// Streams the batches into one histogram of 8192 bins, with and without the AVX-512 path: after
// each, Add returned the exact zeros and the state is the value-by-value reference's.
void ExpectStreamMatchesReference(std::initializer_list<const std::vector<float>*> batches) {
  for (const bool avx512 : {true, false}) {
    const bool before = AllowHistogramAvx512(avx512);
    Histogram histogram(HistogramOptions{.max_bins = 8192});
    HistogramState reference = histogram.State();
    for (const auto* batch : batches) {
      const auto exact_zeros = std::count(batch->begin(), batch->end(), 0.0F);
      EXPECT_EQ(histogram.Add(*batch), exact_zeros);
      reference = ReferenceAdd(reference, *batch);
      ASSERT_EQ(histogram.State(), reference) << "AVX-512 allowed " << avx512;
    }
    AllowHistogramAvx512(before);
  }
}

TEST(HistogramTest, BatchesLeavingTheRangeMidwayMatchValueByValueReference) {
  // After the first batch most batches lie within the range (counted in one pass on AVX-512); these
  // leave it, or hold NaN / Inf, after many blocks that do not.
  std::vector<float> within = Relu6Data(70000, 12);
  std::vector<float> above = Relu6Data(70000, 13);
  above[40000] = 7.5F;
  above[50001] = -1.0F;
  std::vector<float> nonfinite = Relu6Data(66000, 14);
  nonfinite[300] = std::numeric_limits<float>::quiet_NaN();
  nonfinite[65999] = std::numeric_limits<float>::infinity();
  std::vector<float> far = LaplaceData(65536, 100.0F, 15);
  ExpectStreamMatchesReference({&within, &within, &above, &nonfinite, &within, &far, &above});
}

TEST(HistogramTest, BlocksWithAndWithoutZerosMatchValueByValueReference) {
  // On AVX-512 a block without zeros counts every offset and a block with many leaves them out, each
  // block going the way that suited the one before: batches that switch between the two, and zeros
  // (of both signs) scattered through data that has almost none.
  std::vector<float> switching;
  for (int part = 0; part < 6; ++part) {
    const std::vector<float> piece = part % 2 == 0 ? LaplaceData(5000, 1.0F, 20 + part) : Relu6Data(5000, 30 + part);
    switching.insert(switching.end(), piece.begin(), piece.end());
  }
  std::vector<float> sparse_zeros = LaplaceData(20000, 1.0F, 40);
  for (std::size_t i = 0; i < sparse_zeros.size(); i += 997) sparse_zeros[i] = i % 2 == 0 ? 0.0F : -0.0F;
  ExpectStreamMatchesReference({&switching, &sparse_zeros, &switching, &sparse_zeros});
}

TEST(HistogramTest, MinAndMaxKeepTheSignOfTheFirstZero) {
  // 0 and -0 compare equal; min / max keep the first one met, as a value-by-value scan does.
  for (float first : {0.0F, -0.0F}) {
    std::vector<float> values(1000, 3.0F);
    for (std::size_t i = 100; i < values.size(); i += 7) values[i] = i == 100 ? first : -first;
    Histogram non_negative;
    non_negative.Add(values);
    EXPECT_EQ(std::signbit(non_negative.min()), std::signbit(first));
    for (float& x : values) x = x == 0.0F ? x : -x;
    Histogram non_positive;
    non_positive.Add(values);
    EXPECT_EQ(std::signbit(non_positive.max()), std::signbit(first));
  }
}

}  // namespace
}  // namespace onnxq
