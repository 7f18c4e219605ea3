#!/usr/bin/env bash
# Prints benchmark rows (markdown) for onnxq quantize vs the float-inference floor.
# Usage: bench/run_quantize_bench.sh [extra onnxq quantize arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
shared=../shared/bench
echo "| model | N | options | float floor (s) | onnxq quantize (s) | ratio | peak RSS (MiB) | float process (s) | ratio to it |"
echo "|---|---|---|---|---|---|---|---|---|"
for model in mbv2_fmnist_bn; do
  for data in "$shared/data/calib_1000x1x28x28.npy" "$shared/data/eval_first5000x1x28x28.npy"; do
    build/bench/quantize_bench build/onnxq "$shared/models/$model.onnx" "$data" "$@"
  done
done
