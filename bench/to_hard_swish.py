#!/usr/bin/env python3
"""Writes a model's x * HardSigmoid(x; alpha 1/6, beta 1/2) pairs as single HardSwish nodes at opset 14,
the graph torch.onnx.export writes for nn.Hardswish from opset 14 on (bench/RESULTS.md times both forms).

    /usr/bin/python3 bench/to_hard_swish.py IN.onnx OUT.onnx
"""
import sys

import onnx


def main(source, target):
    model = onnx.load(source)
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    gates = set()
    written = 0
    for node in graph.node:
        if node.op_type != "Mul":
            continue
        for k in (0, 1):
            gate = producer.get(node.input[k])
            if gate is None or gate.op_type != "HardSigmoid" or gate.input[0] != node.input[1 - k]:
                continue
            attrs = {a.name: a.f for a in gate.attribute}
            if abs(attrs.get("alpha", 0.2) - 1 / 6) > 1e-6 or abs(attrs.get("beta", 0.5) - 0.5) > 1e-6:
                continue
            x = node.input[1 - k]
            gates.add(gate.name)
            node.op_type = "HardSwish"
            del node.input[:]
            node.input.append(x)
            written += 1
            break
    kept = [node for node in graph.node if node.name not in gates]
    del graph.node[:]
    graph.node.extend(kept)
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx"):
            opset.version = max(opset.version, 14)
    onnx.checker.check_model(model)
    onnx.save(model, target)
    print(f"{target}: {written} HardSwish")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
