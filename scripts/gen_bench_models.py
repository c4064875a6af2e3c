#!/usr/bin/env python3
"""The benchmark models of kiln's graph optimizer: MobileNetV2, ResNet-18, EfficientNet-B0,
YOLOv8n, SqueezeNet 1.1, ShuffleNetV2 1.0x and a DenseNet-121-style network, built layer by layer
with numpy + onnx.helper (no torch), seeded random weights.

Why these seven and why written this way: the optimizer's acceptance is measured on them
(`scripts/bench_opt.sh`, `tests/bench_models.rs`), so each graph is written the way PyTorch's
exporter (opset 17) writes the real model *without* BN folding: Conv without bias followed by
BatchNormalization, ReLU6 as Clip whose min/max are initializers, SiLU as Sigmoid + Mul, residual
Add, GlobalAveragePool + Flatten + Gemm heads, squeeze-excitation as GlobalAveragePool -> Conv ->
SiLU -> Conv -> Sigmoid -> Mul, YOLOv8's C2f (Split, Bottlenecks, Concat), SPPF (three MaxPool
k5 s1 p2), nearest Resize x2 with a scales input, and its Detect head (DFL: Reshape, Transpose,
Softmax, 1x1 Conv with arange weights; dist2bbox: Slice/Sub/Add/Div/Concat with anchor
constants; Mul by strides; Sigmoid on the classes). The last three add concat-heavy graphs:
SqueezeNet's Fire modules (1x1 squeeze, 1x1 and 3x3 expands Concat'ed, biased convs, no BN),
ceil_mode MaxPools and its Conv -> ReLU -> GlobalAveragePool -> Flatten head; ShuffleNetV2's
Split (with a split input, for x.chunk), channel shuffle (Reshape to 5-D, Transpose [0,2,1,3,4],
Reshape back, shapes as initializers) and `x.mean([2, 3])` as ReduceMean keepdims=0 before its
Gemm; DenseNet's pre-activation layers (BN -> ReLU -> Conv on the Concat of every earlier map of
the block, the first a one-input Concat as torch.cat of a one-element list exports) and
transitions ending in AveragePool 2x2/2. The DenseNet is DenseNet-121 (growth 32, bn_size 4, 64
stem features, compression 0.5) with (6, 6, 6, 4) layers per block instead of (6, 12, 24, 16):
every layer keeps the concat pattern, and it costs ~1.7 GMAC (onnxruntime, one thread: about
ResNet-18's time) instead of 2.9, to keep CI fast. The op mix is realistic; exact parity with
torchvision/ultralytics node names is not a goal.

Weights: conv weights He normal (std = sqrt(2 / fan_in)), BatchNormalization mean ~ N(0, 0.1),
var ~ U(0.5, 1.5), gamma ~ U(0.5, 1.5), beta ~ N(0, 0.1), biases ~ N(0, 0.1). He scaling alone
keeps activations O(1) only through ReLU chains: every linear bottleneck (MobileNetV2's projection,
a residual sum) doubles the variance, so after 17 blocks values would be ~1e5 and ReLU6 would clip
everything. So each He-normal weight is then multiplied by one scalar, layer by layer in
topological order, until its output has a target standard deviation on the seeded input (LSUV,
"layer-sequential unit variance", Mishkin & Matas 2016): 1 for convolutions, 3 for classifier
logits (a softmax of them is not one-hot), 2 for YOLO's box and class logits. One onnxruntime
session with those weights as graph inputs serves every step.

Classifier logits are then kept at least LOGIT_MARGIN away from zero by moving the bias of each
class whose logit on the seeded input is closer (by 2 * LOGIT_MARGIN, away from zero). Why: the
tests compare element-wise within 1e-5 + 1e-3 |e|, whose relative term vanishes at e ~ 0, while a
logit near zero is the difference of terms of size ~10 and so carries an f32 rounding error of
~1e-5 whatever the kernel order; one such class out of 1000 would make the test flaky.
SqueezeNet has no `fc`: its logits are a mean over 13x13 positions of ReLU(conv) (calibrated to
std 3 before the ReLU), so about a fifth of them are exactly 0 (negative at every position) and
a small one is a mean of few small non-negative terms, whose rounding is as small; moving a bias
would not move such an output by a known amount anyway, so nothing is shifted there.

Each model directory gets `model.onnx`, a seeded `input.npy` and `output_0.npy`: onnxruntime's
output with graph optimisations disabled, on one thread (the plain operator semantics).

    gen_bench_models.py [OUT]            all seven into OUT (default target/test-data/bench)
    gen_bench_models.py OUT --models resnet18,yolov8n

`scripts/gen_test_data.py` calls `write_model` for its `bench` category (cached by this file's
hash), so the integration tests and CI regenerate these when this script changes.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
MODELS = ("mobilenetv2", "resnet18", "efficientnet_b0", "yolov8n", "squeezenet1_1", "shufflenet_v2_x1_0",
          "densenet_style")
ROOT = Path(__file__).resolve().parent.parent
LOGIT_MARGIN = 0.25


class Net:
    """A graph under construction: nodes, initializers, and the weights LSUV rescales."""

    def __init__(self, name: str):
        self.name = name
        self.rng = np.random.default_rng(zlib.crc32(name.encode()))
        self.nodes: list[onnx.NodeProto] = []
        self.inits: dict[str, np.ndarray] = {}
        # (weight initializer, output value, target std) in topological order.
        self.calibrated: list[tuple[str, str, float]] = []
        self.shared: dict[str, str] = {}

    # -- plumbing ---------------------------------------------------------------------------
    def init(self, name: str, value: np.ndarray) -> str:
        assert name not in self.inits, name
        self.inits[name] = value
        return name

    def const(self, key: str, value: np.ndarray) -> str:
        """An initializer shared by every node that uses the same constant (Clip bounds...)."""
        if key not in self.shared:
            self.shared[key] = self.init(key, value)
        return self.shared[key]

    def node(self, op: str, inputs: list[str], name: str, n_out: int = 1, **attrs) -> list[str]:
        outs = [f"{name}_out{i}" if n_out > 1 else f"{name}_out" for i in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs

    def op(self, op: str, inputs: list[str], name: str, **attrs) -> str:
        return self.node(op, inputs, name, **attrs)[0]

    def normal(self, shape, std: float) -> np.ndarray:
        return (self.rng.standard_normal(shape) * std).astype(np.float32)

    def uniform(self, shape, lo: float, hi: float) -> np.ndarray:
        return self.rng.uniform(lo, hi, shape).astype(np.float32)

    # -- layers -------------------------------------------------------------------------------
    def conv(self, x: str, cin: int, cout: int, k: int, name: str, s: int = 1, groups: int = 1,
             bias: bool = False, target_std: float | None = 1.0, pad: int | None = None) -> str:
        """Conv with He-normal weights; `pad` defaults to k // 2 (PyTorch's "same" for odd k)."""
        fan_in = cin // groups * k * k
        w = self.init(f"{name}.weight", self.normal((cout, cin // groups, k, k), np.sqrt(2.0 / fan_in)))
        inputs = [x, w]
        if bias:
            inputs.append(self.init(f"{name}.bias", self.normal((cout,), 0.1)))
        p = k // 2 if pad is None else pad
        y = self.op("Conv", inputs, name, kernel_shape=[k, k], strides=[s, s], pads=[p, p, p, p],
                    dilations=[1, 1], group=groups)
        if target_std is not None:
            self.calibrated.append((w, y, target_std))
        return y

    def bn(self, x: str, c: int, name: str, eps: float) -> str:
        scale = self.init(f"{name}.weight", self.uniform((c,), 0.5, 1.5))
        beta = self.init(f"{name}.bias", self.normal((c,), 0.1))
        mean = self.init(f"{name}.running_mean", self.normal((c,), 0.1))
        var = self.init(f"{name}.running_var", self.uniform((c,), 0.5, 1.5))
        return self.op("BatchNormalization", [x, scale, beta, mean, var], name, epsilon=eps, momentum=0.9)

    def relu(self, x: str, name: str) -> str:
        return self.op("Relu", [x], name)

    def relu6(self, x: str, name: str) -> str:
        lo = self.const("clip_min", np.array(0.0, np.float32))
        hi = self.const("clip_max", np.array(6.0, np.float32))
        return self.op("Clip", [x, lo, hi], name)

    def silu(self, x: str, name: str) -> str:
        return self.op("Mul", [x, self.op("Sigmoid", [x], f"{name}.sigmoid")], f"{name}.mul")

    def conv_bn_act(self, x: str, cin: int, cout: int, k: int, name: str, act: str | None, s: int = 1,
                    groups: int = 1, eps: float = 1e-5) -> str:
        y = self.bn(self.conv(x, cin, cout, k, f"{name}.conv", s, groups), cout, f"{name}.bn", eps)
        return {"relu": self.relu, "relu6": self.relu6, "silu": self.silu, None: lambda v, _: v}[act](y, f"{name}.act")

    def add(self, a: str, b: str, name: str) -> str:
        return self.op("Add", [a, b], name)

    def classifier(self, x: str, cin: int, classes: int) -> str:
        pooled = self.op("GlobalAveragePool", [x], "avgpool")
        return self.fc(self.op("Flatten", [pooled], "flatten", axis=1), cin, classes)

    def fc(self, flat: str, cin: int, classes: int) -> str:
        """The Linear head (`fc`, whose bias keep_logits_off_zero moves), calibrated to std 3."""
        w = self.init("fc.weight", self.normal((classes, cin), np.sqrt(1.0 / cin)))
        b = self.init("fc.bias", self.normal((classes,), 0.1))
        y = self.op("Gemm", [flat, w, b], "fc", alpha=1.0, beta=1.0, transB=1)
        self.calibrated.append((w, y, 3.0))
        return y

    # -- the model ----------------------------------------------------------------------------
    def finish(self, x_shape: list[int], output: str, out_shape: list[int]) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes,
            self.name,
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, x_shape)],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, out_shape)],
            [numpy_helper.from_array(v, k) for k, v in self.inits.items()],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="kiln gen_bench_models.py")
        model.ir_version = 8
        onnx.checker.check_model(model, full_check=True)
        return model


