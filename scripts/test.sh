#!/usr/bin/env bash
# Runs every kiln test on a fresh machine: the one command CI (.ci/run) and developers use.
#
# Phases (each timed; a summary is printed at the end, also on failure; each ends on its first
# failing command, and the first failing phase ends the script):
#   0. the phase runner's self-test (scripts/test-phase.sh: a failing command fails its phase);
#   1. system packages: installs the Debian packages listed in DEBIAN_PACKAGES that are missing
#      (apt-get update + apt-get install -y, as root or through sudo; the AArch64 cross tools and
#      qemu take about a minute); python3-venv is added when python3 cannot create a venv;
#   2. the pinned Python venv (scripts/setup-python.sh -> target/venv), data generation only;
#   3. checks that examples/gen_mobilenet.py reproduces the committed example byte for byte;
#   4. test data: scripts/gen-test-data.sh -> target/test-data (cached; cheap when up to date);
#   5. cargo build --release;
#   6. the Python package (python/): built by maturin and installed into the venv, then its pytest
#      suite (python/tests: the example, the benchmark models and node tests against onnxruntime,
#      bad inputs);
#   7. cargo test --release --workspace (release: the node suite compiles ~2,000 models; the
#      tests/native_*.rs suites link native objects for x86-64 and AArch64 and run them, the
#      AArch64 ones under qemu-aarch64; tests/mutation.rs compiles ~13,000 mutated models);
#   8. fuzzing: scripts/fuzz.sh runs the cargo-fuzz target import_model for KILN_FUZZ_SECONDS
#      (default 90; 0 skips) and fails on any finding, printing the reproducer's path.
# Reports: target/test-reports/{node_suite,models}.txt. KILN_BLESS, KILN_BLESS_REMOVE,
# KILN_BLESS_SUITE and KILN_SUITE_FILTER are cleared: this script always judges every test.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

# Debian packages the tests need: a C compiler for the native-object tests (tests/native_*.rs
# link kiln's objects with tests/c/driver.c), the AArch64 cross compiler with its C library
# (a Recommends, so listed: apt-get runs with --no-install-recommends) and binutils (nm), and
# qemu-user to run the AArch64 executables.
DEBIAN_PACKAGES=(
  gcc
  libc6-dev
  gcc-aarch64-linux-gnu
  libc6-dev-arm64-cross
  binutils-aarch64-linux-gnu
  qemu-user
)

# `phase NAME CMD...`: each phase runs in a subshell with `set -euo pipefail` and ends on its
# first failing command; the script stops at the first failing phase (scripts/lib/phase.sh,
# checked by scripts/test-phase.sh, the first phase below).
source "$ROOT/scripts/lib/phase.sh"
START_ALL=$(date +%s)
summary() {
  echo "== timings =="
  for line in "${PHASES[@]}"; do echo "  $line"; done
  echo "  total: $(( $(date +%s) - START_ALL ))s"
}
trap summary EXIT

# Variables that switch checks off or narrow them are for local runs only: a leaked one must not
# turn CI's run into a partial one (KILN_BLESS* rewrite pass lists instead of judging against
# them, KILN_SUITE_FILTER runs a few tests of each suite).
unset KILN_BLESS KILN_BLESS_SUITE KILN_BLESS_REMOVE KILN_SUITE_FILTER

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo -n "$@"
  else
    echo "error: need root (or sudo) to run: $*" >&2
    return 1
  fi
}

install_debian_packages() {
  local wanted=("${DEBIAN_PACKAGES[@]}")
  if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    wanted+=("python3-venv")
  fi
  local missing=()
  for pkg in "${wanted[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "nothing to install (${#wanted[@]} packages wanted, all present)"
    return
  fi
  echo "installing: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

check_toolchain() {
  command -v cargo >/dev/null || { echo "error: cargo not found; install Rust with rustup (https://rustup.rs)" >&2; return 1; }
  command -v python3 >/dev/null || { echo "error: python3 not found; apt-get install python3 python3-venv" >&2; return 1; }
  cargo --version
  python3 --version
}

check_example_reproducible() {
  local out="$ROOT/target/test-data/example-regen"
  "$ROOT/target/venv/bin/python" examples/gen_mobilenet.py --out "$out"
  cmp "$out/mobilenet_tiny.onnx" examples/mobilenet_tiny.onnx
  cmp "$out/input.npy" examples/input.npy
  echo "examples/ matches examples/gen_mobilenet.py"
}

# Builds kiln's Python package into the venv and runs its tests. The build uses the venv's pinned
# maturin (--no-build-isolation; its bin directory on PATH, where the build backend looks for the
# maturin binary) and this checkout's target directory, where python/Cargo.toml's copy of the
# workspace profiles lets it reuse the release build of kiln.
python_package() {
  local venv="$ROOT/target/venv"
  PATH="$venv/bin:$PATH" CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}" "$venv/bin/pip" install --quiet \
    --disable-pip-version-check --no-build-isolation --no-deps --force-reinstall ./python
  "$venv/bin/python" -m pytest -q python/tests
}

phase "phase self-test" scripts/test-phase.sh
phase "toolchain" check_toolchain
phase "debian packages" install_debian_packages
phase "python venv" scripts/setup-python.sh
phase "example reproducible" check_example_reproducible
phase "test data" scripts/gen-test-data.sh
phase "cargo build --release" cargo build --release --workspace --all-targets
phase "python package" python_package
phase "cargo test --release" cargo test --release --workspace --no-fail-fast
phase "fuzz import_model" scripts/fuzz.sh
