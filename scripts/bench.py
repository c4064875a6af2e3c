#!/usr/bin/env python3
"""Compares kiln with onnxruntime on the same models, in the same run, at the same thread count.

    scripts/bench.sh examples/mobilenet_tiny.onnx [MODEL...] [--iters N] [--rounds R] [--threads 1,2]
                     [--input NAME=FILE.npy] [--shape NAME=D0,D1,...] [--features -avx512f] [--json]

`--threads T` (default 1) gives both sides T threads: `kiln bench --threads T`, onnxruntime's
`intra_op_num_threads = T`. A list (`--threads 1,2`) measures every count, each model's counts
interleaved in every round, and prints one table per count; with 1 in the list, also each side's
speed-up over its own 1-thread median per model and their geometric means.

For each model, R interleaved rounds (default 3): `kiln bench MODEL --json --iters N --warmup W`
(its last stdout line is a JSON object with `compile_ms`, `median_ms`, `min_ms`, `p90_ms`,
`iters`), then onnxruntime (CPUExecutionProvider, intra/inter-op threads 1, default graph
optimizations; one session per model) timed over the same number of iterations after the same
W warm-up runs. Interleaving rounds keeps a shared machine's load changes from favouring
either side. Printed per model: the median over rounds of each side's median, and the median
of the per-round ratios kiln / onnxruntime (below 1.0 kiln is faster); at the end the
geometric mean and the largest of the ratios. `--features` restricts kiln's JIT (e.g.
`-avx512f` runs its AVX2 micro-kernels).

Inputs: the given --input files (also passed to kiln), else seeded standard-normal data (ints:
zeros) with symbolic dims from --shape or 1. Python and onnxruntime are used here only to
measure, never by kiln itself.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx

ROOT = Path(__file__).resolve().parent.parent
KILN = ROOT / "target" / "release" / "kiln"
NP_TYPES = {
    onnx.TensorProto.FLOAT: np.float32,
    onnx.TensorProto.DOUBLE: np.float64,
    onnx.TensorProto.INT64: np.int64,
    onnx.TensorProto.INT32: np.int32,
    onnx.TensorProto.UINT8: np.uint8,
    onnx.TensorProto.INT8: np.int8,
    onnx.TensorProto.BOOL: np.bool_,
}


def parse_pairs(pairs: list[str], what: str) -> dict[str, str]:
    out = {}
    for p in pairs:
        name, sep, value = p.partition("=")
        if not sep:
            sys.exit(f"error: {what} '{p}' is not NAME=VALUE")
        out[name] = value
    return out


def make_inputs(model_path: Path, files: dict[str, str], shapes: dict[str, str]) -> dict:
    model = onnx.load(str(model_path), load_external_data=False)
    inits = {i.name for i in model.graph.initializer}
    rng = np.random.default_rng(0)
    feeds = {}
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        if vi.name in files:
            feeds[vi.name] = np.load(files[vi.name])
            continue
        tt = vi.type.tensor_type
        fixed = [int(d) for d in shapes[vi.name].split(",")] if vi.name in shapes else None
        dims = fixed or [d.dim_value if d.HasField("dim_value") else 1 for d in tt.shape.dim]
        dtype = NP_TYPES.get(tt.elem_type, np.float32)
        if np.issubdtype(dtype, np.floating):
            feeds[vi.name] = rng.standard_normal(dims).astype(dtype)
        else:
            feeds[vi.name] = np.zeros(dims, dtype)
    return feeds


def run_kiln(model: Path, args: argparse.Namespace, threads: int) -> dict:
    cmd = [str(KILN), "bench", str(model), "--json", "--iters", str(args.iters), "--warmup", str(args.warmup),
           "--threads", str(threads)]
    if args.features:
        cmd += [f"--features={args.features}"]
    for flag, values in (("--input", args.input), ("--shape", args.shape)):
        for v in values:
            cmd += [flag, v]
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        err = (proc.stderr.strip().splitlines() or ["(no stderr)"])[0]
        return {"error": f"kiln bench exit {proc.returncode}: {err}"}
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        return {"error": f"kiln bench: last line is not JSON: {lines[-1][:120]}"}


def ort_session(model: Path, threads: int):
    """An onnxruntime session on `threads` intra-op threads, and the milliseconds its creation took."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    t0 = time.perf_counter()
    sess = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])
    return sess, (time.perf_counter() - t0) * 1e3


def run_ort(sess, compile_ms: float, feeds: dict, iters: int, warmup: int) -> dict:
    for _ in range(warmup):
        sess.run(None, feeds)
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        sess.run(None, feeds)
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    return {
        "compile_ms": compile_ms,
        "median_ms": statistics.median(times),
        "min_ms": times[0],
        "p90_ms": times[min(len(times) - 1, int(0.9 * len(times)))],
        "iters": iters,
    }


