#!/usr/bin/env bash
# Creates the pinned Python venv used only to generate test data and reference outputs.
# Idempotent: re-running with the venv present only checks the pins.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${KILN_VENV:-$ROOT/target/venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/scripts/requirements.txt"
echo "$VENV"