# ------------------------------------------------------------------------------------------------
# torchvision MobileNetV2 1.0
# ------------------------------------------------------------------------------------------------
def mobilenetv2() -> tuple[Net, onnx.ModelProto]:
    net = Net("mobilenetv2")
    x = net.conv_bn_act("input", 3, 32, 3, "features.0", "relu6", s=2)
    cin, idx = 32, 1
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            stride = s if i == 0 else 1
            x = inverted_residual(net, x, cin, c, stride, t, f"features.{idx}")
            cin, idx = c, idx + 1
    x = net.conv_bn_act(x, cin, 1280, 1, f"features.{idx}", "relu6")
    y = net.classifier(x, 1280, 1000)
    return net, net.finish([1, 3, 224, 224], y, [1, 1000])


def inverted_residual(net: Net, x: str, cin: int, cout: int, s: int, t: int, name: str) -> str:
    hidden = cin * t
    y = x
    if t != 1:
        y = net.conv_bn_act(y, cin, hidden, 1, f"{name}.expand", "relu6")
    y = net.conv_bn_act(y, hidden, hidden, 3, f"{name}.dw", "relu6", s=s, groups=hidden)
    y = net.conv_bn_act(y, hidden, cout, 1, f"{name}.project", None)
    return net.add(x, y, f"{name}.add") if s == 1 and cin == cout else y


