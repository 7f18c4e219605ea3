#!/usr/bin/env bash
# The model zoo through onnxq, per-tensor and per-channel: per model, exit code, nodes quantized /
# total, cosine and SQNR (dB) of output 0 against the float model on held-out inputs, wall time and
# peak RSS. Two sets (../shared/zoo/README.md):
#   - npm: published pretrained models, through ../shared/zoo/npm/run_zoo.sh (its data and scoring);
#   - models: architectures exported from PyTorch, calibrated on 16 uniform random inputs in each
#     input's documented range and scored on 8 others (the weights are random: SQNR, not accuracy).
#
#   bench/run_zoo_bench.sh [LABEL]        (after scripts/setup.sh; needs /usr/bin/python3 with numpy
#                                          and onnx: apt-get install python3-numpy python3-onnx)
# Environment: ONNXQ_ZOO_CACHE (default $HOME/.cache/onnxq-zoo), SHARED (default ../shared),
# ONNXQ (the onnxq binary, default build/onnxq), ZOO_SETS (default "npm models"), ZOO_MODES (default "per_tensor per_channel"), ZOO_ARGS (more
# onnxq quantize arguments for every model, e.g. "--calibrate-method Percentile").
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
label=${1:-onnxq}
shared=$(cd "${SHARED:-../shared}" && pwd)
cache=${ONNXQ_ZOO_CACHE:-$HOME/.cache/onnxq-zoo}
export ORT_ROOT=${ORT_ROOT:-$root/.cache/onnxruntime}
onnxq=${ONNXQ:-$root/build/onnxq}
python=/usr/bin/python3
echo "onnxq zoo bench: $(git rev-parse --short HEAD 2>/dev/null) on $(nproc) cores"

# Nodes quantized / total from onnxq's summary in a run's log.
nodes_of() { sed -n 's/^  nodes quantized *\([0-9]*\) of \([0-9]*\).*/\1\/\2/p' "$1" 2>/dev/null | head -1; }

for mode in ${ZOO_MODES:-per_tensor per_channel}; do
  flag=${ZOO_ARGS:-}
  [[ $mode == per_channel ]] && flag+=" --per-channel"
  for set in ${ZOO_SETS:-npm models}; do
    echo "== $set, $mode"
    printf '%-30s %5s %9s %9s %8s %8s %8s\n' model exit nodes cosine sqnr_db wall_s rss_mb
    if [[ $set == npm ]]; then
      "$shared/zoo/npm/run_zoo.sh" --label "$label-$mode" "$onnxq quantize {in} {out} --calib-data {calib} $flag" \
        > /dev/null 2>&1
      results=$cache/runs/$label-$mode/results.tsv
      tail -n +2 "$results" | while IFS=$'\t' read -r id rc wall rss loads cos sqnr qdq err; do
        printf '%-30s %5s %9s %9s %8s %8s %8s  %s\n' "$id" "$rc" "$(nodes_of "$cache/runs/$label-$mode/$id/log.txt")" \
          "$cos" "$sqnr" "$wall" "$rss" "${err:0:120}"
      done
      continue
    fi
    zoo_ort=$cache/build/zoo_ort
    for json in "$shared"/zoo/models/*.json; do
      id=$(basename "$json" .json)
      work=$cache/runs/$label-$mode/models/$id
      rm -rf "$work"; mkdir -p "$work"
      # One input per model: 16 calibration and 8 held-out samples, uniform in its range.
      "$python" - "$json" "$work" <<'PY' || continue
import json, sys
import numpy as np
spec = json.load(open(sys.argv[1]))["inputs"][0]
low, high = spec["range"]
shape = spec["example_shape"]
for name, n, seed in (("calib", 16, 1), ("eval", 8, 2)):
    x = np.random.default_rng(seed).uniform(low, high, [n] + shape[1:]).astype(np.float32)
    np.save(f"{sys.argv[2]}/{name}.npy", x)
open(f"{sys.argv[2]}/input_name", "w").write(spec["name"])
PY
      input=$(cat "$work/input_name")
      /usr/bin/time -v -o "$work/time.txt" "$onnxq" quantize "$shared/zoo/models/$id.onnx" "$work/q.onnx" \
        --calib-data "$input=$work/calib.npy" $flag > "$work/log.txt" 2>&1
      rc=$?
      wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; printf "%.1f", s}' "$work/time.txt")
      rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$work/time.txt")
      cos=- sqnr=- err=""
      if [[ $rc -eq 0 ]]; then
        "$zoo_ort" run "$shared/zoo/models/$id.onnx" "$work/ref.npy" "$input=$work/eval.npy" > /dev/null 2>&1
        res=$("$zoo_ort" compare "$work/ref.npy" "$work/q.onnx" "$input=$work/eval.npy" 2>&1 | tail -1)
        cos=$(sed -n 's/.* cos=\([^ ]*\).*/\1/p' <<< "$res")
        sqnr=$(sed -n 's/.* sqnr_db=\([^ ]*\).*/\1/p' <<< "$res")
        [[ -z $cos ]] && err=$res
      else
        err=$(grep -m1 'error' "$work/log.txt")
      fi
      printf '%-30s %5s %9s %9s %8s %8s %8s  %s\n' "$id" "$rc" "$(nodes_of "$work/log.txt")" "${cos:--}" "${sqnr:--}" \
        "$wall" "$rss" "${err:0:120}"
    done
  done
done