def bench_one(model: Path, args: argparse.Namespace, counts: list[int]) -> dict[int, dict]:
    """Per thread count: both sides' figures on `model`, counts interleaved in every round."""
    feeds = make_inputs(model, parse_pairs(args.input, "--input"), parse_pairs(args.shape, "--shape"))
    sessions = {t: ort_session(model, t) for t in counts}
    runs = {t: ([], [], []) for t in counts}
    for _ in range(max(1, args.rounds)):
        for t in counts:
            kiln = run_kiln(model, args, t)
            if "error" in kiln:
                return {t: {"model": str(model), "kiln": kiln, "onnxruntime": {}, "ratio": None} for t in counts}
            iters = int(kiln.get("iters", kiln.get("iterations", args.iters)))
            sess, ort_compile = sessions[t]
            ort = run_ort(sess, ort_compile, feeds, iters, args.warmup)
            kilns, orts, ratios = runs[t]
            kilns.append(kiln)
            orts.append(ort)
            ratios.append(kiln["median_ms"] / ort["median_ms"])
    pick = lambda runs: {**runs[0], "median_ms": statistics.median(r["median_ms"] for r in runs),
                         "min_ms": min(r["min_ms"] for r in runs),
                         "compile_ms": statistics.median(r["compile_ms"] for r in runs)}
    return {t: {"model": str(model), "threads": t, "kiln": pick(k), "onnxruntime": pick(o),
                "ratio": statistics.median(r), "round_ratios": r} for t, (k, o, r) in runs.items()}


def geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def fmt(d: dict, key: str) -> str:
    return f"{d[key]:9.3f}" if key in d else f"{'-':>9}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("models", nargs="+", type=Path)
    p.add_argument("--iters", type=int, default=50, help="timed runs for both (default: %(default)s)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3, help="interleaved kiln/onnxruntime rounds (default: %(default)s)")
    p.add_argument("--features", default="", help="kiln JIT feature edits, e.g. -avx512f")
    p.add_argument("--input", action="append", default=[], help="NAME=FILE.npy (to both)")
    p.add_argument("--shape", action="append", default=[], help="NAME=D0,D1 (to both)")
    p.add_argument("--json", action="store_true", help="also print one JSON line per model")
    p.add_argument("--threads", default="1", help="thread count(s) of both sides, e.g. 2 or 1,2 (default: 1)")
    args = p.parse_args()
    try:
        counts = [int(t) for t in args.threads.split(",")]
    except ValueError:
        sys.exit(f"error: --threads '{args.threads}' is not a comma list of counts")
    if not counts or min(counts) < 1:
        sys.exit("error: --threads counts must be at least 1")
    if not KILN.is_file():
        sys.exit(f"error: {KILN} missing: run `cargo build --release` first (scripts/bench.sh does)")
    results = [bench_one(model, args, counts) for model in args.models]
    failed = False
    label = lambda m: m.parent.name if m.name == "model.onnx" else m.name
    for t in counts:
        print(f"{'model':<36} {'kiln ms':>9} {'ort ms':>9} {'ratio':>7} {'kiln compile':>12} {'ort session':>12}"
              f"  (medians of {args.rounds} interleaved rounds, {t} thread{'s' if t > 1 else ''})")
        ratios = []
        for model, per in zip(args.models, results):
            r = per[t]
            k, o = r["kiln"], r["onnxruntime"]
            ratio = f"{r['ratio']:7.2f}" if r["ratio"] is not None else f"{'-':>7}"
            print(f"{label(model):<36} {fmt(k, 'median_ms')} {fmt(o, 'median_ms')} {ratio} "
                  f"{fmt(k, 'compile_ms'):>12} {fmt(o, 'compile_ms'):>12}")
            if r["ratio"] is not None:
                ratios.append(r["ratio"])
            if "error" in k:
                print(f"  {k['error']}")
                failed = True
            if args.json:
                print(json.dumps(r))
        if ratios:
            print(f"geomean ratio {geomean(ratios):.2f}, max {max(ratios):.2f} over {len(ratios)} models\n")
    if 1 in counts and len(counts) > 1:
        for t in (c for c in counts if c != 1):
            print(f"{'model':<36} {'kiln x':>8} {'ort x':>8}  (speed-up of {t} threads over 1, medians)")
            ks, os_ = [], []
            for model, per in zip(args.models, results):
                one, many = per[1], per[t]
                if many["ratio"] is None or one["ratio"] is None:
                    continue
                kx = one["kiln"]["median_ms"] / many["kiln"]["median_ms"]
                ox = one["onnxruntime"]["median_ms"] / many["onnxruntime"]["median_ms"]
                ks.append(kx)
                os_.append(ox)
                print(f"{label(model):<36} {kx:8.2f} {ox:8.2f}")
            if ks:
                print(f"geomean speed-up: kiln {geomean(ks):.2f}, onnxruntime {geomean(os_):.2f}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
