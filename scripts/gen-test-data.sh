#!/usr/bin/env bash
# Generates (or confirms up to date) the test data cache the integration tests read:
# ONNX backend node tests, the model tests onnx ships, onnxruntime references for the light_*
# models and for examples/mobilenet_tiny.onnx, and the real-export models. Idempotent; see
# scripts/gen_test_data.py and scripts/gen_real_exports.py.
#   scripts/gen-test-data.sh            # into target/test-data (or $KILN_TEST_DATA)
#   scripts/gen-test-data.sh --force    # delete the cache and regenerate everything
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$("$ROOT/scripts/setup-python.sh" | tail -n 1)"
"$VENV/bin/python" "$ROOT/scripts/gen_test_data.py" "$@"
# Real-export-shaped models (scripts/gen_real_exports.py), after the rest: --force above
# removes the whole cache first. Same stamp-based cache check.
exec "$VENV/bin/python" "$ROOT/scripts/gen_real_exports.py" "$@"
