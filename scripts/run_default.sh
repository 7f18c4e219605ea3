#!/usr/bin/env bash
# The main job on the embedded default: quantize the Fashion-MNIST MobileNetV2 kept in data/ with 300
# calibration images, then compare float and quantized top-1 on 2000 test images.
set -euo pipefail
cd "$(dirname "$0")/.."
data=data/fmnist
mkdir -p out
build/onnxq quantize "$data/models/mbv2_fmnist_bn.onnx" out/mbv2_fmnist_int8.onnx \
  --calib-data "$data/calib_1000.npy" --calib-data-size 300
echo
build/onnxq evaluate "$data/models/mbv2_fmnist_bn.onnx" out/mbv2_fmnist_int8.onnx \
  --data "$data/eval_10000.npy" --labels "$data/eval_labels.u8" --max-samples 2000
