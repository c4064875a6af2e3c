#!/usr/bin/env bash
# The graph optimizer's benchmark: `kiln bench` at --opt-level 0 and 2, interleaved, on the models
# of scripts/gen_bench_models.py (test data: scripts/gen-test-data.sh), plus an output check of
# `kiln run` at both levels. Builds nothing: expects target/release/kiln. See scripts/bench_opt.py.
#   scripts/bench_opt.sh                                  all seven models, 3 rounds x 20 iters
#   scripts/bench_opt.sh --iters 50 --rounds 5 --models resnet18,yolov8n --json target/bench_opt.json
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$("$ROOT/scripts/setup-python.sh" | tail -n 1)"
exec "$VENV/bin/python" "$ROOT/scripts/bench_opt.py" "$@"