# ------------------------------------------------------------------------------------------------
# torchvision ResNet-18
# ------------------------------------------------------------------------------------------------
def resnet18() -> tuple[Net, onnx.ModelProto]:
    net = Net("resnet18")
    x = net.conv_bn_act("input", 3, 64, 7, "stem", "relu", s=2)
    x = net.op("MaxPool", [x], "maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
               ceil_mode=0, dilations=[1, 1])
    cin = 64
    for layer, (c, s) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)], start=1):
        for i in range(2):
            x = basic_block(net, x, cin, c, s if i == 0 else 1, f"layer{layer}.{i}")
            cin = c
    y = net.classifier(x, 512, 1000)
    return net, net.finish([1, 3, 224, 224], y, [1, 1000])


def basic_block(net: Net, x: str, cin: int, cout: int, s: int, name: str) -> str:
    y = net.conv_bn_act(x, cin, cout, 3, f"{name}.a", "relu", s=s)
    y = net.conv_bn_act(y, cout, cout, 3, f"{name}.b", None)
    identity = x
    if s != 1 or cin != cout:
        identity = net.conv_bn_act(x, cin, cout, 1, f"{name}.downsample", None, s=s)
    return net.relu(net.add(y, identity, f"{name}.add"), f"{name}.relu")


# ------------------------------------------------------------------------------------------------
# torchvision EfficientNet-B0 (no stochastic depth or dropout: identities at inference)
# ------------------------------------------------------------------------------------------------
def efficientnet_b0() -> tuple[Net, onnx.ModelProto]:
    net = Net("efficientnet_b0")
    x = net.conv_bn_act("input", 3, 32, 3, "features.0", "silu", s=2)
    idx = 1
    for e, k, s, cin, cout, n in [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
                                  (6, 3, 2, 40, 80, 3), (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4),
                                  (6, 3, 1, 192, 320, 1)]:
        for i in range(n):
            x = mbconv(net, x, cin if i == 0 else cout, cout, k, s if i == 0 else 1, e, f"features.{idx}.{i}")
        idx += 1
    x = net.conv_bn_act(x, 320, 1280, 1, f"features.{idx}", "silu")
    y = net.classifier(x, 1280, 1000)
    return net, net.finish([1, 3, 224, 224], y, [1, 1000])


