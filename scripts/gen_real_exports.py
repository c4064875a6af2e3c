#!/usr/bin/env python3
"""The `real_exports` test category: small models written the way real exporters write them.

Why: importers break on exporter idioms, not on op semantics. PyTorch's TorchScript exporter
emits a `Constant` node per scalar and `Shape -> Gather -> Unsqueeze -> Concat -> Reshape` chains;
its dynamo exporter puts weights in a side file and modules in model-local functions; paddle2onnx
computes shapes in int64 through `Cast` chains; tf2onnx wraps NCHW convs in NHWC `Transpose`s;
ultralytics decodes boxes in the graph. Only onnx, onnxruntime and numpy are available (no torch,
tf or paddle), so each model is written with `onnx.helper` in the shape its exporter produces;
each builder's docstring lists the idioms it reproduces.

Sizes are small (64 px images, 8-112 channels, 2 encoder layers of hidden 64) so the whole
category runs in seconds. Weights are drawn from a generator seeded by the model name (He normal
for convolutions, positive BatchNorm variances), inputs likewise; the reference outputs are
onnxruntime's (CPU, one thread, graph optimizations disabled: the plain operator semantics), and
the generator refuses near-constant outputs so the test keeps its teeth.

Layout (the one `scripts/gen_test_data.py` writes and `tests/common/suite.rs` reads):

    real_exports/<model>/model.onnx (+ model.onnx.data for external weights)
    real_exports/<model>/test_data_set_0/{input,output}_N.pb
    real_exports/manifest.json, real_exports/.stamp

Deterministic: the same bytes on every run. Regenerated only when this script, the Python pins
(scripts/requirements.txt) or the onnx or onnxruntime versions change (the stamp). Run through `scripts/gen-test-data.sh`, or directly:

    gen_real_exports.py [--out target/test-data] [--force]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_test_data as gtd  # noqa: E402  (manifest format, .pb writing, stamps)

CATEGORY = "real_exports"
BN_PARAMS = ("weight", "bias", "running_mean", "running_var")
F32 = TensorProto.FLOAT
I64 = TensorProto.INT64
DYNAMO_DOMAIN = "pkg.torch.2.5.1+cu121"
TORCHLIB_DOMAIN = "pkg.onnxscript.torch_lib"


def log(msg: str) -> None:
    print(f"[gen-real-exports] {msg}", flush=True)


# ------------------------------------------------------------------------------------------------
# A graph under construction, with exporter-specific naming
# ------------------------------------------------------------------------------------------------
class Net:
    """Nodes, initializers and value names of one graph (or function body).

    `style` picks the exporter's naming: "torch" (`/features/features.0/Conv`, outputs
    `..._output_0`), "dynamo" (`node_Conv_3`, outputs `conv_3`), "tf" (`model/conv1/Conv2D`,
    outputs `...:0`), "paddle" (`conv2d_3`, outputs `conv2d_3.tmp_0`), "yolo" (like torch).
    """

    def __init__(self, name: str, style: str, rng=None):
        self.rng = rng if rng is not None else np.random.default_rng(zlib.crc32(name.encode()))
        self.style = style
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.counts: dict[str, int] = {}
        self.onnx_ids = 100

    def unique(self, base: str) -> str:
        n = self.counts.get(base, 0)
        self.counts[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    def names(self, op: str, scope: str, n_out: int) -> tuple[str, list[str]]:
        if self.style in ("torch", "yolo"):
            name = self.unique(f"/{scope}/{op}" if scope else f"/{op}")
            return name, [f"{name}_output_{i}" for i in range(n_out)]
        if self.style == "tf":
            name = self.unique(f"{scope}/{op}")
            return name, [f"{name}:{i}" for i in range(n_out)]
        if self.style == "paddle":
            name = self.unique(f"p2o.{op}")
            base = self.unique(f"{scope or op.lower()}")
            return name, [f"{base}.tmp_{i}" for i in range(n_out)]
        name = self.unique(f"node_{op}")
        base = self.unique(scope or op.lower())
        return name, [base if n_out == 1 else f"{base}_{i}" for i in range(n_out)]

    def node(self, op: str, inputs: list[str], scope: str = "", n_out: int = 1, domain: str = "",
             **attrs) -> list[str]:
        name, outs = self.names(op, scope, n_out)
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, domain=domain, **attrs))
        return outs

    def op(self, op: str, inputs: list[str], scope: str = "", **attrs) -> str:
        return self.node(op, inputs, scope, **attrs)[0]

    def const(self, value, scope: str = "", dtype=np.float32) -> str:
        """A `Constant` node (TorchScript writes one per scalar and per shape list, as a tensor;
        onnxscript, behind dynamo, as `value_float`/`value_int`/`value_ints`)."""
        a = np.asarray(value, dtype=dtype)
        if self.style == "dynamo" and a.ndim == 0:
            attr = {"value_float": float(a)} if a.dtype == np.float32 else {"value_int": int(a)}
            return self.op("Constant", [], scope, **attr)
        if self.style == "dynamo" and a.ndim == 1 and a.dtype == np.int64:
            return self.op("Constant", [], scope, value_ints=[int(v) for v in a])
        return self.op("Constant", [], scope, value=numpy_helper.from_array(a))

    def init(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def onnx_init(self, op: str, value: np.ndarray) -> str:
        """A TorchScript folded-constant name: `onnx::Conv_123`."""
        self.onnx_ids += 1
        return self.init(f"onnx::{op}_{self.onnx_ids}", value)

    def normal(self, shape, std: float) -> np.ndarray:
        return (self.rng.standard_normal(shape) * std).astype(np.float32)

    def uniform(self, shape, lo: float, hi: float) -> np.ndarray:
        return self.rng.uniform(lo, hi, shape).astype(np.float32)

    def conv_weight(self, cout: int, cin: int, k: int, groups: int = 1, gain: float = 2.0) -> np.ndarray:
        return self.normal((cout, cin // groups, k, k), np.sqrt(gain / (cin // groups * k * k)))

    def bn_params(self, c: int) -> list[np.ndarray]:
        """scale, bias, mean, var (var positive)."""
        return [self.uniform((c,), 0.5, 1.5), self.normal((c,), 0.1), self.normal((c,), 0.1),
                self.uniform((c,), 0.5, 1.5)]


def conv_attrs(k: int, s: int = 1, groups: int = 1, pads=None) -> dict:
    p = k // 2
    return dict(kernel_shape=[k, k], strides=[s, s], pads=pads if pads is not None else [p, p, p, p],
                dilations=[1, 1], group=groups)


def vi(name: str, elem: int, dims: list) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, dims)


def make_model(net: Net, name: str, inputs, outputs, opset: int, producer: tuple[str, str],
               extra_opsets=(), functions=(), value_info=(), ir_version: int = 8,
               doc: str = "", metadata: dict | None = None) -> onnx.ModelProto:
    graph = helper.make_graph(net.nodes, name, inputs, outputs, net.inits, value_info=list(value_info))
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
    model = helper.make_model(graph, opset_imports=opsets, functions=list(functions),
                              producer_name=producer[0], producer_version=producer[1], doc_string=doc)
    model.ir_version = ir_version
    for k, v in (metadata or {}).items():
        model.metadata_props.add(key=k, value=v)
    return model


# ------------------------------------------------------------------------------------------------
# PyTorch TorchScript exporter (opset 17)
# ------------------------------------------------------------------------------------------------
def torch_flatten_chain(net: Net, x: str, scope: str) -> str:
    """`x.view(x.size(0), -1)` as TorchScript writes it: Shape -> Gather(0) -> Unsqueeze ->
    Concat with a Constant [-1] -> Reshape."""
    shape = net.op("Shape", [x], scope)
    batch = net.op("Gather", [shape, net.const(0, scope, np.int64)], scope, axis=0)
    batch1 = net.op("Unsqueeze", [batch, net.const([0], scope, np.int64)], scope)
    target = net.op("Concat", [batch1, net.const([-1], scope, np.int64)], scope, axis=0)
    return net.op("Reshape", [x, target], scope, allowzero=0)


def torch_relu6(net: Net, x: str, scope: str) -> str:
    """ReLU6 as Clip with min/max from Constant nodes."""
    return net.op("Clip", [x, net.const(0.0, scope), net.const(6.0, scope)], scope)


def ts_conv(net: Net, x: str, cin: int, cout: int, k: int, scope: str, s: int = 1, groups: int = 1) -> str:
    """Conv with BatchNorm folded in by the exporter: weight and bias are `onnx::Conv_N`."""
    w = net.onnx_init("Conv", net.conv_weight(cout, cin, k, groups))
    b = net.onnx_init("Conv", net.normal((cout,), 0.1))
    return net.op("Conv", [x, w, b], scope, **conv_attrs(k, s, groups))


def mobilenetv2_torchscript() -> tuple[onnx.ModelProto, dict]:
    """torchvision MobileNetV2 (width-reduced) through `torch.onnx.export(opset_version=17)`.

    Idioms: BN folded into Conv (weights named `onnx::Conv_N`), ReLU6 as `Clip` whose min/max are
    `Constant` node outputs, node names `/features/features.1/conv/conv.0/conv.0.0/Conv`, an
    `Identity` (a shared weight), the classifier flattened with `Shape -> Gather -> Unsqueeze ->
    Concat -> Reshape` (`x.view(x.size(0), -1)`) after `GlobalAveragePool`, `Gemm(transB=1)`,
    the dynamic batch dim `batch_size`, a doc_string and metadata_props.
    """
    net = Net("mobilenetv2_torchscript", "torch")
    x = torch_relu6(net, ts_conv(net, "input", 3, 16, 3, "features/features.0/features.0.0", s=2),
                    "features/features.0/features.0.2")
    cin = 16
    for i, (t, c, s) in enumerate([(1, 8, 1), (6, 16, 2), (6, 16, 1), (6, 24, 2)], start=1):
        scope = f"features/features.{i}/conv"
        hidden, y, j = cin * t, x, 0
        if t != 1:
            y = ts_conv(net, y, cin, hidden, 1, f"{scope}/conv.0/conv.0.0")
            y = torch_relu6(net, y, f"{scope}/conv.0/conv.0.2")
            j = 1
        y = torch_relu6(net, ts_conv(net, y, hidden, hidden, 3, f"{scope}/conv.{j}/conv.{j}.0", s=s, groups=hidden),
                        f"{scope}/conv.{j}/conv.{j}.2")
        y = ts_conv(net, y, hidden, c, 1, f"{scope}/conv.{j + 1}")
        x = net.op("Add", [x, y], f"features/features.{i}") if s == 1 and cin == c else y
        cin = c
    x = ts_conv(net, x, cin, 64, 1, "features/features.5/features.5.0")
    x = torch_relu6(net, x, "features/features.5/features.5.2")
    x = net.op("GlobalAveragePool", [x], "")
    x = torch_flatten_chain(net, x, "")
    w = net.init("classifier.1.weight", net.normal((10, 64), np.sqrt(3.0 / 64)))
    w_shared = net.op("Identity", [w], "classifier/classifier.1")
    b = net.init("classifier.1.bias", net.normal((10,), 0.1))
    net.nodes.append(helper.make_node("Gemm", [x, w_shared, b], ["output"], name="/classifier/classifier.1/Gemm",
                                      alpha=1.0, beta=1.0, transB=1))
    model = make_model(net, "main_graph", [vi("input", F32, ["batch_size", 3, 64, 64])],
                       [vi("output", F32, ["batch_size", 10])], 17, ("pytorch", "2.1.0"),
                       doc="MobileNetV2 exported by torch.onnx.export", metadata={"framework": "pytorch"})
    rng = np.random.default_rng(1)
    return model, {"input": rng.standard_normal((2, 3, 64, 64)).astype(np.float32)}


def resnet_torchscript() -> tuple[onnx.ModelProto, dict]:
    """torchvision ResNet (two BasicBlocks) through `torch.onnx.export(opset_version=17,
    training=TrainingMode.PRESERVE, do_constant_folding=False)`.

    Idioms: Conv without bias followed by an unfolded `BatchNormalization` (weights named
    `layer1.0.bn1.running_var`), `Relu`, `MaxPool` with `ceil_mode=0`, a downsample branch
    (1x1 Conv stride 2 + BN), residual `Add`, `GlobalAveragePool`, `Flatten(axis=1)`
    (`torch.flatten(x, 1)`), `Gemm(transB=1)`, an `Identity` on the output, dynamic
    `batch_size`, ir_version 8 with the initializers also listed as graph inputs (`keep_initializers_as_inputs=True`).
    """
    net = Net("resnet_torchscript", "torch")

    def conv_bn(x: str, cin: int, cout: int, k: int, conv: str, bn: str, s: int = 1) -> str:
        w = net.init(f"{conv}.weight", net.conv_weight(cout, cin, k))
        y = net.op("Conv", [x, w], conv, **conv_attrs(k, s))
        params = [net.init(f"{bn}.{p}", v) for p, v in zip(BN_PARAMS, net.bn_params(cout))]
        return net.op("BatchNormalization", [y, *params], bn, epsilon=1e-5, momentum=0.9)

    x = net.op("Relu", [conv_bn("input", 3, 16, 7, "conv1", "bn1", s=2)], "relu")
    x = net.op("MaxPool", [x], "maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=0)
    for i, (cin, cout, s) in enumerate([(16, 16, 1), (16, 32, 2)]):
        scope = f"layer{i + 1}/layer{i + 1}.0"
        p = f"layer{i + 1}.0"
        y = net.op("Relu", [conv_bn(x, cin, cout, 3, f"{p}.conv1", f"{p}.bn1", s)], f"{scope}/relu")
        y = conv_bn(y, cout, cout, 3, f"{p}.conv2", f"{p}.bn2")
        if s != 1 or cin != cout:
            x = conv_bn(x, cin, cout, 1, f"{p}.downsample.0", f"{p}.downsample.1", s)
        x = net.op("Relu", [net.op("Add", [y, x], scope)], f"{scope}/relu_1")
    x = net.op("Flatten", [net.op("GlobalAveragePool", [x], "avgpool")], "", axis=1)
    w = net.init("fc.weight", net.normal((10, 32), np.sqrt(3.0 / 32)))
    b = net.init("fc.bias", net.normal((10,), 0.1))
    y = net.op("Gemm", [x, w, b], "fc", alpha=1.0, beta=1.0, transB=1)
    net.nodes.append(helper.make_node("Identity", [y], ["output"], name="/Identity"))
    inputs = [vi("input", F32, ["batch_size", 3, 64, 64])]
    inputs += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in net.inits]
    model = make_model(net, "main_graph", inputs, [vi("output", F32, ["batch_size", 10])], 17,
                       ("pytorch", "2.1.0"), ir_version=7, doc="ResNet exported by torch.onnx.export")
    rng = np.random.default_rng(2)
    return model, {"input": rng.standard_normal((1, 3, 64, 64)).astype(np.float32)}


# ------------------------------------------------------------------------------------------------
# PyTorch dynamo exporter (opset 18, external data, model-local functions)
# ------------------------------------------------------------------------------------------------
class Fn:
    """A model-local function under construction (a module of the dynamo exporter)."""

    def __init__(self, parent: Net, name: str, domain: str, inputs: list[str]):
        self.net = Net(name, "dynamo", rng=parent.rng)
        self.name, self.domain, self.inputs = name, domain, inputs

    def finish(self, outputs: list[str], opset: int = 18, attributes=()) -> onnx.FunctionProto:
        return helper.make_function(self.domain, self.name, self.inputs, outputs, self.net.nodes,
                                    [helper.make_opsetid("", opset), helper.make_opsetid(self.domain, 1)],
                                    attributes=list(attributes))


def dynamo_functions_efficientnet() -> list[onnx.FunctionProto]:
    """The module functions: SiLU (torch_lib), Conv2dNormActivation, SqueezeExcitation, MBConv
    (which calls the other three: nested), Dropout."""
    dummy = Net("efficientnet_functions", "dynamo")
    silu = Fn(dummy, "aten_silu", TORCHLIB_DOMAIN, ["self"])
    silu_out = silu.net.op("Mul", ["self", silu.net.op("Sigmoid", ["self"], "sigmoid")], "silu")
    fns = [silu.finish([silu_out])]

    # Conv2dNormActivation(x, weight, bn...) with the stride and group as attribute parameters.
    cna = Fn(dummy, "torchvision_ops_misc_Conv2dNormActivation", DYNAMO_DOMAIN,
             ["x", "weight", "bn_weight", "bn_bias", "bn_mean", "bn_var"])
    conv = helper.make_node("Conv", ["x", "weight"], ["convolution"], name="node_Conv_0", pads=[1, 1, 1, 1],
                            kernel_shape=[3, 3], dilations=[1, 1])
    for attr in ("strides", "group"):
        conv.attribute.append(helper.make_attribute_ref(attr, onnx.AttributeProto.INTS if attr == "strides"
                                                        else onnx.AttributeProto.INT))
    cna.net.nodes.append(conv)
    bn = cna.net.op("BatchNormalization", ["convolution", "bn_weight", "bn_bias", "bn_mean", "bn_var"],
                    "_native_batch_norm_legit_no_training", epsilon=1e-3, momentum=0.9, training_mode=0)
    act = cna.net.op("aten_silu", [bn], "silu", domain=TORCHLIB_DOMAIN)
    fn = cna.finish([act], attributes=["strides", "group"])
    fn.opset_import.append(helper.make_opsetid(TORCHLIB_DOMAIN, 1))
    fns.append(fn)

    se = Fn(dummy, "torchvision_ops_misc_SqueezeExcitation", DYNAMO_DOMAIN, ["x", "w1", "b1", "w2", "b2"])
    n = se.net
    axes = n.const([-1, -2], "val_0", np.int64)
    pooled = n.op("ReduceMean", ["x", axes], "mean", keepdims=1)
    h = n.op("aten_silu", [n.op("Conv", [pooled, "w1", "b1"], "convolution", **conv_attrs(1))], "silu",
             domain=TORCHLIB_DOMAIN)
    g = n.op("Sigmoid", [n.op("Conv", [h, "w2", "b2"], "convolution_1", **conv_attrs(1))], "sigmoid")
    fn = se.finish([n.op("Mul", [g, "x"], "mul")])
    fn.opset_import.append(helper.make_opsetid(TORCHLIB_DOMAIN, 1))
    fns.append(fn)

    mb = Fn(dummy, "torchvision_models_efficientnet_MBConv", DYNAMO_DOMAIN,
            ["x", "dw_w", "dw_s", "dw_b", "dw_m", "dw_v", "se_w1", "se_b1", "se_w2", "se_b2",
             "pj_w", "pj_s", "pj_b", "pj_m", "pj_v"])
    n = mb.net
    dw = n.op("torchvision_ops_misc_Conv2dNormActivation", ["x", "dw_w", "dw_s", "dw_b", "dw_m", "dw_v"],
              "conv2d_norm_activation", domain=DYNAMO_DOMAIN, strides=[1, 1], group=16)
    s = n.op("torchvision_ops_misc_SqueezeExcitation", [dw, "se_w1", "se_b1", "se_w2", "se_b2"],
             "squeeze_excitation", domain=DYNAMO_DOMAIN)
    pj = n.op("Conv", [s, "pj_w"], "convolution", **conv_attrs(1))
    pj = n.op("BatchNormalization", [pj, "pj_s", "pj_b", "pj_m", "pj_v"], "_native_batch_norm_legit_no_training",
              epsilon=1e-3, momentum=0.9)
    out = n.op("Add", [pj, "x"], "add")
    fn = mb.finish([out])
    fn.opset_import.append(helper.make_opsetid(TORCHLIB_DOMAIN, 1))
    fns.append(fn)

    # nn.Dropout in eval mode: torch_lib's aten_dropout with ratio and training_mode inputs.
    do = Fn(dummy, "torch_nn_modules_dropout_Dropout", DYNAMO_DOMAIN, ["input"])
    n = do.net
    ratio = n.const(0.2, "val_p")
    train = n.op("Constant", [], "val_train", value=numpy_helper.from_array(np.array(False)))
    fns.append(do.finish([n.op("Dropout", ["input", ratio, train], "dropout")]))
    return fns


def efficientnet_dynamo() -> tuple[onnx.ModelProto, dict]:
    """EfficientNet-style network through `torch.onnx.export(..., dynamo=True)` (torch 2.5).

    Idioms: opset 18; weights in the side file `model.onnx.data` (external data); torchvision
    modules as model-local functions in domain `pkg.torch.2.5.1+cu121`, called from the main
    graph with their weights as inputs and nested (MBConv -> Conv2dNormActivation -> aten_silu of
    `pkg.onnxscript.torch_lib`), one with attribute parameters (`strides`, `group` as
    `ref_attr_name`); opset imports of several domains; `ReduceMean` with axes as an input;
    `BatchNormalization(training_mode=0)`; `Constant(value_ints)`; `value_info` for
    intermediates; the symbolic batch dim `s0`; eval-mode `Dropout` with ratio and
    training_mode inputs (in its own module function); the classifier as
    `Transpose(weight) -> MatMul -> Add`.
    """
    net = Net("efficientnet_dynamo", "dynamo")
    fns = dynamo_functions_efficientnet()

    def bn(prefix: str, c: int) -> list[str]:
        return [net.init(f"{prefix}.{p}", v) for p, v in zip(BN_PARAMS, net.bn_params(c))]

    def call(fn: str, inputs: list[str], scope: str, **attrs) -> str:
        return net.op(fn, inputs, scope, domain=DYNAMO_DOMAIN, **attrs)

    stem_w = net.init("features.0.0.weight", net.conv_weight(16, 3, 3))
    x = call("torchvision_ops_misc_Conv2dNormActivation", ["x", stem_w, *bn("features.0.1", 16)], "features_0",
             strides=[2, 2], group=1)
    for i in (1, 2):
        p = f"features.{i}.0.block"
        ins = [x, net.init(f"{p}.0.0.weight", net.conv_weight(16, 16, 3, groups=16)), *bn(f"{p}.0.1", 16),
               net.init(f"{p}.1.fc1.weight", net.conv_weight(4, 16, 1)),
               net.init(f"{p}.1.fc1.bias", net.normal((4,), 0.1)),
               net.init(f"{p}.1.fc2.weight", net.conv_weight(16, 4, 1, gain=1.0)),
               net.init(f"{p}.1.fc2.bias", net.normal((16,), 0.1)),
               net.init(f"{p}.2.0.weight", net.conv_weight(16, 16, 1, gain=1.0)), *bn(f"{p}.2.1", 16)]
        x = call("torchvision_models_efficientnet_MBConv", ins, f"features_{i}")
    head_w = net.init("features.3.0.weight", net.conv_weight(32, 16, 1))
    h = net.op("Conv", [x, head_w], "convolution", **conv_attrs(1))
    h = net.op("BatchNormalization", [h, *bn("features.3.1", 32)], "_native_batch_norm_legit_no_training",
               epsilon=1e-3, momentum=0.9, training_mode=0)
    h = net.op("aten_silu", [h], "silu", domain=TORCHLIB_DOMAIN)
    pooled = net.op("ReduceMean", [h, net.const([-1, -2], "val_3", np.int64)], "mean", keepdims=0)
    w = net.init("classifier.1.weight", net.normal((10, 32), np.sqrt(3.0 / 32)))
    wt = net.op("Transpose", [w], "t", perm=[1, 0])
    b = net.init("classifier.1.bias", net.normal((10,), 0.1))
    dropped = net.op("torch_nn_modules_dropout_Dropout", [pooled], "classifier_0", domain=DYNAMO_DOMAIN)
    mm = net.op("MatMul", [dropped, wt], "matmul")
    net.nodes.append(helper.make_node("Add", [mm, b], ["addmm"], name="node_Add_addmm"))
    value_info = [vi(x, F32, ["s0", 16, 32, 32]), vi(h, F32, ["s0", 32, 32, 32]), vi(pooled, F32, ["s0", 32])]
    model = make_model(net, "main_graph", [vi("x", F32, ["s0", 3, 64, 64])], [vi("addmm", F32, ["s0", 10])], 18,
                       ("pytorch", "2.5.1+cu121"), extra_opsets=[(DYNAMO_DOMAIN, 1), (TORCHLIB_DOMAIN, 1),
                                                                 ("pkg.onnxscript.torch_lib.common", 1)],
                       functions=fns, value_info=value_info, ir_version=10)
    rng = np.random.default_rng(3)
    return model, {"x": rng.standard_normal((1, 3, 64, 64)).astype(np.float32)}


# ------------------------------------------------------------------------------------------------
# ultralytics YOLOv8 (opset 17)
# ------------------------------------------------------------------------------------------------
class Yolo:
    """YOLOv8 layers as ultralytics exports them (BN fused into Conv, SiLU as Sigmoid x Mul)."""

    def __init__(self):
        self.net = Net("yolov8_ultralytics", "yolo")

    def conv(self, x: str, cin: int, cout: int, k: int, scope: str, s: int = 1, act: bool = True,
             gain: float = 2.0) -> str:
        n = self.net
        w = n.init(f"model.{scope[6:].replace('/', '.')}.weight", n.conv_weight(cout, cin, k, gain=gain))
        b = n.init(f"model.{scope[6:].replace('/', '.')}.bias", n.normal((cout,), 0.1))
        y = n.op("Conv", [x, w, b], f"{scope}/conv" if act else scope, **conv_attrs(k, s))
        if not act:
            return y
        return n.op("Mul", [y, n.op("Sigmoid", [y], f"{scope}/act")], f"{scope}/act")

    def c2f(self, x: str, cin: int, cout: int, scope: str, shortcut: bool) -> str:
        """cv1 -> Split in two -> one Bottleneck on the second half -> Concat(3 parts) -> cv2."""
        n, c = self.net, cout // 2
        y = self.conv(x, cin, 2 * c, 1, f"{scope}/cv1")
        split = n.op("Constant", [], scope, value=numpy_helper.from_array(np.array([c, c], np.int64)))
        a, b = n.node("Split", [y, split], scope, n_out=2, axis=1)
        m = self.conv(self.conv(b, c, c, 3, f"{scope}/m.0/cv1"), c, c, 3, f"{scope}/m.0/cv2")
        if shortcut:
            m = n.op("Add", [b, m], f"{scope}/m.0")
        cat = n.op("Concat", [a, b, m], scope, axis=1)
        return self.conv(cat, 3 * c, cout, 1, f"{scope}/cv2")

    def sppf(self, x: str, c: int, scope: str) -> str:
        n = self.net
        y = self.conv(x, c, c // 2, 1, f"{scope}/cv1")
        pools = [y]
        for i in range(3):
            pools.append(n.op("MaxPool", [pools[-1]], f"{scope}/m", kernel_shape=[5, 5], strides=[1, 1],
                              pads=[2, 2, 2, 2], ceil_mode=0, dilations=[1, 1]))
        return self.conv(n.op("Concat", pools, scope, axis=1), 2 * c, c, 1, f"{scope}/cv2")

    def upsample(self, x: str, scope: str) -> str:
        scales = self.net.const([1.0, 1.0, 2.0, 2.0], scope)
        return self.net.op("Resize", [x, "", scales], scope, coordinate_transformation_mode="asymmetric",
                           cubic_coeff_a=-0.75, mode="nearest", nearest_mode="floor")

    def detect_level(self, x: str, c: int, i: int) -> str:
        box = self.conv(self.conv(x, c, 16, 3, f"model.22/cv2.{i}/cv2.{i}.0"), 16, 16, 3, f"model.22/cv2.{i}/cv2.{i}.1")
        box = self.conv(box, 16, 64, 1, f"model.22/cv2.{i}/cv2.{i}.2", act=False, gain=8.0)
        cls = self.conv(self.conv(x, c, 32, 3, f"model.22/cv3.{i}/cv3.{i}.0"), 32, 32, 3, f"model.22/cv3.{i}/cv3.{i}.1")
        cls = self.conv(cls, 32, 80, 1, f"model.22/cv3.{i}/cv3.{i}.2", act=False, gain=1.0)
        return self.net.op("Concat", [box, cls], "model.22", axis=1)


def anchors_and_strides(sizes: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """ultralytics make_anchors: cell centres (x + 0.5, y + 0.5) per level, row-major."""
    pts, strides = [], []
    for (h, stride) in sizes:
        sy, sx = np.meshgrid(np.arange(h) + 0.5, np.arange(h) + 0.5, indexing="ij")
        pts.append(np.stack([sx, sy], -1).reshape(-1, 2))
        strides.append(np.full((h * h,), stride))
    return (np.concatenate(pts).T[None].astype(np.float32), np.concatenate(strides)[None].astype(np.float32))


def yolo_decode(y: Yolo, levels: list[str]) -> str:
    """The Detect head's export path: Reshape each level to [1, 144, -1], Concat, Split into box
    (64) and cls (80); DFL: Reshape [1,4,16,N] -> Transpose -> Softmax -> 1x1 Conv with weights
    0..15 -> Reshape [1,4,N]; dist2bbox: Slice lt/rb, Sub/Add anchors, Add/Div 2 and Sub, Concat,
    Mul by strides; Sigmoid on cls; Concat -> [1, 84, N]."""
    n = y.net
    flat = [n.op("Reshape", [lv, n.const([1, 144, -1], "model.22", np.int64)], "model.22", allowzero=0)
            for lv in levels]
    cat = n.op("Concat", flat, "model.22", axis=2)
    box, cls = n.node("Split", [cat, n.const([64, 80], "model.22", np.int64)], "model.22", n_out=2, axis=1)
    d = n.op("Reshape", [box, n.const([1, 4, 16, -1], "model.22/dfl", np.int64)], "model.22/dfl", allowzero=0)
    d = n.op("Softmax", [n.op("Transpose", [d], "model.22/dfl", perm=[0, 2, 1, 3])], "model.22/dfl", axis=1)
    dfl_w = n.init("model.22.dfl.conv.weight", np.arange(16, dtype=np.float32).reshape(1, 16, 1, 1))
    d = n.op("Conv", [d, dfl_w], "model.22/dfl/conv", **conv_attrs(1))
    dist = n.op("Reshape", [d, n.const([1, 4, -1], "model.22/dfl", np.int64)], "model.22/dfl", allowzero=0)
    anchors, strides = anchors_and_strides([(8, 8), (4, 16), (2, 32)])

    def sl(start: int, end: int) -> str:
        return n.op("Slice", [dist, n.const([start], "model.22", np.int64), n.const([end], "model.22", np.int64),
                              n.const([1], "model.22", np.int64)], "model.22")

    lt, rb = sl(0, 2), sl(2, 4)
    anc = n.init("/model.22/Constant_anchors", anchors)
    x1y1 = n.op("Sub", [anc, lt], "model.22")
    x2y2 = n.op("Add", [anc, rb], "model.22")
    c_xy = n.op("Div", [n.op("Add", [x1y1, x2y2], "model.22"), n.const(2.0, "model.22")], "model.22")
    wh = n.op("Sub", [x2y2, x1y1], "model.22")
    dbox = n.op("Mul", [n.op("Concat", [c_xy, wh], "model.22", axis=1), n.init("/model.22/Constant_strides", strides)],
                "model.22")
    probs = n.op("Sigmoid", [cls], "model.22")
    n.nodes.append(helper.make_node("Concat", [dbox, probs], ["output0"], name="/model.22/Concat_final", axis=1))
    return "output0"


def yolov8_ultralytics() -> tuple[onnx.ModelProto, dict]:
    """A YOLOv8n-shaped detector (64 px input, narrow) as `model.export(format="onnx", opset=17)`.

    Idioms: BN fused into Conv with bias, SiLU as `Sigmoid` x `Mul`, C2f blocks (`Split` with a
    split input, Bottleneck with shortcut `Add`, `Concat`), SPPF (three chained `MaxPool` k5 s1),
    nearest `Resize` x2 with a scales input and an empty roi, the PAN neck's `Concat`s, the Detect
    head (per level box and class branches, `Reshape`/`Concat`/`Split`, DFL `Softmax` + 1x1 Conv
    with weights 0..15, anchor decoding with `Sub`/`Add`/`Div`/`Mul` by strides, `Sigmoid`), the
    output `output0` of shape [1, 84, 84] (4 box + 80 classes, 8x8 + 4x4 + 2x2 anchors); names
    `/model.2/m.0/cv1/conv/Conv` and `model.2.cv1.conv.weight`; metadata (stride, names).
    """
    y = Yolo()
    n = y.net
    x = y.conv("images", 3, 8, 3, "model.0", s=2)
    x = y.conv(x, 8, 16, 3, "model.1", s=2)
    x = y.c2f(x, 16, 16, "model.2", True)
    p3 = y.c2f(y.conv(x, 16, 32, 3, "model.3", s=2), 32, 32, "model.4", True)
    p4 = y.c2f(y.conv(p3, 32, 48, 3, "model.5", s=2), 48, 48, "model.6", True)
    p5 = y.sppf(y.c2f(y.conv(p4, 48, 64, 3, "model.7", s=2), 64, 64, "model.8", True), 64, "model.9")
    h12 = y.c2f(n.op("Concat", [y.upsample(p5, "model.10"), p4], "model.11", axis=1), 112, 48, "model.12", False)
    o15 = y.c2f(n.op("Concat", [y.upsample(h12, "model.13"), p3], "model.14", axis=1), 80, 32, "model.15", False)
    h17 = n.op("Concat", [y.conv(o15, 32, 32, 3, "model.16", s=2), h12], "model.17", axis=1)
    o18 = y.c2f(h17, 80, 48, "model.18", False)
    h20 = n.op("Concat", [y.conv(o18, 48, 48, 3, "model.19", s=2), p5], "model.20", axis=1)
    o21 = y.c2f(h20, 112, 64, "model.21", False)
    levels = [y.detect_level(o15, 32, 0), y.detect_level(o18, 48, 1), y.detect_level(o21, 64, 2)]
    out = yolo_decode(y, levels)
    model = make_model(n, "main_graph", [vi("images", F32, [1, 3, 64, 64])], [vi(out, F32, [1, 84, 84])], 17,
                       ("pytorch", "2.1.0"), metadata={"author": "Ultralytics", "stride": "32", "task": "detect",
                                                        "imgsz": "[64, 64]"})
    rng = np.random.default_rng(4)
    feeds = {"images": rng.uniform(0.0, 1.0, (1, 3, 64, 64)).astype(np.float32)}
    cls = [(f"model.22.cv3.{i}.cv3.{i}.2", f"/model.22/cv3.{i}/cv3.{i}.2/Conv_output_0") for i in range(3)]
    calibrate(model, feeds, [(w, v, 2.0) for w, v in cls])
    return model, feeds


def calibrate(model: onnx.ModelProto, feeds: dict, layers: list[tuple[str, str, float]]) -> None:
    """Scales each conv's `<prefix>.weight` and `<prefix>.bias` so its output `value` has the
    target standard deviation on `feeds` (in order: later layers see the rescaled earlier ones).
    Why: He-normal weights leave YOLO's class logits near 0, so every probability would be 0.5."""
    import onnxruntime as ort

    inits = {t.name: t for t in model.graph.initializer}
    for prefix, value, target in layers:
        probe = onnx.ModelProto()
        probe.CopyFrom(model)
        probe.graph.output.append(helper.make_empty_tensor_value_info(value))
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        sess = ort.InferenceSession(probe.SerializeToString(), so, providers=["CPUExecutionProvider"])
        got = sess.run([value], feeds)[0]
        factor = np.float32(target / max(float(got.std()), 1e-6))
        for key in (f"{prefix}.weight", f"{prefix}.bias"):
            scaled = numpy_helper.to_array(inits[key]) * factor
            inits[key].CopyFrom(numpy_helper.from_array(scaled.astype(np.float32), key))


