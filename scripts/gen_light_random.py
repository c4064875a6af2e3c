"""The `light-random` test category: the nine `light_*` models with real random weights.

Why: onnx's `light_*` models build every weight with `ConstantOfShape(value=0.02)`, so their
reference outputs are nearly constant (about 0.001 everywhere after the softmax) and a kiln output
of the right shape passes even when a conv/pool/gemm/concat/BN kernel is wrong. Here each
`ConstantOfShape` node is replaced by a seeded random initializer of the same shape, scaled by the
role of the tensor (which op and input index finally consumes it, through `Unsqueeze`/`Reshape`)
so activations stay in a sane range through the whole network:

    Conv W / Gemm B                He normal, std = sqrt(2 / fan_in)
    Conv / Gemm bias               N(0, 0.05)
    BatchNormalization scale, var  U(0.5, 1.5)   (var positive)
    BatchNormalization bias, mean  N(0, 0.1)
    Mul by an Unsqueezed vector    U(0.5, 1.5)   (the per-channel affine "sc" layers)
    Add of an Unsqueezed vector    N(0, 0.1)

Then, for models ending in Gemm -> Softmax, the classifier Gemm is rescaled so the logits' std is
about 3 (`calibrate_logits`): otherwise the residual networks' softmax is exactly one-hot.

The models' few real initializers (first-layer biases and BN statistics) are kept. Models that
end in `Softmax` also get the softmax input (the logits) as a second graph output, so the test
compares both: the probabilities alone squash most of the logits' information. The reference is
onnxruntime on CPU, one thread, graph optimizations disabled (the plain operator semantics), and
the generator refuses outputs that are near-constant so the test keeps its teeth.

Called by `gen_test_data.py` (`gen_light_random`), which owns caching and the manifest format.
"""
from __future__ import annotations

import zlib
from collections import defaultdict

import numpy as np
import onnx
from onnx import helper, numpy_helper

# Models left out, with why (none now: vgg19's 548 MB of weights once overflowed a 32-bit JIT
# relocation; the backend now addresses JIT weights with 64-bit absolutes).
EXCLUDED: dict = {}

# Ops a weight passes through unchanged in value before its real consumer.
PASS_THROUGH = ("Unsqueeze", "Reshape")


class WeightRoleError(Exception):
    """A ConstantOfShape output whose consumer role has no initialization rule."""


def consumers_of(graph: onnx.GraphProto) -> dict[str, list[tuple[onnx.NodeProto, int]]]:
    table = defaultdict(list)
    for node in graph.node:
        for k, name in enumerate(node.input):
            table[name].append((node, k))
    return table


def final_consumer(name: str, consumers) -> tuple[onnx.NodeProto, int, str]:
    """The (node, input index, consumed tensor name) after Unsqueeze/Reshape hops."""
    uses = consumers.get(name, [])
    if len(uses) != 1:
        raise WeightRoleError(f"{name}: {len(uses)} consumers, expected 1")
    node, k = uses[0]
    if node.op_type in PASS_THROUGH and k == 0:
        return final_consumer(node.output[0], consumers)
    return node, k, name


def attr(node: onnx.NodeProto, key: str, default):
    for a in node.attribute:
        if a.name == key:
            return helper.get_attribute_value(a)
    return default


def random_weight(rng, shape, node, k, consumed_shape) -> np.ndarray:
    op = node.op_type
    if op == "Conv" and k == 1:
        fan_in = int(np.prod(consumed_shape[1:]))
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in))
    if op == "Gemm" and k == 1:
        fan_in = consumed_shape[1] if attr(node, "transB", 0) else consumed_shape[0]
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in))
    if op in ("Conv", "Gemm") and k == 2:
        return rng.normal(0.0, 0.05, shape).astype(np.float32)
    if op == "BatchNormalization" and k in (1, 4):
        return rng.uniform(0.5, 1.5, shape).astype(np.float32)
    if op == "BatchNormalization" and k in (2, 3):
        return rng.normal(0.0, 0.1, shape).astype(np.float32)
    if op == "Mul":
        return rng.uniform(0.5, 1.5, shape).astype(np.float32)
    if op == "Add":
        return rng.normal(0.0, 0.1, shape).astype(np.float32)
    raise WeightRoleError(f"no rule for a weight consumed by {op} input {k} ({node.name})")


def inferred_shapes(model: onnx.ModelProto) -> dict[str, list[int]]:
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if all(d.HasField("dim_value") for d in dims):
            shapes[vi.name] = [d.dim_value for d in dims]
    return shapes


