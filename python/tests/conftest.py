"""Shared helpers of kiln's Python tests: where the data is, onnxruntime as the reference, and
the element-wise comparison the Rust suites use (|actual - expected| <= atol + rtol |expected|).

Data: the repository's examples/ and target/test-data (made by scripts/gen-test-data.sh; another
location with KILN_TEST_DATA). Missing data fails with the command that makes it, never a skip.
"""

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mobilenet_tiny.onnx"
EXAMPLE_INPUT = ROOT / "examples" / "input.npy"
DATA = Path(os.environ.get("KILN_TEST_DATA", ROOT / "target" / "test-data"))
GEN_COMMAND = "scripts/gen-test-data.sh"

# The tolerance of tests/bench_models.rs and the node suite (tests/common/suite.rs).
RTOL = 1e-3
ATOL = 1e-5


def data_file(*parts: str) -> Path:
    """A file of the generated test data; fails (never skips) when it is missing."""
    path = DATA.joinpath(*parts)
    if not path.is_file():
        pytest.fail(f"test data missing: {path}; generate it with `{GEN_COMMAND}`")
    return path


def reference_run(model, feeds: dict) -> dict:
    """onnxruntime's outputs by name (model: a path or bytes): graph optimisations off, one
    thread (as the Rust suites)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    source = model if isinstance(model, bytes) else str(model)
    session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def assert_close(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    """Same shape and dtype kind; floats within ATOL + RTOL |expected|, others exactly."""
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if expected.dtype.kind == "f" or actual.dtype.kind == "f":
        a, e = actual.astype(np.float64), expected.astype(np.float64)
        same = (a == e) | (np.isnan(a) & np.isnan(e))  # infinities included
        with np.errstate(invalid="ignore"):
            bad = ~same & ~(np.abs(a - e) <= ATOL + RTOL * np.abs(e))
        if bad.any():
            i = np.argwhere(bad)[0]
            pytest.fail(f"{what}: {bad.sum()} of {bad.size} elements differ, first at {tuple(i)}: "
                        f"{a[tuple(i)]} vs {e[tuple(i)]}")
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)