# ------------------------------------------------------------------------------------------------
# Transformer encoders (BERT-style): TorchScript and dynamo
# ------------------------------------------------------------------------------------------------
VOCAB, SEQ, HIDDEN, HEADS, FFN, LAYERS = 50, 7, 64, 4, 128, 2
HEAD = HIDDEN // HEADS
# (function input prefix, module, (in, out)) of each Linear of an encoder layer.
LINEARS = (("q", "attention.self.query", (HIDDEN, HIDDEN)), ("k", "attention.self.key", (HIDDEN, HIDDEN)),
           ("v", "attention.self.value", (HIDDEN, HIDDEN)), ("o", "attention.output.dense", (HIDDEN, HIDDEN)),
           ("i", "intermediate.dense", (HIDDEN, FFN)), ("f", "output.dense", (FFN, HIDDEN)))


def encoder_inputs(seed: int, batch: int) -> dict:
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, VOCAB, (batch, SEQ)).astype(np.int64)
    mask = np.ones((batch, SEQ), np.int64)
    mask[:, SEQ - 2:] = 0
    if batch > 1:
        mask[1, SEQ - 4:] = 0
    return {"input_ids": ids, "attention_mask": mask}


def linear_weights(net: Net, prefix: str, cin: int, cout: int) -> tuple[str, str]:
    """A Linear's weight already transposed to [in, out] (how both exporters feed MatMul)."""
    w = net.init(f"onnx::MatMul_{prefix}" if net.style == "torch" else f"{prefix}.weight_t",
                 net.normal((cin, cout), np.sqrt(1.0 / cin)))
    b = net.init(f"{prefix}.bias", net.normal((cout,), 0.02))
    return w, b


