#!/usr/bin/env python3
"""Measures what kiln's graph optimizer buys: `kiln bench` latency at --opt-level 0 and 2 on the
benchmark models (scripts/gen_bench_models.py), and checks the outputs are unchanged.

Why interleaved: on a shared 2-core machine the noise drifts over minutes. Each round runs every
model at level 0 then level 2 back to back, so drift hits both levels alike; a level's figure is
the median over rounds of `kiln bench`'s per-run median. The speed-up is median(0) / median(2);
the summary is the geometric mean of the per-model speed-ups.

Columns:
    kernels   distinct kernel functions compiled (`kiln bench --json` "kernels": same-shaped
              nodes share one kernel, so this is not the number of kernel calls)
    nodes     IR nodes after the optimized stage (`kiln inspect`): one kernel call (or copy) each,
              the count the "kernels <= convs + gemms + 5" target is about
    max rel   max |out2 - out0| / max |out0| over the output, `kiln run` at level 2 vs level 0
    tol       max over elements of |out2 - out0| / (1e-5 + 1e-3 |out0|): <= 1 is within the
              tolerance tests/bench_models.rs applies against onnxruntime

kiln runs inference on one thread; nothing is built here (expects target/release/kiln).
    scripts/bench_opt.sh [--iters N] [--rounds R] [--models a,b] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("mobilenetv2", "resnet18", "efficientnet_b0", "yolov8n")
LEVELS = (0, 2)


def fail(msg: str) -> None:
    sys.exit(f"bench_opt: error: {msg}")


def run(cmd: list[str]) -> str:
    env = dict(os.environ, OMP_NUM_THREADS="1", RAYON_NUM_THREADS="1")
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        fail(f"`{' '.join(cmd)}` exited {p.returncode}:\n{p.stderr.strip()[-2000:]}")
    return p.stdout


def bench_once(kiln: Path, model_dir: Path, level: int, iters: int, warmup: int) -> dict:
    out = run([str(kiln), "bench", str(model_dir / "model.onnx"), "--input", f"input={model_dir / 'input.npy'}",
               "--opt-level", str(level), "--iters", str(iters), "--warmup", str(warmup), "--json"])
    return json.loads(out.strip().splitlines()[-1])


def ir_nodes(kiln: Path, model_dir: Path, level: int) -> int | None:
    """The node count `kiln inspect` prints for the optimized stage."""
    out = run([str(kiln), "inspect", str(model_dir / "model.onnx"), "--opt-level", str(level)])
    found = re.findall(r"^nodes:\s+(\d+)", out, re.M)
    return int(found[-1]) if found else None


def outputs_at(kiln: Path, model_dir: Path, level: int, tmp: Path) -> np.ndarray:
    out_dir = tmp / f"{model_dir.name}-{level}"
    run([str(kiln), "run", str(model_dir / "model.onnx"), "--input", f"input={model_dir / 'input.npy'}",
         "--opt-level", str(level), "--output-dir", str(out_dir)])
    # kiln run names output files after the graph's outputs; these models have one.
    (only,) = sorted(out_dir.glob("*.npy"))
    return np.load(only).astype(np.float64)


def compare(o0: np.ndarray, o2: np.ndarray) -> tuple[float, float]:
    if o0.shape != o2.shape:
        fail(f"output shapes differ between levels: {o0.shape} vs {o2.shape}")
    d = np.abs(o2 - o0)
    return float(d.max() / max(np.abs(o0).max(), 1e-30)), float((d / (1e-5 + 1e-3 * np.abs(o0))).max())


def main() -> None:
    data = Path(os.environ.get("KILN_TEST_DATA", ROOT / "target" / "test-data")) / "bench"
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--iters", type=int, default=20, help="timed runs per `kiln bench` (default 20)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--warmup", type=int, default=3, help="untimed runs per `kiln bench` (default 3)")
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of " + ", ".join(MODELS))
    p.add_argument("--data", type=Path, default=data, help="model directory (default: %(default)s)")
    p.add_argument("--kiln", type=Path, default=ROOT / "target" / "release" / "kiln", help="kiln binary")
    p.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = p.parse_args()
    models = [m for m in args.models.split(",") if m]
    for m in models:
        if m not in MODELS:
            fail(f"unknown model '{m}' (known: {', '.join(MODELS)})")
        if not (args.data / m / "model.onnx").is_file():
            fail(f"{args.data / m / 'model.onnx'} missing: run scripts/gen-test-data.sh")
    if not args.kiln.is_file():
        fail(f"{args.kiln} missing: build it with `cargo build --release`")

    medians = {(m, l): [] for m in models for l in LEVELS}
    last = {}
    for r in range(args.rounds):
        for m in models:
            for level in LEVELS:
                res = bench_once(args.kiln, args.data / m, level, args.iters, args.warmup)
                medians[(m, level)].append(res["median_ms"])
                last[(m, level)] = res
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(
            f"{m} {medians[(m, 0)][-1]:.2f}/{medians[(m, 2)][-1]:.2f} ms" for m in models), flush=True)

    rows = []
    with tempfile.TemporaryDirectory(prefix="kiln-bench-opt-") as tmp:
        for m in models:
            mrel, tol = compare(*(outputs_at(args.kiln, args.data / m, l, Path(tmp)) for l in LEVELS))
            t0, t2 = (statistics.median(medians[(m, l)]) for l in LEVELS)
            rows.append({
                "model": m, "ms_opt0": t0, "ms_opt2": t2, "speedup": t0 / t2,
                "kernels_opt0": last[(m, 0)].get("kernels"), "kernels_opt2": last[(m, 2)].get("kernels"),
                "nodes_opt0": ir_nodes(args.kiln, args.data / m, 0), "nodes_opt2": ir_nodes(args.kiln, args.data / m, 2),
                "compile_ms_opt0": last[(m, 0)].get("compile_ms"), "compile_ms_opt2": last[(m, 2)].get("compile_ms"),
                "max_rel_err": mrel, "tol_ratio": tol, "medians_opt0": medians[(m, 0)], "medians_opt2": medians[(m, 2)],
            })
    geomean = math.exp(sum(math.log(r["speedup"]) for r in rows) / len(rows))
    print_table(rows, geomean, args)
    if args.json:
        args.json.write_text(json.dumps({"iters": args.iters, "rounds": args.rounds, "geomean_speedup": geomean,
                                         "models": rows}, indent=1) + "\n")


def print_table(rows: list[dict], geomean: float, args) -> None:
    head = (f"{'model':<16} {'opt0 ms':>9} {'opt2 ms':>9} {'speedup':>8} {'kernels 0/2':>12} "
            f"{'nodes 0/2':>10} {'max rel':>9} {'tol':>6}")
    print(f"\nkiln bench, {args.rounds} interleaved rounds x {args.iters} iters, per-level median of medians")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['model']:<16} {r['ms_opt0']:>9.2f} {r['ms_opt2']:>9.2f} {r['speedup']:>7.3f}x "
              f"{r['kernels_opt0']:>5}/{r['kernels_opt2']:<6} {r['nodes_opt0']:>4}/{r['nodes_opt2']:<5} "
              f"{r['max_rel_err']:>9.2e} {r['tol_ratio']:>6.3f}")
    print("-" * len(head))
    print(f"{'geomean speedup':<36} {geomean:>7.3f}x")


if __name__ == "__main__":
    main()
