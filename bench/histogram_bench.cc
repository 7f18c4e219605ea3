// Histogram::Add on activation batches of 32K and 64K floats, the hot path of histogram calibration (Percentile,
// Entropy, MinMSE). The histogram is primed with the batch once, so every timed Add keeps the grid and
// only bins; "per_value" is the time per input float.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

#include "algorithms/histogram.h"

namespace {

constexpr std::size_t kBatchSize = 64 * 1024;

// Relu6 output: half exact zeros, 5% exactly 6, the rest uniform in (0, 6].
std::vector<float> Relu6Like() {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> unit(0.0F, 1.0F);
  std::vector<float> data(kBatchSize);
  for (float& x : data) {
    const float u = unit(rng);
    if (u < 0.5F) {
      x = 0.0F;
    } else if (u < 0.55F) {
      x = 6.0F;
    } else {
      x = 6.0F - 6.0F * unit(rng);  // (0, 6]
    }
  }
  return data;
}

// Laplace(0, 1): a pre-activation or weight-like distribution with long tails.
std::vector<float> Laplace() {
  std::mt19937 rng(2);
  std::exponential_distribution<float> magnitude(1.0F);
  std::bernoulli_distribution negative(0.5);
  std::vector<float> data(kBatchSize);
  for (float& x : data) x = negative(rng) ? -magnitude(rng) : magnitude(rng);
  return data;
}

std::vector<float> AllZeros() { return std::vector<float>(kBatchSize, 0.0F); }

// Arguments: max_bins, 2048 (the default) or 8192 (what the calibrators use: 4 x NumBins, at least
// 4 x 2048); values an Add, 64K or 32K (about what calibration hands over: one tensor of a run of a
// few samples).
void RunAdd(benchmark::State& state, const std::vector<float>& all) {
  onnxq::Histogram histogram({.max_bins = static_cast<int>(state.range(0))});
  const std::vector<float> data(all.begin(), all.begin() + state.range(1));
  histogram.Add(data);
  for (auto _ : state) {
    histogram.Add(data);
    benchmark::DoNotOptimize(histogram.counts().data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(data.size()));
  // Seconds per input value (printed with an SI prefix: "689p" is 0.689 ns).
  state.counters["per_value"] = benchmark::Counter(
      static_cast<double>(data.size()), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_HistogramAdd_Relu6(benchmark::State& state) { RunAdd(state, Relu6Like()); }
void BM_HistogramAdd_Laplace(benchmark::State& state) { RunAdd(state, Laplace()); }
void BM_HistogramAdd_AllZeros(benchmark::State& state) { RunAdd(state, AllZeros()); }

BENCHMARK(BM_HistogramAdd_Relu6)->Args({2048, 65536})->Args({8192, 65536})->Args({8192, 32768});
BENCHMARK(BM_HistogramAdd_Laplace)->Args({2048, 65536})->Args({8192, 65536})->Args({8192, 32768});
BENCHMARK(BM_HistogramAdd_AllZeros)->Args({8192, 65536});

}  // namespace

BENCHMARK_MAIN();
