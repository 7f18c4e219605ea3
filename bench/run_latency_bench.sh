#!/usr/bin/env bash
# Latency of the quantized model against the float one, as a user measures it: each model of
# ../shared/zoo/models is quantized with onnxq's default options on 16 calibration samples (uniform in
# its input's documented range, as bench/run_zoo_bench.sh), then both models run in ONNX Runtime's CPU
# provider at batch 1 with THREADS intra-op threads. Steady-state time per image is
#   (wall time of a process running 104 images - one running 8) / 96,
# float and quantized processes alternating, median of RUNS; the last column is quantized / float.
#
#   bench/run_latency_bench.sh [MODEL_ID...]     (after building build/onnxq and build/bench/latency_run;
#                                                 needs /usr/bin/python3 with numpy)
# Environment: SHARED (default ../shared), RUNS (default 5), THREADS (default 2), LONG (default 104),
# SHORT (default 8), ONNXQ_FLAGS (extra quantize flags, default none), WORK (default a temp folder),
# MODELS_DIR (default $SHARED/zoo/models: <id>.onnx with the <id>.json the zoo's exporter writes),
# BASELINE_ONNXQ (another onnxq binary, e.g. an older commit's build: its quantized model runs in the
# same alternation, and two more columns give its time and q/f, for a before / after in one run).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
shared=$(cd "${SHARED:-../shared}" && pwd)
models_dir=$(cd "${MODELS_DIR:-$shared/zoo/models}" && pwd)
runs=${RUNS:-5}
threads=${THREADS:-2}
long=${LONG:-104}
short=${SHORT:-8}
onnxq=$root/build/onnxq
latency_run=$root/build/bench/latency_run
work=${WORK:-$(mktemp -d)}
python=/usr/bin/python3
echo "onnxq latency bench: $(git rev-parse --short HEAD 2>/dev/null) on $(nproc) cores, $threads threads," \
  "median of $runs, ($long - $short images) per process"

# Wall time of one process in seconds.
seconds_of() {
  local start end
  start=$(date +%s.%N)
  "$latency_run" "$@" > /dev/null || return 1
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}

median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

models=("$@")
if [[ ${#models[@]} -eq 0 ]]; then
  for json in "$models_dir"/*.json; do models+=("$(basename "$json" .json)"); done
fi

baseline=${BASELINE_ONNXQ:-}
kinds=(float quant)
[[ -n $baseline ]] && kinds=(float base quant)
if [[ -n $baseline ]]; then
  printf '%-30s %10s %10s %8s %10s %8s\n' model float_ms base_ms base_q/f quant_ms q/f
else
  printf '%-30s %10s %10s %8s\n' model float_ms quant_ms q/f
fi
for id in "${models[@]}"; do
  dir=$work/$id
  mkdir -p "$dir"
  "$python" - "$models_dir/$id.json" "$dir" <<'PY' || continue
import json, sys
import numpy as np
spec = json.load(open(sys.argv[1]))["inputs"][0]
low, high = spec["range"]
x = np.random.default_rng(1).uniform(low, high, [16] + spec["example_shape"][1:]).astype(np.float32)
np.save(f"{sys.argv[2]}/calib.npy", x)
open(f"{sys.argv[2]}/input_name", "w").write(spec["name"])
PY
  # shellcheck disable=SC2086
  if ! "$onnxq" quantize "$models_dir/$id.onnx" "$dir/q.onnx" --calib-data "$(cat "$dir/input_name")=$dir/calib.npy" \
    ${ONNXQ_FLAGS:-} > "$dir/log.txt" 2>&1; then
    printf '%-30s %s\n' "$id" "quantize failed: $(grep -m1 -i error "$dir/log.txt")"
    continue
  fi
  # shellcheck disable=SC2086
  if [[ -n $baseline ]] && ! "$baseline" quantize "$models_dir/$id.onnx" "$dir/base.onnx" \
    --calib-data "$(cat "$dir/input_name")=$dir/calib.npy" ${ONNXQ_FLAGS:-} > "$dir/base_log.txt" 2>&1; then
    printf '%-30s %s\n' "$id" "baseline quantize failed: $(grep -m1 -i error "$dir/base_log.txt")"
    continue
  fi
  for kind in "${kinds[@]}"; do : > "$dir/$kind.txt"; done
  for ((r = 0; r < runs; ++r)); do
    for kind in "${kinds[@]}"; do
      model=$models_dir/$id.onnx
      [[ $kind == quant ]] && model=$dir/q.onnx
      [[ $kind == base ]] && model=$dir/base.onnx
      t_long=$(seconds_of "$model" "$long" "$threads") || { echo "$id: $kind run failed"; continue 3; }
      t_short=$(seconds_of "$model" "$short" "$threads") || { echo "$id: $kind run failed"; continue 3; }
      echo "($t_long - $t_short) * 1000 / ($long - $short)" | bc -l >> "$dir/$kind.txt"
    done
  done
  f=$(median < "$dir/float.txt")
  q=$(median < "$dir/quant.txt")
  if [[ -n $baseline ]]; then
    b=$(median < "$dir/base.txt")
    printf '%-30s %10.2f %10.2f %8.2f %10.2f %8.2f\n' "$id" "$f" "$b" "$(echo "$b / $f" | bc -l)" "$q" \
      "$(echo "$q / $f" | bc -l)"
  else
    printf '%-30s %10.2f %10.2f %8.2f\n' "$id" "$f" "$q" "$(echo "$q / $f" | bc -l)"
  fi
done
