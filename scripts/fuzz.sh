#!/usr/bin/env bash
# Runs the cargo-fuzz target `import_model` (fuzz/fuzz_targets/import_model.rs) for a bounded
# time; scripts/test.sh calls it as its last phase. Exit 0 when libFuzzer found nothing; on a
# finding (panic, abort, allocation or RSS beyond the limit, or a slow input) exit 1 with the
# reproducer's path and the command that replays it.
#
#   KILN_FUZZ_SECONDS   fuzzing time after the build (default 90; 0 skips the phase)
#   KILN_FUZZ_LIMIT_MB  -rss_limit_mb and -malloc_limit_mb (default 2048)
#   KILN_FUZZ_TIMEOUT   -timeout per input, seconds (default 10)
#
# Toolchain: cargo-fuzz needs nightly-only rustc flags (sanitizers, -Zsanitizer-coverage);
# RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them. cargo-fuzz itself is installed into
# target/tools when it is not on PATH, and the fuzz build goes to target/fuzz, so a cached
# target/ keeps both. The seed corpus (a handful of node-suite models and the bundled example)
# is copied from target/test-data at run time into target/fuzz/corpus; nothing is committed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

SECONDS_TO_FUZZ="${KILN_FUZZ_SECONDS:-90}"
LIMIT_MB="${KILN_FUZZ_LIMIT_MB:-2048}"
TIMEOUT="${KILN_FUZZ_TIMEOUT:-10}"
CARGO_FUZZ_VERSION=0.13.2
TARGET=import_model
OUT="$ROOT/target/fuzz"
CORPUS="$OUT/corpus/$TARGET"
ARTIFACTS="$OUT/artifacts/$TARGET"
# Node-suite models that seed the corpus: small, and covering the importer's main families.
SEEDS=(test_abs test_relu test_conv_with_strides_padding test_convtranspose test_gather_0
  test_reshape_reordered_all_dims test_expand_dim_changed test_slice test_matmul_2d
  test_maxpool_2d_default test_concat_2d_axis_0 test_resize_upsample_scales_linear
  test_scatter_elements_with_axis test_nllloss_NCd1d2 test_einsum_batch_matmul test_lstm_defaults
  test_qlinearconv test_convinteger_with_padding test_matmulinteger test_basic_deform_conv_with_padding
  test_stft test_melweightmatrix test_resize_downsample_scales_linear_antialias
  test_maxpool_with_argmax_2d_precomputed_pads test_batchnorm_example_training_mode
  test_roialign_aligned_true test_nonzero_example test_gridsample test_if test_loop11 test_scan9_sum
  test_nonmaxsuppression_center_point_box_format test_unique_sorted_with_axis test_dft)

if [ "$SECONDS_TO_FUZZ" = 0 ]; then
  echo "KILN_FUZZ_SECONDS=0: fuzzing skipped"
  exit 0
fi

export PATH="$ROOT/target/tools/bin:$PATH"
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" --root "$ROOT/target/tools"
fi
export RUSTC_BOOTSTRAP=1
# One set of build flags for build and run (-a: debug assertions and overflow checks, so an
# overflow in shape arithmetic is a finding rather than a silent wrap).
FUZZ_FLAGS=(-a --target-dir "$OUT")

mkdir -p "$CORPUS" "$ARTIFACTS"
for t in "${SEEDS[@]}"; do
  src="$ROOT/target/test-data/node/$t/model.onnx"
  [ -f "$src" ] || { echo "error: seed $src missing; run scripts/gen-test-data.sh" >&2; exit 1; }
  cp "$src" "$CORPUS/seed_$t.onnx"
done
cp examples/mobilenet_tiny.onnx "$CORPUS/seed_example.onnx"

cargo fuzz build "${FUZZ_FLAGS[@]}" "$TARGET"
rm -f "$ARTIFACTS"/*
rc=0
cargo fuzz run "${FUZZ_FLAGS[@]}" "$TARGET" "$CORPUS" -- \
  -max_total_time="$SECONDS_TO_FUZZ" -rss_limit_mb="$LIMIT_MB" -malloc_limit_mb="$LIMIT_MB" \
  -timeout="$TIMEOUT" -artifact_prefix="$ARTIFACTS/" -print_final_stats=1 || rc=$?
found=$(find "$ARTIFACTS" -type f | sort)
if [ "$rc" != 0 ] || [ -n "$found" ]; then
  echo "error: fuzz target $TARGET failed (exit $rc); reproducers:" >&2
  for f in $found; do
    echo "  $f" >&2
  done
  echo "replay: RUSTC_BOOTSTRAP=1 cargo fuzz run -a --target-dir target/fuzz $TARGET <reproducer>" >&2
  exit 1
fi
echo "fuzz target $TARGET: ${SECONDS_TO_FUZZ}s, no findings (corpus: $CORPUS)"
