#!/usr/bin/env bash
# Prints benchmark rows (markdown) for onnxq quantize vs the float-inference floor.
# Usage: bench/run_quantize_bench.sh [extra onnxq quantize arguments...] [--vs other arguments...]...
# Each argument set separated by --vs gets its rows; the sets take turns on each data file, so sets
# compared in one run of the script see the same machine. An empty set is the defaults:
#   bench/run_quantize_bench.sh --extra-option OutputCheckSamples=0 --vs
set -euo pipefail
cd "$(dirname "$0")/.."
shared=../shared/bench
sets=()
current=""
for arg in "$@"; do
  if [[ $arg == --vs ]]; then
    sets+=("$current")
    current=""
  else
    current+="$(printf '%q ' "$arg")"
  fi
done
sets+=("$current")
echo "| model | N | options | float floor (s) | onnxq quantize (s) | ratio | peak RSS (MiB) | float process (s) | ratio to it |"
echo "|---|---|---|---|---|---|---|---|---|"
for model in mbv2_fmnist_bn; do
  for data in "$shared/data/calib_1000x1x28x28.npy" "$shared/data/eval_first5000x1x28x28.npy"; do
    for set in "${sets[@]}"; do
      eval "args=($set)"
      build/bench/quantize_bench build/onnxq "$shared/models/$model.onnx" "$data" "${args[@]}"
    done
  done
done