def mbconv(net: Net, x: str, cin: int, cout: int, k: int, s: int, e: int, name: str) -> str:
    hidden = cin * e
    y = x
    if e != 1:
        y = net.conv_bn_act(y, cin, hidden, 1, f"{name}.expand", "silu")
    y = net.conv_bn_act(y, hidden, hidden, k, f"{name}.dw", "silu", s=s, groups=hidden)
    y = squeeze_excitation(net, y, hidden, max(1, cin // 4), f"{name}.se")
    y = net.conv_bn_act(y, hidden, cout, 1, f"{name}.project", None)
    return net.add(y, x, f"{name}.add") if s == 1 and cin == cout else y


def squeeze_excitation(net: Net, x: str, c: int, squeeze: int, name: str) -> str:
    s = net.op("GlobalAveragePool", [x], f"{name}.avgpool")
    s = net.silu(net.conv(s, c, squeeze, 1, f"{name}.fc1", bias=True), f"{name}.act")
    s = net.op("Sigmoid", [net.conv(s, squeeze, c, 1, f"{name}.fc2", bias=True)], f"{name}.gate")
    return net.op("Mul", [x, s], f"{name}.scale")


# ------------------------------------------------------------------------------------------------
# ultralytics YOLOv8n (depth 0.33, width 0.25), 80 classes, 320x320 input
# ------------------------------------------------------------------------------------------------
YOLO_SIZE = 320
YOLO_STRIDES = (8, 16, 32)
REG_MAX = 16
CLASSES = 80


def yolo_conv(net: Net, x: str, cin: int, cout: int, k: int, name: str, s: int = 1) -> str:
    return net.conv_bn_act(x, cin, cout, k, name, "silu", s=s, eps=1e-3)


def c2f(net: Net, x: str, cin: int, cout: int, n: int, shortcut: bool, name: str) -> str:
    c = cout // 2
    y = yolo_conv(net, x, cin, 2 * c, 1, f"{name}.cv1")
    split = net.const(f"split_{c}_{c}", np.array([c, c], np.int64))
    parts = net.node("Split", [y, split], f"{name}.split", n_out=2, axis=1)
    for i in range(n):
        b = yolo_conv(net, parts[-1], c, c, 3, f"{name}.m.{i}.cv1")
        b = yolo_conv(net, b, c, c, 3, f"{name}.m.{i}.cv2")
        parts.append(net.add(parts[-1], b, f"{name}.m.{i}.add") if shortcut else b)
    cat = net.op("Concat", parts, f"{name}.concat", axis=1)
    return yolo_conv(net, cat, (2 + n) * c, cout, 1, f"{name}.cv2")


def sppf(net: Net, x: str, cin: int, cout: int, name: str) -> str:
    c = cin // 2
    ys = [yolo_conv(net, x, cin, c, 1, f"{name}.cv1")]
    for i in range(3):
        ys.append(net.op("MaxPool", [ys[-1]], f"{name}.m.{i}", kernel_shape=[5, 5], strides=[1, 1],
                         pads=[2, 2, 2, 2], ceil_mode=0, dilations=[1, 1]))
    return yolo_conv(net, net.op("Concat", ys, f"{name}.concat", axis=1), 4 * c, cout, 1, f"{name}.cv2")


def upsample(net: Net, x: str, name: str) -> str:
    scales = net.const("resize_scales", np.array([1.0, 1.0, 2.0, 2.0], np.float32))
    return net.op("Resize", [x, "", scales], name, mode="nearest", coordinate_transformation_mode="asymmetric",
                  nearest_mode="floor", cubic_coeff_a=-0.75)


def yolov8n() -> tuple[Net, onnx.ModelProto]:
    net = Net("yolov8n")
    x = yolo_conv(net, "input", 3, 16, 3, "model.0", s=2)
    x = yolo_conv(net, x, 16, 32, 3, "model.1", s=2)
    x = c2f(net, x, 32, 32, 1, True, "model.2")
    x = yolo_conv(net, x, 32, 64, 3, "model.3", s=2)
    p3 = c2f(net, x, 64, 64, 2, True, "model.4")
    x = yolo_conv(net, p3, 64, 128, 3, "model.5", s=2)
    p4 = c2f(net, x, 128, 128, 2, True, "model.6")
    x = yolo_conv(net, p4, 128, 256, 3, "model.7", s=2)
    x = c2f(net, x, 256, 256, 1, True, "model.8")
    p5 = sppf(net, x, 256, 256, "model.9")
    x = net.op("Concat", [upsample(net, p5, "model.10"), p4], "model.11", axis=1)
    h4 = c2f(net, x, 384, 128, 1, False, "model.12")
    x = net.op("Concat", [upsample(net, h4, "model.13"), p3], "model.14", axis=1)
    out3 = c2f(net, x, 192, 64, 1, False, "model.15")
    x = net.op("Concat", [yolo_conv(net, out3, 64, 64, 3, "model.16", s=2), h4], "model.17", axis=1)
    out4 = c2f(net, x, 192, 128, 1, False, "model.18")
    x = net.op("Concat", [yolo_conv(net, out4, 128, 128, 3, "model.19", s=2), p5], "model.20", axis=1)
    out5 = c2f(net, x, 384, 256, 1, False, "model.21")
    y = detect(net, [out3, out4, out5], [64, 128, 256], "model.22")
    anchors = sum((YOLO_SIZE // s) ** 2 for s in YOLO_STRIDES)
    return net, net.finish([1, 3, YOLO_SIZE, YOLO_SIZE], y, [1, 4 + CLASSES, anchors])


def detect(net: Net, xs: list[str], chs: list[int], name: str) -> str:
    c2, c3 = max(16, chs[0] // 4, REG_MAX * 4), max(chs[0], min(CLASSES, 100))
    no = 4 * REG_MAX + CLASSES
    flat = []
    for i, (x, ch) in enumerate(zip(xs, chs)):
        box = yolo_conv(net, x, ch, c2, 3, f"{name}.cv2.{i}.0")
        box = yolo_conv(net, box, c2, c2, 3, f"{name}.cv2.{i}.1")
        box = net.conv(box, c2, 4 * REG_MAX, 1, f"{name}.cv2.{i}.2", bias=True, target_std=2.0)
        cls = yolo_conv(net, x, ch, c3, 3, f"{name}.cv3.{i}.0")
        cls = yolo_conv(net, cls, c3, c3, 3, f"{name}.cv3.{i}.1")
        cls = net.conv(cls, c3, CLASSES, 1, f"{name}.cv3.{i}.2", bias=True, target_std=2.0)
        level = net.op("Concat", [box, cls], f"{name}.concat.{i}", axis=1)
        shape = net.const(f"shape_1_{no}_-1", np.array([1, no, -1], np.int64))
        flat.append(net.op("Reshape", [level, shape], f"{name}.reshape.{i}"))
    x = net.op("Concat", flat, f"{name}.concat", axis=2)
    box = slice_channels(net, x, 0, 4 * REG_MAX, f"{name}.box")
    cls = slice_channels(net, x, 4 * REG_MAX, no, f"{name}.cls")
    dbox = dist2bbox(net, dfl(net, box, f"{name}.dfl"), f"{name}.bbox")
    strides = net.init(f"{name}.strides", anchor_grid()[1])
    dbox = net.op("Mul", [dbox, strides], f"{name}.scale")
    return net.op("Concat", [dbox, net.op("Sigmoid", [cls], f"{name}.sigmoid")], f"{name}.output", axis=1)


def slice_channels(net: Net, x: str, start: int, end: int, name: str) -> str:
    starts = net.init(f"{name}.starts", np.array([start], np.int64))
    ends = net.init(f"{name}.ends", np.array([end], np.int64))
    axes = net.const("axes_1", np.array([1], np.int64))
    steps = net.const("steps_1", np.array([1], np.int64))
    return net.op("Slice", [x, starts, ends, axes, steps], name)


def dfl(net: Net, box: str, name: str) -> str:
    """Distribution focal loss decoding: the expected bin of a softmax over REG_MAX bins."""
    x = net.op("Reshape", [box, net.init(f"{name}.shape0", np.array([1, 4, REG_MAX, -1], np.int64))], f"{name}.reshape0")
    x = net.op("Transpose", [x], f"{name}.transpose", perm=[0, 2, 1, 3])
    x = net.op("Softmax", [x], f"{name}.softmax", axis=1)
    w = net.init(f"{name}.conv.weight", np.arange(REG_MAX, dtype=np.float32).reshape(1, REG_MAX, 1, 1))
    x = net.op("Conv", [x, w], f"{name}.conv", kernel_shape=[1, 1], strides=[1, 1], pads=[0, 0, 0, 0],
               dilations=[1, 1], group=1)
    return net.op("Reshape", [x, net.init(f"{name}.shape1", np.array([1, 4, -1], np.int64))], f"{name}.reshape1")


def anchor_grid() -> tuple[np.ndarray, np.ndarray]:
    """ultralytics make_anchors: cell centres (1, 2, A) in grid units, strides (1, A)."""
    points, strides = [], []
    for s in YOLO_STRIDES:
        n = YOLO_SIZE // s
        sy, sx = np.meshgrid(np.arange(n) + 0.5, np.arange(n) + 0.5, indexing="ij")
        points.append(np.stack([sx.ravel(), sy.ravel()]))
        strides.append(np.full(n * n, s))
    return (np.concatenate(points, 1)[None].astype(np.float32),
            np.concatenate(strides)[None].astype(np.float32))


def dist2bbox(net: Net, dist: str, name: str) -> str:
    anchors = net.init(f"{name}.anchors", anchor_grid()[0])
    lt = slice_channels(net, dist, 0, 2, f"{name}.lt")
    rb = slice_channels(net, dist, 2, 4, f"{name}.rb")
    x1y1 = net.op("Sub", [anchors, lt], f"{name}.x1y1")
    x2y2 = net.op("Add", [anchors, rb], f"{name}.x2y2")
    two = net.const("two", np.array(2.0, np.float32))
    cxy = net.op("Div", [net.op("Add", [x1y1, x2y2], f"{name}.sum"), two], f"{name}.cxy")
    wh = net.op("Sub", [x2y2, x1y1], f"{name}.wh")
    return net.op("Concat", [cxy, wh], f"{name}.concat", axis=1)


# ------------------------------------------------------------------------------------------------
# torchvision SqueezeNet 1.1 (biased convs, no BatchNorm; Dropout is absent at inference)
# ------------------------------------------------------------------------------------------------
def ceil_maxpool(net: Net, x: str, name: str) -> str:
    return net.op("MaxPool", [x], name, kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 0, 0],
                  ceil_mode=1, dilations=[1, 1])


def squeezenet1_1() -> tuple[Net, onnx.ModelProto]:
    net = Net("squeezenet1_1")
    x = net.relu(net.conv("input", 3, 64, 3, "features.0", s=2, bias=True, pad=0), "features.1")
    x = ceil_maxpool(net, x, "features.2")
    cin = 64
    # torchvision's features[3:]: Fire(squeeze, expand) or "M", a ceil-mode MaxPool.
    for idx, layer in enumerate([(16, 64), (16, 64), "M", (32, 128), (32, 128), "M", (48, 192), (48, 192),
                                 (64, 256), (64, 256)], start=3):
        if layer == "M":
            x = ceil_maxpool(net, x, f"features.{idx}")
        else:
            x = fire(net, x, cin, *layer, f"features.{idx}")
            cin = 2 * layer[1]
    x = net.conv(x, cin, 1000, 1, "classifier.1", bias=True, target_std=3.0)
    x = net.op("GlobalAveragePool", [net.relu(x, "classifier.2")], "classifier.3")
    y = net.op("Flatten", [x], "flatten", axis=1)
    return net, net.finish([1, 3, 224, 224], y, [1, 1000])


def fire(net: Net, x: str, cin: int, squeeze: int, expand: int, name: str) -> str:
    s = net.relu(net.conv(x, cin, squeeze, 1, f"{name}.squeeze", bias=True), f"{name}.squeeze_activation")
    e1 = net.relu(net.conv(s, squeeze, expand, 1, f"{name}.expand1x1", bias=True), f"{name}.expand1x1_activation")
    e3 = net.relu(net.conv(s, squeeze, expand, 3, f"{name}.expand3x3", bias=True), f"{name}.expand3x3_activation")
    return net.op("Concat", [e1, e3], f"{name}.concat", axis=1)


# ------------------------------------------------------------------------------------------------
# torchvision ShuffleNetV2 1.0x
# ------------------------------------------------------------------------------------------------
def shufflenet_v2_x1_0() -> tuple[Net, onnx.ModelProto]:
    net = Net("shufflenet_v2_x1_0")
    x = net.conv_bn_act("input", 3, 24, 3, "conv1", "relu", s=2)
    x = net.op("MaxPool", [x], "maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
               ceil_mode=0, dilations=[1, 1])
    cin, hw = 24, 56
    for stage, (repeats, cout) in enumerate([(4, 116), (8, 232), (4, 464)], start=2):
        hw //= 2
        for i in range(repeats):
            x = shuffle_block(net, x, cin, cout, 2 if i == 0 else 1, hw, f"stage{stage}.{i}")
            cin = cout
    x = net.conv_bn_act(x, cin, 1024, 1, "conv5", "relu")
    pooled = net.op("ReduceMean", [x], "mean", axes=[2, 3], keepdims=0)
    y = net.fc(pooled, 1024, 1000)
    return net, net.finish([1, 3, 224, 224], y, [1, 1000])


def shuffle_block(net: Net, x: str, cin: int, cout: int, s: int, hw: int, name: str) -> str:
    """torchvision's InvertedResidual: both branches at stride 2, else Split (x.chunk(2, dim=1))
    and branch2 on the second half; then the channel shuffle of the Concat."""
    c = cout // 2
    if s == 1:
        split = net.const(f"split_{c}_{c}", np.array([c, c], np.int64))
        left, right = net.node("Split", [x, split], f"{name}.chunk", n_out=2, axis=1)
        b2_in = c
    else:
        left = net.conv_bn_act(x, cin, cin, 3, f"{name}.branch1.0", None, s=s, groups=cin)
        left = net.conv_bn_act(left, cin, c, 1, f"{name}.branch1.2", "relu")
        right, b2_in = x, cin
    y = net.conv_bn_act(right, b2_in, c, 1, f"{name}.branch2.0", "relu")
    y = net.conv_bn_act(y, c, c, 3, f"{name}.branch2.3", None, s=s, groups=c)
    y = net.conv_bn_act(y, c, c, 1, f"{name}.branch2.5", "relu")
    return channel_shuffle(net, net.op("Concat", [left, y], f"{name}.concat", axis=1), cout, hw, f"{name}.shuffle")


def channel_shuffle(net: Net, x: str, c: int, hw: int, name: str) -> str:
    """view(N, 2, C/2, H, W) -> transpose(1, 2) -> view(N, C, H, W), as the exporter writes it."""
    grouped = net.const(f"shape_1_2_{c // 2}_{hw}_{hw}", np.array([1, 2, c // 2, hw, hw], np.int64))
    flat = net.const(f"shape_1_{c}_{hw}_{hw}", np.array([1, c, hw, hw], np.int64))
    y = net.op("Reshape", [x, grouped], f"{name}.reshape0")
    y = net.op("Transpose", [y], f"{name}.transpose", perm=[0, 2, 1, 3, 4])
    return net.op("Reshape", [y, flat], f"{name}.reshape1")


# ------------------------------------------------------------------------------------------------
# DenseNet-121-style (torchvision DenseNet: growth 32, bn_size 4, 64 stem features, compression
# 0.5) with DENSE_BLOCKS layers per block instead of DenseNet-121's (6, 12, 24, 16)
# ------------------------------------------------------------------------------------------------
DENSE_BLOCKS = (6, 6, 6, 4)
GROWTH = 32
BN_SIZE = 4


def densenet_style() -> tuple[Net, onnx.ModelProto]:
    net = Net("densenet_style")
    x = net.conv_bn_act("input", 3, 64, 7, "features.conv0", "relu", s=2)
    x = net.op("MaxPool", [x], "features.pool0", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
               ceil_mode=0, dilations=[1, 1])
    c = 64
    for b, layers in enumerate(DENSE_BLOCKS, start=1):
        x, c = dense_block(net, x, c, layers, f"features.denseblock{b}")
        if b < len(DENSE_BLOCKS):
            x = pre_act_conv(net, x, c, c // 2, 1, f"features.transition{b}")
            x = net.op("AveragePool", [x], f"features.transition{b}.pool", kernel_shape=[2, 2], strides=[2, 2],
                       pads=[0, 0, 0, 0], ceil_mode=0, count_include_pad=1)
            c //= 2
    x = net.relu(net.bn(x, c, "features.norm5", 1e-5), "relu5")
    y = net.classifier(x, c, 1000)
    return net, net.finish([1, 3, 224, 224], y, [1, 1000])


def pre_act_conv(net: Net, x: str, cin: int, cout: int, k: int, name: str) -> str:
    """BN -> ReLU -> Conv (no bias): DenseNet's pre-activation order."""
    return net.conv(net.relu(net.bn(x, cin, f"{name}.norm", 1e-5), f"{name}.relu"), cin, cout, k, f"{name}.conv")


def dense_block(net: Net, x: str, cin: int, layers: int, name: str) -> tuple[str, int]:
    """Each layer reads the Concat of every earlier feature map of the block (layer 0 a Concat of
    one tensor: torch.cat of a one-element list); the block returns the Concat of all of them."""
    features = [x]
    for i in range(layers):
        cat = net.op("Concat", list(features), f"{name}.denselayer{i + 1}.cat", axis=1)
        c = cin + i * GROWTH
        y = pre_act_conv(net, cat, c, BN_SIZE * GROWTH, 1, f"{name}.denselayer{i + 1}.1")
        features.append(pre_act_conv(net, y, BN_SIZE * GROWTH, GROWTH, 3, f"{name}.denselayer{i + 1}.2"))
    return net.op("Concat", features, f"{name}.cat", axis=1), cin + layers * GROWTH


BUILDERS = {"mobilenetv2": mobilenetv2, "resnet18": resnet18, "efficientnet_b0": efficientnet_b0,
            "yolov8n": yolov8n, "squeezenet1_1": squeezenet1_1, "shufflenet_v2_x1_0": shufflenet_v2_x1_0,
            "densenet_style": densenet_style}


# ------------------------------------------------------------------------------------------------
# calibration, reference, files
# ------------------------------------------------------------------------------------------------
def session(model: onnx.ModelProto, reference: bool):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    if reference:
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def lsuv(net: Net, model: onnx.ModelProto, x: np.ndarray) -> None:
    """Rescales each calibrated weight (in topological order) so its output has the target std,
    then writes the rescaled weights back into `model`."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    g = probe.graph
    names = {w for w, _, _ in net.calibrated}
    keep = [t for t in g.initializer if t.name not in names]
    del g.initializer[:]
    g.initializer.extend(keep)
    for w, y, _ in net.calibrated:
        g.input.append(helper.make_tensor_value_info(w, TensorProto.FLOAT, list(net.inits[w].shape)))
        g.output.append(helper.make_tensor_value_info(y, TensorProto.FLOAT, None))
    sess = session(probe, reference=False)
    for w, y, target in net.calibrated:
        feeds = {"input": x, **{name: net.inits[name] for name in names}}
        (out,) = sess.run([y], feeds)
        std = float(out.std())
        if not np.isfinite(std) or std == 0.0:
            raise SystemExit(f"{net.name}: output of {y} has std {std}")
        net.inits[w] = (net.inits[w] * (target / std)).astype(np.float32)
    for t in model.graph.initializer:
        if t.name in names:
            t.CopyFrom(numpy_helper.from_array(net.inits[t.name], t.name))


def keep_logits_off_zero(net: Net, model: onnx.ModelProto, x: np.ndarray) -> None:
    """Moves `fc.bias` of each class whose logit is within LOGIT_MARGIN of 0 by 2 * LOGIT_MARGIN
    away from 0 (the logit moves by exactly that: the bias is its last addend)."""
    if "fc.bias" not in net.inits:
        return
    (z,) = session(model, reference=True).run(None, {"input": x})
    near = np.abs(z[0]) < LOGIT_MARGIN
    shift = np.where(z[0] < 0, -2 * LOGIT_MARGIN, 2 * LOGIT_MARGIN).astype(np.float32)
    net.inits["fc.bias"] = net.inits["fc.bias"] + np.where(near, shift, 0).astype(np.float32)
    for t in model.graph.initializer:
        if t.name == "fc.bias":
            t.CopyFrom(numpy_helper.from_array(net.inits["fc.bias"], "fc.bias"))


def seeded_input(name: str, shape: list[int]) -> np.ndarray:
    rng = np.random.default_rng(zlib.crc32(f"{name}/input".encode()))
    if name == "yolov8n":  # an image scaled to [0, 1], as ultralytics feeds it
        return rng.random(shape, dtype=np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def census(model: onnx.ModelProto) -> Counter:
    return Counter(n.op_type for n in model.graph.node)


def write_model(name: str, out_dir: Path) -> onnx.ModelProto:
    """Builds, calibrates and writes one model with its input and reference output."""
    net, model = BUILDERS[name]()
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    x = seeded_input(name, dims)
    lsuv(net, model, x)
    keep_logits_off_zero(net, model, x)
    (y,) = session(model, reference=True).run(None, {"input": x})
    if not np.all(np.isfinite(y)) or float(y.std()) < 1e-2:
        raise SystemExit(f"{name}: reference output is degenerate (std {y.std()})")
    if "fc.bias" in net.inits and np.abs(y).min() < 0.9 * LOGIT_MARGIN:
        raise SystemExit(f"{name}: a logit is still near zero ({np.abs(y).min():.3g})")
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out_dir / "model.onnx"))
    np.save(out_dir / "input.npy", x)
    np.save(out_dir / "output_0.npy", y)
    return model


def describe(name: str, model: onnx.ModelProto, y: np.ndarray) -> str:
    c = census(model)
    ops = ", ".join(f"{k} {v}" for k, v in sorted(c.items()))
    return (f"{name}: {sum(c.values())} nodes, Conv {c['Conv']}, Gemm {c['Gemm']}; output {list(y.shape)} "
            f"std {y.std():.3g} max|y| {np.abs(y).max():.3g}\n  {ops}")


def main() -> None:
    default = Path(os.environ.get("KILN_TEST_DATA", ROOT / "target" / "test-data")) / "bench"
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("out", nargs="?", default=str(default), help="output directory (default: %(default)s)")
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of " + ", ".join(MODELS))
    args = p.parse_args()
    for name in args.models.split(","):
        if name not in BUILDERS:
            sys.exit(f"error: unknown model '{name}' (known: {', '.join(MODELS)})")
        t0 = time.time()
        model = write_model(name, Path(args.out) / name)
        y = np.load(Path(args.out) / name / "output_0.npy")
        print(f"{describe(name, model, y)}\n  written in {time.time() - t0:.1f}s", flush=True)


if __name__ == "__main__":
    main()
