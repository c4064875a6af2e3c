#!/usr/bin/env bash
# Generates (or confirms up to date) the test data cache the integration tests read:
# ONNX backend node tests, the model tests onnx ships, onnxruntime references for the light_*
# models and for examples/mobilenet_tiny.onnx. Idempotent; see scripts/gen_test_data.py.
#   scripts/gen-test-data.sh            # into target/test-data (or $KILN_TEST_DATA)
#   scripts/gen-test-data.sh --force    # delete the cache and regenerate everything
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$("$ROOT/scripts/setup-python.sh" | tail -n 1)"
exec "$VENV/bin/python" "$ROOT/scripts/gen_test_data.py" "$@"