def ts_linear(net: Net, x: str, prefix: str, cin: int, cout: int, scope: str) -> str:
    w, b = linear_weights(net, prefix, cin, cout)
    return net.op("Add", [b, net.op("MatMul", [x, w], scope)], scope)


def ts_dims(net: Net, x: str, scope: str, idx: list[int]) -> list[str]:
    """`x.size(i)` for each i: Shape -> Gather(Constant i) -> Unsqueeze(Constant [0])."""
    shape = net.op("Shape", [x], scope)
    return [net.op("Unsqueeze", [net.op("Gather", [shape, net.const(i, scope, np.int64)], scope, axis=0),
                                 net.const([0], scope, np.int64)], scope) for i in idx]


def ts_layer_norm(net: Net, x: str, prefix: str, scope: str) -> str:
    g = net.init(f"{prefix}.weight", net.uniform((HIDDEN,), 0.8, 1.2))
    b = net.init(f"{prefix}.bias", net.normal((HIDDEN,), 0.05))
    return net.op("LayerNormalization", [x, g, b], scope, axis=-1, epsilon=1e-12)


def ts_attention(net: Net, x: str, mask_add: str, p: str, scope: str) -> str:
    """Self-attention as TorchScript writes HF's BertSelfAttention."""
    def heads(t: str, name: str, perm: list[int]) -> str:
        b, s = ts_dims(net, t, f"{scope}/{name}", [0, 1])
        shape = net.op("Concat", [b, s, net.const([HEADS], scope, np.int64), net.const([HEAD], scope, np.int64)],
                       f"{scope}/{name}", axis=0)
        r = net.op("Reshape", [t, shape], f"{scope}/{name}", allowzero=0)
        return net.op("Transpose", [r], f"{scope}/{name}", perm=perm)

    q = heads(ts_linear(net, x, f"{p}.attention.self.query", HIDDEN, HIDDEN, f"{scope}/query"), "q", [0, 2, 1, 3])
    k = heads(ts_linear(net, x, f"{p}.attention.self.key", HIDDEN, HIDDEN, f"{scope}/key"), "k", [0, 2, 3, 1])
    v = heads(ts_linear(net, x, f"{p}.attention.self.value", HIDDEN, HIDDEN, f"{scope}/value"), "v", [0, 2, 1, 3])
    scores = net.op("MatMul", [q, k], scope)
    # / math.sqrt(self.attention_head_size), traced from the shape of q: Shape -> Gather(-1) ->
    # Cast -> Sqrt -> Div.
    (d,) = ts_dims(net, q, f"{scope}/scale", [3])
    d = net.op("Sqrt", [net.op("Cast", [d], f"{scope}/scale", to=F32)], f"{scope}/scale")
    scores = net.op("Add", [net.op("Div", [scores, d], scope), mask_add], scope)
    probs = net.op("Softmax", [scores], scope, axis=-1)
    ctx = net.op("Transpose", [net.op("MatMul", [probs, v], scope)], scope, perm=[0, 2, 1, 3])
    b, s = ts_dims(net, ctx, f"{scope}/merge", [0, 1])
    shape = net.op("Concat", [b, s, net.const([HIDDEN], scope, np.int64)], f"{scope}/merge", axis=0)
    return net.op("Reshape", [ctx, shape], f"{scope}/merge", allowzero=0)


