#!/usr/bin/env bash
# Top-1 of the Fashion-MNIST models quantized with each named configuration (--config) and with NPU-CNN
# mode with and without CLE, against float, on the 10,000 test images (calibration: the 1,000
# calibration images); and the cost of NPULimitationCheck: quantize time with the refinement on and off.
#   bench/run_preset_bench.sh            (after the build; ONNXQ=<binary> for another one)
set -euo pipefail
cd "$(dirname "$0")/.."
onnxq=${ONNXQ:-build/onnxq}
data=data/fmnist
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "onnxq preset bench: $(git rev-parse --short HEAD 2>/dev/null) on $(nproc) cores"
echo "| model | configuration | top-1 | float top-1 | delta | quantize s |"
echo "|---|---|---|---|---|---|"
top1() { "$onnxq" evaluate "$1" --data "$data/eval_10000.npy" --labels "$data/eval_labels.u8" | awk 'NR == 2 { print $2 }'; }
for model in mbv2_fmnist_bn resnet_fmnist_bn; do
  float=$(top1 "$data/models/$model.onnx")
  while read -r label args; do
    [[ $label == CPU-default ]] && args=""
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$onnxq" quantize "$data/models/$model.onnx" "$out/q.onnx" --calib-data "$data/calib_1000.npy" -q $args
    seconds=$(echo "$(date +%s.%N) - $start" | bc)
    q=$(top1 "$out/q.onnx")
    printf '| %s | %s | %s | %s | %+.2f | %.2f |\n' "$model" "$label" "$q" "$float" "$(echo "$q - $float" | bc)" "$seconds"
  done <<'LIST'
CPU-default
XINT8 --config XINT8
XINT8+CLE --config XINT8 --include-cle
XINT8-no-refinement --config XINT8 --extra-option NPULimitationCheck=False
VINT8 --config VINT8
A8W8 --config A8W8
A16W8 --config A16W8
U8S8_AAWS --config U8S8_AAWS
S8S8_AAWS --config S8S8_AAWS
U8U8_AAWA --config U8U8_AAWA
U16S8_AAWS --config U16S8_AAWS
S16S8_ASWS --config S16S8_ASWS
INT8_CNN_DEFAULT --config INT8_CNN_DEFAULT
INT16_CNN_DEFAULT --config INT16_CNN_DEFAULT
LIST
done
