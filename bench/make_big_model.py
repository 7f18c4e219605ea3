#!/usr/bin/env python3
"""Writes a weight-dominated model over 2 GB, with its weights in external data, and calibration data.

    make_big_model.py OUT_DIR [--layers 4] [--width 140000] [--samples 32]

OUT_DIR/big.onnx: input x float[1, 1024]; `layers` MatMul nodes x @ W_i, each W_i float[1024, width]
(about 573 MB each at the default width), output y_i float[1, width] each. The weights lie in
OUT_DIR/big.onnx.data at 4 KiB aligned offsets, written a layer at a time so the generator itself
stays small. OUT_DIR/calib.npy: `samples` inputs float[samples, 1024] (one [1, 1024] per sample).
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper

ROWS = 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--width", type=int, default=140000)
    parser.add_argument("--samples", type=int, default=32)
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    data_name = "big.onnx.data"
    rng = np.random.default_rng(15)
    initializers, nodes, outputs = [], [], []
    offset = 0
    with open(os.path.join(args.out_dir, data_name), "wb") as data:
        for i in range(args.layers):
            offset = (offset + 4095) // 4096 * 4096
            data.seek(offset)
            length = 0
            for start in range(0, ROWS, 64):  # 64 rows at a time: ~36 MB of floats
                rows = rng.standard_normal((64, args.width), dtype=np.float32) * 0.02
                rows.tofile(data)
                length += rows.nbytes
            weight = helper.make_tensor_value_info(f"W{i}", TensorProto.FLOAT, [ROWS, args.width])
            tensor = TensorProto(name=f"W{i}", data_type=TensorProto.FLOAT, dims=[ROWS, args.width])
            tensor.data_location = TensorProto.EXTERNAL
            for key, value in (("location", data_name), ("offset", str(offset)), ("length", str(length))):
                entry = tensor.external_data.add()
                entry.key, entry.value = key, value
            initializers.append(tensor)
            nodes.append(helper.make_node("MatMul", ["x", f"W{i}"], [f"y{i}"], name=f"matmul{i}"))
            outputs.append(helper.make_tensor_value_info(f"y{i}", TensorProto.FLOAT, [1, args.width]))
            offset += length
            del weight
    graph = helper.make_graph(nodes, "big", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, ROWS])],
                              outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, os.path.join(args.out_dir, "big.onnx"))
    calib = np.random.default_rng(16).standard_normal((args.samples, ROWS), dtype=np.float32)
    np.save(os.path.join(args.out_dir, "calib.npy"), calib)


if __name__ == "__main__":
    main()