def ts_gelu_erf(net: Net, x: str, scope: str) -> str:
    """`x * 0.5 * (1 + erf(x / sqrt(2)))` node by node."""
    e = net.op("Erf", [net.op("Div", [x, net.const(1.4142135381698608, scope)], scope)], scope)
    y = net.op("Mul", [x, net.op("Add", [e, net.const(1.0, scope)], scope)], scope)
    return net.op("Mul", [y, net.const(0.5, scope)], scope)


def bert_encoder_torchscript() -> tuple[onnx.ModelProto, dict]:
    """A 2-layer BERT encoder (hidden 64, 4 heads) as `torch.onnx.export(opset_version=17)` writes
    HF's BertModel.

    Idioms: int64 `input_ids` and `attention_mask` with dims `batch_size`, `sequence_length`;
    word/position/token-type embeddings via `Gather` (positions `Slice`d from a buffer to the
    traced sequence length); `LayerNormalization` (opset 17, epsilon 1e-12); the extended mask
    `Unsqueeze` x2 -> `Cast` -> `Sub(1, m)` -> `Mul(-10000)`; per-head `Reshape` with shapes from
    `Shape -> Gather -> Unsqueeze -> Concat`, `Transpose`; scaling by `Div` with a `Sqrt` of the
    head size read from a shape; `Softmax`; GELU via `Erf`; residual `Add`s; the pooler
    (`Gather` of token 0, `Gemm(transB=1)`, `Tanh`) as a second output.
    """
    net = Net("bert_encoder_torchscript", "torch")
    we = net.init("embeddings.word_embeddings.weight", net.normal((VOCAB, HIDDEN), 0.5))
    pe = net.init("embeddings.position_embeddings.weight", net.normal((32, HIDDEN), 0.2))
    te = net.init("embeddings.token_type_embeddings.weight", net.normal((2, HIDDEN), 0.2))
    pos_buf = net.init("embeddings.position_ids", np.arange(32, dtype=np.int64)[None])
    tt_buf = net.init("embeddings.token_type_ids", np.zeros((1, 32), np.int64))
    (seq,) = ts_dims(net, "input_ids", "embeddings", [1])
    zero, one = net.const([0], "embeddings", np.int64), net.const([1], "embeddings", np.int64)
    pos = net.op("Slice", [pos_buf, zero, seq, one, one], "embeddings")
    tt = net.op("Slice", [tt_buf, zero, seq, one, one], "embeddings")
    x = net.op("Add", [net.op("Gather", [we, "input_ids"], "embeddings/word_embeddings"),
                       net.op("Gather", [te, tt], "embeddings/token_type_embeddings")], "embeddings")
    x = net.op("Add", [x, net.op("Gather", [pe, pos], "embeddings/position_embeddings")], "embeddings")
    x = ts_layer_norm(net, x, "embeddings.LayerNorm", "embeddings/LayerNorm")
    m = net.op("Unsqueeze", ["attention_mask", net.const([1], "", np.int64)], "")
    m = net.op("Unsqueeze", [m, net.const([2], "", np.int64)], "")
    m = net.op("Cast", [m], "", to=F32)
    mask_add = net.op("Mul", [net.op("Sub", [net.const(1.0, ""), m], ""), net.const(-10000.0, "")], "")
    for i in range(LAYERS):
        p, scope = f"encoder.layer.{i}", f"encoder/layer.{i}"
        a = ts_attention(net, x, mask_add, p, f"{scope}/attention/self")
        a = ts_linear(net, a, f"{p}.attention.output.dense", HIDDEN, HIDDEN, f"{scope}/attention/output/dense")
        x = ts_layer_norm(net, net.op("Add", [a, x], f"{scope}/attention/output"), f"{p}.attention.output.LayerNorm",
                          f"{scope}/attention/output/LayerNorm")
        h = ts_gelu_erf(net, ts_linear(net, x, f"{p}.intermediate.dense", HIDDEN, FFN, f"{scope}/intermediate/dense"),
                        f"{scope}/intermediate/intermediate_act_fn")
        h = ts_linear(net, h, f"{p}.output.dense", FFN, HIDDEN, f"{scope}/output/dense")
        x = net.op("Add", [h, x], f"{scope}/output")
        x = ts_layer_norm(net, x, f"{p}.output.LayerNorm", f"{scope}/output/LayerNorm")
    net.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="/Identity"))
    first = net.op("Gather", [x, net.const(0, "pooler", np.int64)], "pooler", axis=1)
    pw = net.init("pooler.dense.weight", net.normal((HIDDEN, HIDDEN), np.sqrt(1.0 / HIDDEN)))
    pb = net.init("pooler.dense.bias", net.normal((HIDDEN,), 0.02))
    pooled = net.op("Gemm", [first, pw, pb], "pooler/dense", alpha=1.0, beta=1.0, transB=1)
    net.nodes.append(helper.make_node("Tanh", [pooled], ["pooler_output"], name="/pooler/activation/Tanh"))
    dyn = ["batch_size", "sequence_length"]
    model = make_model(net, "main_graph", [vi("input_ids", I64, dyn), vi("attention_mask", I64, dyn)],
                       [vi("last_hidden_state", F32, dyn + [HIDDEN]), vi("pooler_output", F32, ["batch_size", HIDDEN])],
                       17, ("pytorch", "2.1.0"))
    return model, encoder_inputs(5, 2)


