#!/usr/bin/env bash
# Benchmarks kiln against onnxruntime (same thread count, default 1; same iterations, medians):
# see scripts/bench.py. `--threads 1,2` measures both counts and prints the speed-ups.
#   scripts/bench.sh examples/mobilenet_tiny.onnx --input input=examples/input.npy
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$("$ROOT/scripts/setup-python.sh" | tail -n 1)"
(cd "$ROOT" && cargo build --release --quiet --bin kiln)
exec "$VENV/bin/python" "$ROOT/scripts/bench.py" "$@"