def randomize(model: onnx.ModelProto, seed: int) -> onnx.ModelProto:
    """A copy of `model` with every ConstantOfShape weight a seeded random initializer, and the
    logits (the final Softmax's input) as a second output when there is one."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    g = model.graph
    rng = np.random.default_rng(seed)
    inits = {i.name: i for i in g.initializer}
    consumers = consumers_of(g)
    shapes = inferred_shapes(model)
    new_inits, dropped_nodes, shape_names = [], [], set()
    for node in g.node:
        if node.op_type != "ConstantOfShape":
            continue
        shape_init = inits.get(node.input[0])
        if shape_init is None:
            raise WeightRoleError(f"{node.name}: shape input {node.input[0]} is not an initializer")
        shape = [int(d) for d in numpy_helper.to_array(shape_init)]
        target, k, consumed = final_consumer(node.output[0], consumers)
        consumed_shape = shapes.get(consumed, shape)
        value = random_weight(rng, shape, target, k, consumed_shape)
        new_inits.append(numpy_helper.from_array(value, node.output[0]))
        dropped_nodes.append(node)
        shape_names.add(node.input[0])
    for node in dropped_nodes:
        g.node.remove(node)
    still_used = {name for n in g.node for name in n.input}
    unused = {name for name in shape_names if name not in still_used}
    kept = [i for i in g.initializer if i.name not in unused]
    del g.initializer[:]
    g.initializer.extend(kept + new_inits)
    # IR version 3 lists initializers among the graph inputs too: keep that invariant.
    if any(i.name in inits for i in g.input):
        kept_inputs = [i for i in g.input if i.name not in unused]
        del g.input[:]
        g.input.extend(kept_inputs)
        for t in new_inits:
            g.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    add_logits_output(model)
    return model


def add_logits_output(model: onnx.ModelProto) -> None:
    """Exposes the final Softmax's input as an extra graph output, after the original ones."""
    g = model.graph
    last = g.node[-1]
    if last.op_type != "Softmax" or last.output[0] != g.output[0].name:
        return
    g.output.append(helper.make_tensor_value_info(last.input[0], onnx.TensorProto.FLOAT, None))


LOGIT_STD = 3.0


def calibrate_logits(model: onnx.ModelProto, feeds: dict, reference) -> float:
    """Rescales the classifier Gemm (weight and bias) so the logits' std is about LOGIT_STD.

    Why: BatchNormalization with random statistics does not normalize, so residual networks
    (resnet50, shufflenet) grow about 2x per block and the softmax becomes exactly one-hot;
    scaling the last linear layer makes the probabilities informative again (logits are linear in
    it, so one reference run measures the factor). Returns the factor applied (1.0 if none).
    """
    g = model.graph
    if len(g.output) < 2:
        return 1.0
    producers = {o: n for n in g.node for o in n.output}
    producer = producers.get(g.output[1].name)
    inits = {i.name: i for i in g.initializer}
    if producer is None or producer.op_type != "Gemm":
        return 1.0
    weights = [through_reshapes(name, producers) for name in producer.input[1:3]]
    if weights[0] not in inits:
        return 1.0
    logits = reference(model).run([g.output[1].name], feeds)[0]
    factor = LOGIT_STD / max(float(np.std(logits)), 1e-30)
    for name in weights:
        if name in inits:
            scaled = numpy_helper.to_array(inits[name]) * np.float32(factor)
            inits[name].CopyFrom(numpy_helper.from_array(scaled.astype(np.float32), name))
    return factor


def through_reshapes(name: str, producers) -> str:
    """The tensor a value was Reshape/Unsqueeze'd from (itself if none)."""
    node = producers.get(name)
    while node is not None and node.op_type in PASS_THROUGH:
        name = node.input[0]
        node = producers.get(name)
    return name


def reference_session(model_path):
    """onnxruntime on CPU, one thread, no graph optimizations: the plain operator semantics."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.log_severity_level = 3
    source = model_path.SerializeToString() if isinstance(model_path, onnx.ModelProto) else str(model_path)
    return ort.InferenceSession(source, so, providers=["CPUExecutionProvider"])


def check_has_teeth(name: str, output_names: list[str], results: list[np.ndarray]) -> str:
    """Refuses near-constant or non-finite outputs; returns a one-line summary."""
    summary = []
    for out_name, value in zip(output_names, results):
        v = np.asarray(value, dtype=np.float64).ravel()
        if not np.all(np.isfinite(v)):
            raise AssertionError(f"{name}/{out_name}: non-finite reference output")
        spread = v.std() / max(np.abs(v).mean(), 1e-30)
        if spread < 0.1:
            raise AssertionError(f"{name}/{out_name}: near-constant output (std/mean|x| = {spread:.3g})")
        if v.min() > 0:  # probabilities: the most likely class must stand out
            ratio = v.max() / v.min()
            if ratio < 10:
                raise AssertionError(f"{name}/{out_name}: softmax max/min only {ratio:.3g}")
            summary.append(f"{out_name}: max/min {ratio:.3g}, max {v.max():.3g}")
        else:
            summary.append(f"{out_name}: std {v.std():.3g}, range [{v.min():.3g}, {v.max():.3g}]")
    return "; ".join(summary)


def seed_of(name: str) -> int:
    return zlib.crc32(("light-random/" + name).encode())
