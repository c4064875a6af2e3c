#!/usr/bin/env python3
"""Generates the test data kiln's integration tests read, into a cache under target/.

Run through `scripts/gen-test-data.sh` (which makes the pinned venv first). Python is used only
here, to produce inputs and reference outputs; kiln never runs Python.

Layout of the cache (default `target/test-data`, override with KILN_TEST_DATA or --out):

    node/<test>/model.onnx, test_data_set_0/{input,output}_N.pb   ONNX backend node tests
    node/manifest.json                                            name, op, inputs, outputs
    simple/, pytorch-converted/, pytorch-operator/  <test>/...    model tests onnx ships
    light/<name>/model.onnx, test_data_set_0/{input_0,output_0}.pb
                                                  light_* models, seeded inputs, onnxruntime outputs
    light-random/<name>/...                       the same models with seeded random weights
                                                  (scripts/gen_light_random.py), outputs + logits
    <category>/manifest.json                                      same schema as node/
    example/input_0.pb, output_0.pb, output_0.npy                 examples/mobilenet_tiny.onnx
                                                                  reference (onnxruntime)
    bench/<model>/{model.onnx,input.npy,output_0.npy}             the optimizer's benchmark
                                                  models (scripts/gen_bench_models.py)

Each category is regenerated only when its stamp (`<category>/.stamp`: onnx and onnxruntime
versions plus a hash of this script, of scripts/requirements.txt and of its inputs) differs, so
re-running is cheap.
Why a manifest: the Rust runner then needs no ONNX parser of its own to know a test's op type and
input names, and it refuses to run when the manifest is missing (never a vacuous pass).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parent.parent
ONNX_TEST_DIR = Path(onnx.__file__).parent / "backend" / "test"
SHIPPED_MODEL_KINDS = ("simple", "pytorch-converted", "pytorch-operator")
EXAMPLE_MODEL = ROOT / "examples" / "mobilenet_tiny.onnx"
EXAMPLE_INPUT = ROOT / "examples" / "input.npy"
# The pinned Python packages: a new pin regenerates every category.
REQUIREMENTS = ROOT / "scripts" / "requirements.txt"


def log(msg: str) -> None:
    print(f"[gen-test-data] {msg}", flush=True)


def script_hash(*extra: Path) -> str:
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(REQUIREMENTS.read_bytes())
    h.update(onnx.__version__.encode())
    try:
        import onnxruntime

        h.update(onnxruntime.__version__.encode())
    except ImportError:
        pass
    for path in extra:
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def up_to_date(dir_: Path, stamp: str) -> bool:
    f = dir_ / ".stamp"
    return f.is_file() and f.read_text().strip() == stamp and (dir_ / "manifest.json").is_file()


def fresh_dir(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


def graph_inputs(model: onnx.ModelProto) -> list[str]:
    inits = {i.name for i in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in inits]


def main_op(model: onnx.ModelProto) -> str:
    ops = sorted({n.op_type for n in model.graph.node})
    return ops[0] if len(ops) == 1 else "(model)"


def manifest_entry(name: str, op: str, model: onnx.ModelProto, n_sets: int) -> dict:
    return {
        "name": name,
        "op": op,
        "inputs": graph_inputs(model),
        "outputs": [o.name for o in model.graph.output],
        "data_sets": n_sets,
    }


def write_manifest(dir_: Path, entries: list[dict], stamp: str) -> None:
    entries.sort(key=lambda e: e["name"])
    (dir_ / "manifest.json").write_text(json.dumps(entries, indent=1) + "\n")
    (dir_ / ".stamp").write_text(stamp + "\n")


def write_value(path: Path, value, vi: onnx.ValueInfoProto) -> None:
    """Serializes one input or output like `onnx.backend.test.cmd_tools` does."""
    t = vi.type
    if t.HasField("sequence_type"):
        proto = numpy_helper.from_list(value, vi.name)
    elif t.HasField("optional_type"):
        proto = numpy_helper.from_optional(value, vi.name)
    elif t.HasField("map_type"):
        proto = numpy_helper.from_dict(value, vi.name)
    elif isinstance(value, onnx.TensorProto):
        proto = value
    else:
        proto = numpy_helper.from_array(np.asarray(value), vi.name)
    path.write_bytes(proto.SerializeToString())


def base_op_of(cases) -> dict[str, str]:
    """Op type per node test; `_expanded` tests (function bodies) count under their base op."""
    single = {c.name: c.model.graph.node[0].op_type for c in cases if len(c.model.graph.node) == 1}
    ops = {}
    for c in cases:
        if c.name in single:
            ops[c.name] = single[c.name]
            continue
        base = c.name.split("_expanded")[0]
        ops[c.name] = single.get(base, main_op(c.model))
    return ops


def gen_node(out: Path) -> None:
    dir_ = out / "node"
    stamp = script_hash()
    if up_to_date(dir_, stamp):
        log("node: up to date")
        return
    import warnings

    import onnx.backend.test.case.node as node_cases

    t0 = time.time()
    log("node: collecting the generators onnx ships (onnx/backend/test/case/node)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = node_cases.collect_testcases()
    ops = base_op_of(cases)
    fresh_dir(dir_)
    entries = []
    for i, case in enumerate(cases):
        if i % 200 == 0:
            log(f"node: {i}/{len(cases)} written")
        case_dir = dir_ / case.name
        case_dir.mkdir()
        (case_dir / "model.onnx").write_bytes(case.model.SerializeToString())
        g = case.model.graph
        for k, (inputs, outputs) in enumerate(case.data_sets):
            set_dir = case_dir / f"test_data_set_{k}"
            set_dir.mkdir()
            for j, value in enumerate(inputs):
                write_value(set_dir / f"input_{j}.pb", value, g.input[j])
            for j, value in enumerate(outputs):
                write_value(set_dir / f"output_{j}.pb", value, g.output[j])
        entries.append(manifest_entry(case.name, ops[case.name], case.model, len(case.data_sets)))
    write_manifest(dir_, entries, stamp)
    log(f"node: {len(entries)} tests in {time.time() - t0:.1f}s -> {dir_}")


def gen_shipped(out: Path, kind: str) -> None:
    """Copies a model-test category onnx ships with its data (so the venv may move later)."""
    src = ONNX_TEST_DIR / "data" / kind
    dir_ = out / kind
    stamp = script_hash()
    if up_to_date(dir_, stamp):
        log(f"{kind}: up to date")
        return
    if not src.is_dir():
        sys.exit(f"error: {src} missing: is onnx installed in the venv?")
    fresh_dir(dir_)
    entries = []
    for case in sorted(p for p in src.iterdir() if (p / "model.onnx").is_file()):
        shutil.copytree(case, dir_ / case.name)
        model = onnx.load(str(case / "model.onnx"), load_external_data=False)
        n_sets = len(list(case.glob("test_data_set_*")))
        entries.append(manifest_entry(case.name, main_op(model), model, n_sets))
    write_manifest(dir_, entries, stamp)
    log(f"{kind}: {len(entries)} tests copied from {src}")


def ort_session(model_path: Path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(model_path), so, providers=["CPUExecutionProvider"])


def seeded_input(name: str, vi: onnx.ValueInfoProto) -> np.ndarray:
    """Standard-normal f32 data seeded by the model name; symbolic dims become 1."""
    dims = [d.dim_value if d.HasField("dim_value") else 1 for d in vi.type.tensor_type.shape.dim]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return rng.standard_normal(dims).astype(np.float32)


def gen_light(out: Path) -> None:
    src = ONNX_TEST_DIR / "data" / "light"
    dir_ = out / "light"
    stamp = script_hash()
    if up_to_date(dir_, stamp):
        log("light: up to date")
        return
    fresh_dir(dir_)
    entries = []
    for model_path in sorted(src.glob("light_*.onnx")):
        t0 = time.time()
        name = model_path.stem
        case_dir = dir_ / name
        set_dir = case_dir / "test_data_set_0"
        set_dir.mkdir(parents=True)
        shutil.copy(model_path, case_dir / "model.onnx")
        model = onnx.load(str(model_path))
        inputs = [vi for vi in model.graph.input if vi.name in graph_inputs(model)]
        feeds = {vi.name: seeded_input(name, vi) for vi in inputs}
        results = ort_session(case_dir / "model.onnx").run(None, feeds)
        for j, vi in enumerate(inputs):
            write_value(set_dir / f"input_{j}.pb", feeds[vi.name], vi)
        for j, (vi, value) in enumerate(zip(model.graph.output, results)):
            write_value(set_dir / f"output_{j}.pb", value, vi)
        entries.append(manifest_entry(name, main_op(model), model, 1))
        log(f"light: {name} reference computed in {time.time() - t0:.1f}s")
    write_manifest(dir_, entries, stamp)


def gen_light_random(out: Path) -> None:
    """The light_* models with random weights instead of ConstantOfShape(0.02): see
    scripts/gen_light_random.py for the weight scales and why."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import gen_light_random as lr

    src = ONNX_TEST_DIR / "data" / "light"
    dir_ = out / "light-random"
    stamp = script_hash(Path(lr.__file__))
    if up_to_date(dir_, stamp):
        log("light-random: up to date")
        return
    fresh_dir(dir_)
    entries = []
    for model_path in sorted(src.glob("light_*.onnx")):
        t0 = time.time()
        name = model_path.stem
        if name in lr.EXCLUDED:
            log(f"light-random: {name} skipped: {lr.EXCLUDED[name]}")
            continue
        case_dir = dir_ / name
        set_dir = case_dir / "test_data_set_0"
        set_dir.mkdir(parents=True)
        model = lr.randomize(onnx.load(str(model_path)), lr.seed_of(name))
        inputs = [vi for vi in model.graph.input if vi.name in graph_inputs(model)]
        feeds = {vi.name: seeded_input(name, vi) for vi in inputs}
        lr.calibrate_logits(model, feeds, lr.reference_session)
        onnx.save(model, str(case_dir / "model.onnx"))
        results = lr.reference_session(case_dir / "model.onnx").run(None, feeds)
        outputs = [vi.name for vi in model.graph.output]
        summary = lr.check_has_teeth(name, outputs, results)
        for j, vi in enumerate(inputs):
            write_value(set_dir / f"input_{j}.pb", feeds[vi.name], vi)
        for j, (vi, value) in enumerate(zip(model.graph.output, results)):
            write_value(set_dir / f"output_{j}.pb", value, vi)
        entries.append(manifest_entry(name, main_op(model), model, 1))
        log(f"light-random: {name} in {time.time() - t0:.1f}s ({summary})")
    write_manifest(dir_, entries, stamp)