def dynamo_layer_norm_fn() -> onnx.FunctionProto:
    """LayerNorm decomposed as torch_lib writes it with opset 18: ReduceMean (axes input), Sub,
    Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul, Add."""
    f = Fn(Net("ln", "dynamo"), "torch_nn_modules_normalization_LayerNorm", DYNAMO_DOMAIN, ["x", "weight", "bias"])
    n = f.net
    axes = n.const([-1], "val_0", np.int64)
    mean = n.op("ReduceMean", ["x", axes], "mean", keepdims=1)
    d = n.op("Sub", ["x", mean], "sub")
    var = n.op("ReduceMean", [n.op("Pow", [d, n.const(2.0, "val_1")], "pow"), axes], "mean_1", keepdims=1)
    std = n.op("Sqrt", [n.op("Add", [var, n.const(1e-12, "val_2")], "add")], "sqrt")
    y = n.op("Add", [n.op("Mul", [n.op("Div", [d, std], "div"), "weight"], "mul"), "bias"], "add_1")
    return f.finish([y])


def dynamo_linear(n: Net, x: str, w: str, b: str, name: str) -> str:
    return n.op("Add", [n.op("MatMul", [x, w], f"{name}_mm"), b], name)


def dynamo_encoder_layer_fn() -> onnx.FunctionProto:
    """One encoder layer: attention with a Where(-inf) mask and Mul-scaled q and k (SDPA's
    decomposition), GELU via the Tanh approximation, residuals, calls to the LayerNorm function."""
    ins = ["x", "mask_bool"] + [f"{k}_{t}" for k in ("q", "k", "v", "o", "i", "f") for t in ("w", "b")] + \
          ["ln1_w", "ln1_b", "ln2_w", "ln2_b"]
    f = Fn(Net("layer", "dynamo"), "transformers_models_bert_BertLayer", DYNAMO_DOMAIN, ins)
    n = f.net

    def heads(t: str, name: str) -> str:
        r = n.op("Reshape", [t, n.const([0, 0, HEADS, HEAD], f"{name}_shape", np.int64)], f"view_{name}", allowzero=0)
        return n.op("Transpose", [r], f"transpose_{name}", perm=[0, 2, 1, 3])

    q, k, v = (heads(dynamo_linear(n, "x", f"{c}_w", f"{c}_b", f"linear_{c}"), c) for c in "qkv")
    scale = n.const(float(np.sqrt(1.0 / np.sqrt(HEAD))), "val_scale")
    kt = n.op("Transpose", [k], "transpose_kt", perm=[0, 1, 3, 2])
    scores = n.op("MatMul", [n.op("Mul", [q, scale], "mul_q"), n.op("Mul", [kt, scale], "mul_k")], "matmul")
    bias = n.op("Where", ["mask_bool", n.const(0.0, "val_zero"), n.const(-np.inf, "val_ninf")], "where")
    probs = n.op("Softmax", [n.op("Add", [scores, bias], "add_mask")], "softmax", axis=-1)
    ctx = n.op("Transpose", [n.op("MatMul", [probs, v], "matmul_1")], "transpose_ctx", perm=[0, 2, 1, 3])
    ctx = n.op("Reshape", [ctx, n.const([0, 0, HIDDEN], "val_merge", np.int64)], "view_ctx", allowzero=0)
    a = n.op("Add", [dynamo_linear(n, ctx, "o_w", "o_b", "linear_o"), "x"], "add_res")
    x = n.op("torch_nn_modules_normalization_LayerNorm", [a, "ln1_w", "ln1_b"], "layer_norm", domain=DYNAMO_DOMAIN)
    h = dynamo_linear(n, x, "i_w", "i_b", "linear_i")
    # gelu(approximate="tanh"): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), torch_lib style:
    # each constant made like the input with CastLike.
    def like(value: float, name: str) -> str:
        return n.op("CastLike", [n.const(value, name), h], f"{name}_cast")

    cube = n.op("Pow", [h, like(3.0, "val_3")], "pow")
    inner = n.op("Add", [h, n.op("Mul", [cube, like(0.044715, "val_c")], "mul_c")], "add_c")
    t = n.op("Tanh", [n.op("Mul", [inner, like(float(np.sqrt(2 / np.pi)), "val_k")], "mul_k2")], "tanh")
    half = n.op("Mul", [h, like(0.5, "val_half")], "mul_half")
    g = n.op("Mul", [half, n.op("Add", [t, like(1.0, "val_one")], "add_one")], "gelu")
    o = n.op("Add", [dynamo_linear(n, g, "f_w", "f_b", "linear_f"), x], "add_res_1")
    y = n.op("torch_nn_modules_normalization_LayerNorm", [o, "ln2_w", "ln2_b"], "layer_norm_1", domain=DYNAMO_DOMAIN)
    return f.finish([y])


