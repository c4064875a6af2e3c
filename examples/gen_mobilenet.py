#!/usr/bin/env python3
"""Builds kiln's bundled example: a tiny MobileNetV2-style classifier, with onnx.helper only.

Writes `examples/mobilenet_tiny.onnx` and `examples/input.npy` next to this script (or into
--out DIR; scripts/test.sh does that to check the committed files are reproduced). Everything is
seeded (SEED), so re-running reproduces the committed files byte for byte:

    target/venv/bin/python examples/gen_mobilenet.py

Network (input `input` [N,3,96,96] f32, N symbolic):
    stem     Conv 3x3 s2 (3->16) + BatchNormalization + Clip(0,6)            -> 48x48
    blocks   inverted residuals: 1x1 expand + BN + ReLU6, 3x3 depthwise + BN + ReLU6,
             1x1 project + BN, and a residual Add when stride 1 and channels match
    head     Conv 1x1 (->128) + BN + ReLU6, GlobalAveragePool, Flatten, Gemm (->10), Softmax
BatchNormalization stays a separate node so that kiln's Conv+BN folding is exercised.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEED = 20240601
OPSET = 13
HERE = Path(__file__).resolve().parent
# (expansion t, output channels, stride) per inverted-residual block.
BLOCKS = [(1, 16, 1), (4, 24, 2), (4, 24, 1), (4, 32, 2), (4, 32, 1), (4, 48, 1)]
HEAD_CHANNELS = 128
CLASSES = 10


class Builder:
    """Accumulates nodes and initializers; names are generated from a counter."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def name(self, kind: str) -> str:
        self.count += 1
        return f"{kind}_{self.count}"

    def weight(self, kind: str, array: np.ndarray) -> str:
        name = self.name(kind)
        self.inits.append(numpy_helper.from_array(array.astype(np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], **attrs) -> str:
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out + "_node", **attrs))
        return out

    def conv(self, x: str, cin: int, cout: int, k: int, stride: int, group: int = 1) -> str:
        fan_in = (cin // group) * k * k
        w = self.rng.standard_normal((cout, cin // group, k, k)) * np.sqrt(2.0 / fan_in)
        return self.node(
            "Conv",
            [x, self.weight("w", w)],
            kernel_shape=[k, k],
            strides=[stride, stride],
            pads=[k // 2] * 4,
            group=group,
        )

    def bn(self, x: str, c: int) -> str:
        r = self.rng
        params = [
            r.uniform(0.5, 1.5, c),  # scale
            r.uniform(-0.2, 0.2, c),  # bias
            r.uniform(-0.2, 0.2, c),  # mean
            r.uniform(0.5, 1.5, c),  # var
        ]
        names = [self.weight(k, p) for k, p in zip(["gamma", "beta", "mean", "var"], params)]
        return self.node("BatchNormalization", [x, *names], epsilon=1e-5)

    def relu6(self, x: str) -> str:
        lo = self.weight("zero", np.array(0.0))
        hi = self.weight("six", np.array(6.0))
        return self.node("Clip", [x, lo, hi])

    def conv_bn(self, x: str, cin: int, cout: int, k: int, stride: int, group: int = 1, act=True):
        y = self.bn(self.conv(x, cin, cout, k, stride, group), cout)
        return self.relu6(y) if act else y

    def inverted_residual(self, x: str, cin: int, t: int, cout: int, stride: int) -> str:
        hidden = cin * t
        y = self.conv_bn(x, cin, hidden, 1, 1) if t != 1 else x
        y = self.conv_bn(y, hidden, hidden, 3, stride, group=hidden)
        y = self.conv_bn(y, hidden, cout, 1, 1, act=False)
        return self.node("Add", [x, y]) if stride == 1 and cin == cout else y


def build() -> onnx.ModelProto:
    b = Builder(SEED)
    x = b.conv_bn("input", 3, 16, 3, 2)
    c = 16
    for t, cout, stride in BLOCKS:
        x = b.inverted_residual(x, c, t, cout, stride)
        c = cout
    x = b.conv_bn(x, c, HEAD_CHANNELS, 1, 1)
    x = b.node("GlobalAveragePool", [x])
    x = b.node("Flatten", [x], axis=1)
    w = b.rng.standard_normal((CLASSES, HEAD_CHANNELS)) * np.sqrt(1.0 / HEAD_CHANNELS)
    x = b.node("Gemm", [x, b.weight("fc_w", w), b.weight("fc_b", np.zeros(CLASSES))], transB=1)
    b.nodes.append(helper.make_node("Softmax", [x], ["output"], name="softmax_out", axis=1))
    graph = helper.make_graph(
        b.nodes,
        "mobilenet_tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 96, 96])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", CLASSES])],
        b.inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="kiln-examples"
    )
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description="Builds examples/mobilenet_tiny.onnx and input.npy.")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: %(default)s)")
    out_dir = parser.parse_args().out
    out_dir.mkdir(parents=True, exist_ok=True)
    model = build()
    out = out_dir / "mobilenet_tiny.onnx"
    out.write_bytes(model.SerializeToString())
    x = np.random.default_rng(SEED + 1).standard_normal((1, 3, 96, 96)).astype(np.float32)
    np.save(out_dir / "input.npy", x)
    n_params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    print(f"wrote {out} ({out.stat().st_size} bytes, {len(model.graph.node)} nodes, "
          f"{n_params} parameters) and {out_dir / 'input.npy'}")


if __name__ == "__main__":
    main()