def gen_example(out: Path) -> None:
    dir_ = out / "example"
    if not EXAMPLE_MODEL.is_file() or not EXAMPLE_INPUT.is_file():
        sys.exit(f"error: {EXAMPLE_MODEL} or {EXAMPLE_INPUT} missing: run examples/gen_mobilenet.py")
    stamp = script_hash(EXAMPLE_MODEL, EXAMPLE_INPUT)
    if up_to_date(dir_, stamp):
        log("example: up to date")
        return
    fresh_dir(dir_)
    model = onnx.load(str(EXAMPLE_MODEL))
    x = np.load(EXAMPLE_INPUT)
    (y,) = ort_session(EXAMPLE_MODEL).run(None, {"input": x})
    write_value(dir_ / "input_0.pb", x, model.graph.input[0])
    write_value(dir_ / "output_0.pb", y, model.graph.output[0])
    np.save(dir_ / "output_0.npy", y)
    write_manifest(dir_, [manifest_entry("mobilenet_tiny", "(model)", model, 1)], stamp)
    log(f"example: reference output {list(y.shape)} -> {dir_}")


def gen_bench(out: Path) -> None:
    """MobileNetV2, ResNet-18, EfficientNet-B0, YOLOv8n with seeded weights and onnxruntime
    references: see scripts/gen_bench_models.py (whose hash is part of the stamp)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import gen_bench_models as bm

    dir_ = out / "bench"
    stamp = script_hash(Path(bm.__file__))
    if up_to_date(dir_, stamp):
        log("bench: up to date")
        return
    fresh_dir(dir_)
    entries = []
    for name in bm.MODELS:
        t0 = time.time()
        model = bm.write_model(name, dir_ / name)
        entries.append(manifest_entry(name, "(model)", model, 1))
        log(f"bench: {name} in {time.time() - t0:.1f}s")
    write_manifest(dir_, entries, stamp)


def main() -> None:
    default_out = os.environ.get("KILN_TEST_DATA", str(ROOT / "target" / "test-data"))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", default=default_out, help="cache directory (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="regenerate every category")
    args = p.parse_args()
    out = Path(args.out)
    if args.force and out.exists():
        log(f"--force: removing {out}")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    gen_node(out)
    for kind in SHIPPED_MODEL_KINDS:
        gen_shipped(out, kind)
    gen_light(out)
    gen_light_random(out)
    gen_example(out)
    gen_bench(out)
    log(f"done in {time.time() - t0:.1f}s -> {out}")


if __name__ == "__main__":
    main()