def encoder_dynamo() -> tuple[onnx.ModelProto, dict]:
    """The same encoder through `torch.onnx.export(..., dynamo=True)`.

    Idioms: opset 18, external data (`model.onnx.data`), model-local functions (BertLayer calling
    a LayerNorm function: nested, formal names reused in both bodies), LayerNorm decomposed
    (`ReduceMean` with axes input, `Sub`, `Pow`, `Sqrt`, `Div`), the mask as a bool from
    `Cast(int64 -> bool)` turned into `Where(mask, 0, -inf)`, `Reshape` with 0 dims, q and k each
    scaled by `Mul` with sqrt(1/sqrt(d)), GELU via the `Tanh` approximation with its constants
    made by `CastLike`, `Constant(value_float / value_int / value_ints)` (onnxscript), positions
    from `Range`, symbolic dims `s0`, `s1`, `value_info` for intermediates, several opset domains.
    """
    net = Net("encoder_dynamo", "dynamo")
    fns = [dynamo_layer_norm_fn(), dynamo_encoder_layer_fn()]
    we = net.init("embeddings.word_embeddings.weight", net.normal((VOCAB, HIDDEN), 0.5))
    pe = net.init("embeddings.position_embeddings.weight", net.normal((32, HIDDEN), 0.2))
    shape = net.op("Shape", ["input_ids"], "sym_size_int")
    seq = net.op("Gather", [shape, net.const(1, "val_1", np.int64)], "sym_size", axis=0)
    pos = net.op("Range", [net.const(0, "val_0", np.int64), seq, net.const(1, "val_2", np.int64)], "arange")
    x = net.op("Add", [net.op("Gather", [we, "input_ids"], "embedding"),
                       net.op("Gather", [pe, pos], "embedding_1")], "add")
    ln_w = net.init("embeddings.LayerNorm.weight", net.uniform((HIDDEN,), 0.8, 1.2))
    ln_b = net.init("embeddings.LayerNorm.bias", net.normal((HIDDEN,), 0.05))
    x = net.op("torch_nn_modules_normalization_LayerNorm", [x, ln_w, ln_b], "layer_norm", domain=DYNAMO_DOMAIN)
    m = net.op("Unsqueeze", ["attention_mask", net.const([1, 2], "val_3", np.int64)], "unsqueeze")
    mask_bool = net.op("Cast", [m], "_to_copy", to=TensorProto.BOOL)
    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        ws = []
        for c, name, (cin, cout) in LINEARS:
            ws += list(linear_weights(net, f"{p}.{name}", cin, cout))
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            ws += [net.init(f"{p}.{ln}.weight", net.uniform((HIDDEN,), 0.8, 1.2)),
                   net.init(f"{p}.{ln}.bias", net.normal((HIDDEN,), 0.05))]
        x = net.op("transformers_models_bert_BertLayer", [x, mask_bool] + ws, f"bert_layer_{i}", domain=DYNAMO_DOMAIN)
    net.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="node_Identity_out"))
    value_info = [vi(mask_bool, TensorProto.BOOL, ["s0", 1, 1, "s1"]), vi(pos, I64, ["s1"])]
    dyn = ["s0", "s1"]
    model = make_model(net, "main_graph", [vi("input_ids", I64, dyn), vi("attention_mask", I64, dyn)],
                       [vi("last_hidden_state", F32, dyn + [HIDDEN])], 18, ("pytorch", "2.5.1+cu121"),
                       extra_opsets=[(DYNAMO_DOMAIN, 1), (TORCHLIB_DOMAIN, 1)], functions=fns,
                       value_info=value_info, ir_version=10)
    return model, encoder_inputs(6, 2)


# ------------------------------------------------------------------------------------------------
# tf2onnx (Keras MobileNet, NHWC)
# ------------------------------------------------------------------------------------------------
def tf_same_pads(size: int, k: int, s: int) -> list[int]:
    """TF "SAME" padding as tf2onnx writes it: explicit and asymmetric (the extra at the end)."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return [total // 2, total // 2, total - total // 2, total - total // 2]


def tf_conv_bn(net: Net, x: str, cin: int, cout: int, k: int, s: int, size: int, scope: str,
               depthwise: bool = False, relu6: bool = True) -> str:
    """Conv2D / DepthwiseConv2dNative (no bias) + BatchNorm left as `Mul`/`Add` by tf2onnx's
    folding, + Relu6 as `Clip` with initializer bounds."""
    groups = cin if depthwise else 1
    w = net.init(f"{scope}/{'depthwise_' if depthwise else ''}kernel:0", net.conv_weight(cout, cin, k, groups))
    op = "depthwise" if depthwise else "Conv2D"
    y = net.op("Conv", [x, w], f"{scope}/{op}", **conv_attrs(k, s, groups, pads=tf_same_pads(size, k, s)))
    gamma = net.init(f"{scope}_bn/mul_const:0", net.uniform((cout, 1, 1), 0.5, 1.5))
    beta = net.init(f"{scope}_bn/add_const:0", net.normal((cout, 1, 1), 0.1))
    y = net.op("Add", [net.op("Mul", [y, gamma], f"{scope}_bn/mul"), beta], f"{scope}_bn/add")
    if not relu6:
        return y
    lo = net.init(f"{scope}_relu/min:0", np.array(0.0, np.float32))
    hi = net.init(f"{scope}_relu/max:0", np.array(6.0, np.float32))
    return net.op("Clip", [y, lo, hi], f"{scope}_relu/Relu6")


def mobilenet_tf2onnx() -> tuple[onnx.ModelProto, dict]:
    """A Keras MobileNet (v1 blocks, alpha 0.25, 64 px) through `tf2onnx.convert --opset 13`.

    Idioms: NHWC input `input_1` with the unknown batch dim `unk__171`; a `Transpose` to NCHW
    before the first conv and back to NHWC before the head; a leftover cancelling `Transpose`
    pair between two blocks; `Conv` with explicit asymmetric pads from TF "SAME" padding at
    stride 2 ([0, 0, 1, 1]); BatchNorm as `Mul`/`Add` with [C, 1, 1] constants; Relu6 as `Clip`
    with initializer bounds; depthwise conv as `group = C`; the head `ReduceMean(axes=[1, 2])` in
    NHWC with keepdims=1 then `Squeeze` (axes input), `Reshape` with shape [0, -1], `MatMul` +
    `Add`, `Softmax`; tf-style names with `:0`.
    """
    net = Net("mobilenet_tf2onnx", "tf")
    x = net.op("Transpose", ["input_1"], "model/conv1/Conv2D__6", perm=[0, 3, 1, 2])
    x = tf_conv_bn(net, x, 3, 8, 3, 2, 64, "model/conv1")
    size, cin = 32, 8
    for i, (cout, s) in enumerate([(16, 1), (32, 2), (32, 1), (64, 2)], start=1):
        x = tf_conv_bn(net, x, cin, cin, 3, s, size, f"model/conv_dw_{i}", depthwise=True)
        size = -(-size // s)
        x = tf_conv_bn(net, x, cin, cout, 1, 1, size, f"model/conv_pw_{i}")
        if i == 2:
            nhwc = net.op("Transpose", [x], f"model/conv_pw_{i}_relu/Relu6__23", perm=[0, 2, 3, 1])
            x = net.op("Transpose", [nhwc], f"model/conv_dw_{i + 1}/depthwise__25", perm=[0, 3, 1, 2])
        cin = cout
    x = net.op("Transpose", [x], "model/global_average_pooling2d/Mean__40", perm=[0, 2, 3, 1])
    x = net.op("ReduceMean", [x], "model/global_average_pooling2d/Mean", axes=[1, 2], keepdims=1)
    x = net.op("Squeeze", [x, net.init("const_axes__45", np.array([1, 2], np.int64))],
               "model/global_average_pooling2d/Mean_Squeeze__46")
    x = net.op("Reshape", [x, net.init("model/reshape/Reshape/shape:0", np.array([0, -1], np.int64))],
               "model/reshape/Reshape")
    w = net.init("model/predictions/MatMul/ReadVariableOp:0", net.normal((64, 10), 6 * np.sqrt(3.0 / 64)))
    b = net.init("model/predictions/BiasAdd/ReadVariableOp:0", net.normal((10,), 0.1))
    logits = net.op("Add", [net.op("MatMul", [x, w], "model/predictions/MatMul"), b], "model/predictions/BiasAdd")
    net.nodes.append(helper.make_node("Softmax", [logits], ["predictions"], name="model/predictions/Softmax", axis=-1))
    model = make_model(net, "tf2onnx", [vi("input_1", F32, ["unk__171", 64, 64, 3])],
                       [vi("predictions", F32, ["unk__172", 10]), vi(logits, F32, ["unk__173", 10])], 13,
                       ("tf2onnx", "1.16.1 15c810"), extra_opsets=[("ai.onnx.ml", 2)])
    model.graph.output[1].name = logits
    rng = np.random.default_rng(7)
    return model, {"input_1": rng.uniform(-1.0, 1.0, (1, 64, 64, 3)).astype(np.float32)}


# ------------------------------------------------------------------------------------------------
# paddle2onnx (PP-LCNet-style, HardSwish)
# ------------------------------------------------------------------------------------------------
def pd_conv_bn_hs(net: Net, x: str, cin: int, cout: int, k: int, s: int, i: int, depthwise: bool = False,
                  act: bool = True) -> str:
    """Explicit `Pad` (pads as an input) + Conv + BatchNormalization + HardSwish."""
    groups = cin if depthwise else 1
    if k > 1:
        p = k // 2
        pads = net.init(f"pad_{i}.pads", np.array([0, 0, p, p, 0, 0, p, p], np.int64))
        value = net.init(f"pad_{i}.value", np.array(0.0, np.float32))
        x = net.op("Pad", [x, pads, value], f"pad2d_{i}", mode="constant")
    w = net.init(f"conv2d_{i}.w_0", net.conv_weight(cout, cin, k, groups))
    y = net.op("Conv", [x, w], f"conv2d_{i}", **conv_attrs(k, s, groups, pads=[0, 0, 0, 0]))
    bn = [net.init(f"batch_norm_{i}.{p}", v) for p, v in zip(("w_0", "b_0", "w_1", "w_2"), net.bn_params(cout))]
    y = net.op("BatchNormalization", [y, *bn], f"batch_norm_{i}", epsilon=1e-5, momentum=0.9)
    return net.op("HardSwish", [y], f"hardswish_{i}") if act else y


def pd_se(net: Net, x: str, c: int) -> str:
    """PP-LCNet's SE: GlobalAveragePool -> Conv -> Relu -> Conv -> HardSigmoid(0.2, 0.5) -> Mul."""
    p = net.op("GlobalAveragePool", [x], "pool2d_0")
    w1 = net.init("conv2d_se1.w_0", net.conv_weight(c // 4, c, 1))
    b1 = net.init("conv2d_se1.b_0", net.normal((c // 4,), 0.1))
    w2 = net.init("conv2d_se2.w_0", net.conv_weight(c, c // 4, 1))
    b2 = net.init("conv2d_se2.b_0", net.normal((c,), 0.1))
    h = net.op("Relu", [net.op("Conv", [p, w1, b1], "conv2d_se1", **conv_attrs(1))], "relu_0")
    g = net.op("HardSigmoid", [net.op("Conv", [h, w2, b2], "conv2d_se2", **conv_attrs(1))], "hardsigmoid_0",
               alpha=0.2, beta=0.5)
    return net.op("Mul", [x, g], "elementwise_mul_0")


def hardswish_paddle2onnx() -> tuple[onnx.ModelProto, dict]:
    """A PP-LCNet-style classifier with an FPN-style upsampling branch, as `paddle2onnx
    --opset_version 14` writes it.

    Idioms: dynamic batch `p2o.DynamicDimension.0`; `Pad` with pads and value as inputs before
    each unpadded Conv; `BatchNormalization` kept; `HardSwish`; SE with `HardSigmoid(alpha=0.2,
    beta=0.5)`; `Resize` with `scales` (roi empty), `coordinate_transformation_mode=asymmetric`,
    nearest `floor`; int64 shape arithmetic through `Cast` chains (`Shape` -> `Cast` int32 ->
    `Cast` int64 -> `Slice` -> `Concat` -> `Reshape`); `Squeeze`/`Unsqueeze` with axes inputs;
    `MatMul` with a [in, out] weight + `Add`, `Softmax`; names `conv2d_3.tmp_0`, `batch_norm_0.w_0`.
    """
    net = Net("hardswish_paddle2onnx", "paddle")
    x = pd_conv_bn_hs(net, "x", 3, 8, 3, 2, 0)
    x = pd_conv_bn_hs(net, pd_conv_bn_hs(net, x, 8, 8, 3, 1, 1, depthwise=True), 8, 16, 1, 1, 2)
    c3 = pd_conv_bn_hs(net, pd_conv_bn_hs(net, x, 16, 16, 3, 2, 3, depthwise=True), 16, 32, 1, 1, 4)
    c4 = pd_conv_bn_hs(net, pd_conv_bn_hs(net, c3, 32, 32, 5, 2, 5, depthwise=True), 32, 32, 1, 1, 6)
    c4 = pd_se(net, c4, 32)
    up = net.op("Resize", [c4, "", net.init("nearest_interp_v2_0.scale", np.array([1, 1, 2, 2], np.float32))],
                "nearest_interp_v2_0", mode="nearest", coordinate_transformation_mode="asymmetric",
                nearest_mode="floor")
    fused = net.op("Add", [up, c3], "elementwise_add_0")
    fused = pd_conv_bn_hs(net, fused, 32, 48, 1, 1, 7)
    pooled = net.op("GlobalAveragePool", [fused], "pool2d_1")
    # paddle.flatten(start_axis=1) via int64 shape arithmetic with Cast chains.
    shape = net.op("Cast", [net.op("Cast", [net.op("Shape", [pooled], "shape_0")], "cast_0", to=TensorProto.INT32)],
                   "cast_1", to=I64)
    batch = net.op("Slice", [shape, net.init("slice_0.starts", np.array([0], np.int64)),
                             net.init("slice_0.ends", np.array([1], np.int64))], "slice_0")
    target = net.op("Concat", [batch, net.init("flatten_0.rest", np.array([-1], np.int64))], "concat_0", axis=0)
    flat = net.op("Reshape", [pooled, target], "flatten_0")
    w = net.init("linear_0.w_0", net.normal((48, 10), 5 * np.sqrt(3.0 / 48)))
    b = net.init("linear_0.b_0", net.normal((10,), 0.1))
    logits = net.op("Add", [net.op("MatMul", [flat, w], "linear_0"), b], "linear_1")
    u = net.op("Unsqueeze", [logits, net.init("unsqueeze2_0.axes", np.array([1], np.int64))], "unsqueeze2_0")
    probs = net.op("Softmax", [u], "softmax_0", axis=-1)
    out = net.op("Squeeze", [probs, net.init("squeeze2_0.axes", np.array([1], np.int64))], "squeeze2_0")
    net.nodes.append(helper.make_node("Identity", [out], ["save_infer_model/scale_0.tmp_0"], name="p2o.Identity.out"))
    net.nodes.append(helper.make_node("Identity", [up], ["save_infer_model/scale_1.tmp_0"], name="p2o.Identity.up"))
    dyn = "p2o.DynamicDimension.0"
    model = make_model(net, "paddle-onnx", [vi("x", F32, [dyn, 3, 64, 64])],
                       [vi("save_infer_model/scale_0.tmp_0", F32, [dyn, 10]),
                        vi("save_infer_model/scale_1.tmp_0", F32, [dyn, 32, 16, 16])], 14, ("PaddlePaddle", "1.2.3"))
    rng = np.random.default_rng(8)
    return model, {"x": rng.standard_normal((1, 3, 64, 64)).astype(np.float32)}


# ------------------------------------------------------------------------------------------------
# Writing the category
# ------------------------------------------------------------------------------------------------
# name -> (builder, weights in an external file?)
MODELS = {
    "mobilenetv2_torchscript": (mobilenetv2_torchscript, False),
    "resnet_torchscript": (resnet_torchscript, False),
    "efficientnet_dynamo": (efficientnet_dynamo, True),
    "yolov8_ultralytics": (yolov8_ultralytics, False),
    "bert_encoder_torchscript": (bert_encoder_torchscript, False),
    "encoder_dynamo": (encoder_dynamo, True),
    "mobilenet_tf2onnx": (mobilenet_tf2onnx, False),
    "hardswish_paddle2onnx": (hardswish_paddle2onnx, False),
}


def reference_session(path: Path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def check_has_teeth(name: str, outputs: list[str], results: list[np.ndarray]) -> str:
    """Refuses outputs that are constant, non-finite or saturated: a test of them proves little."""
    parts = []
    for out, r in zip(outputs, results):
        r = np.asarray(r, np.float64)
        if not np.all(np.isfinite(r)):
            sys.exit(f"error: {name}: output {out} has non-finite values")
        if r.std() < 1e-2 or len(np.unique(np.round(r, 4))) < r.size // 8:
            sys.exit(f"error: {name}: output {out} is near-constant (std {r.std():.3g})")
        parts.append(f"{out} {list(r.shape)} std {r.std():.3g} max|.| {np.abs(r).max():.3g}")
    return "; ".join(parts)


def write_model(name: str, case_dir: Path) -> onnx.ModelProto:
    build, external = MODELS[name]
    model, feeds = build()
    onnx.checker.check_model(model, full_check=True)
    case_dir.mkdir(parents=True)
    path = case_dir / "model.onnx"
    if external:
        onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                  location="model.onnx.data", size_threshold=256)
    else:
        onnx.save(model, str(path))
    model = onnx.load(str(path), load_external_data=False)
    g = model.graph
    inputs = [i for i in g.input if i.name in gtd.graph_inputs(model)]
    results = reference_session(path).run(None, feeds)
    summary = check_has_teeth(name, [o.name for o in g.output], results)
    set_dir = case_dir / "test_data_set_0"
    set_dir.mkdir()
    for j, v in enumerate(inputs):
        gtd.write_value(set_dir / f"input_{j}.pb", feeds[v.name], v)
    for j, (v, value) in enumerate(zip(g.output, results)):
        gtd.write_value(set_dir / f"output_{j}.pb", value, v)
    log(f"{name}: {summary}")
    return model


def stamp() -> str:
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(Path(gtd.__file__).read_bytes())
    h.update(gtd.REQUIREMENTS.read_bytes())
    h.update(onnx.__version__.encode())
    import onnxruntime

    h.update(onnxruntime.__version__.encode())
    return h.hexdigest()[:16]


def gen_real_exports(out: Path, force: bool = False) -> None:
    dir_ = out / CATEGORY
    s = stamp()
    if not force and gtd.up_to_date(dir_, s):
        log(f"{CATEGORY}: up to date")
        return
    gtd.fresh_dir(dir_)
    entries = []
    for name in MODELS:
        t0 = time.time()
        model = write_model(name, dir_ / name)
        entries.append(gtd.manifest_entry(name, "(model)", model, 1))
        log(f"{name}: written in {time.time() - t0:.1f}s")
    gtd.write_manifest(dir_, entries, s)
    log(f"{CATEGORY}: {len(entries)} models -> {dir_}")


def main() -> None:
    default_out = os.environ.get("KILN_TEST_DATA", str(gtd.ROOT / "target" / "test-data"))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", default=default_out, help="cache directory (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="regenerate even when the stamp matches")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    gen_real_exports(out, args.force)


if __name__ == "__main__":
    main()
