"""Some ONNX backend node tests (target/test-data/node, each in tests/data/node_expected_pass.txt)
run from Python: compared with the test's own expected outputs and with onnxruntime. They cover
the dtypes crossing the boundary: float16, bool and int64 as numpy has them; bfloat16 and int4
widened (float32, int8); a data-dependent output (NonZero) with its exact shape."""

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import kiln
from conftest import ROOT, assert_close, data_file, reference_run

CASES = [
    "test_add_bcast",
    "test_argmax_default_axis_example",
    "test_averagepool_2d_strides",
    "test_cast_FLOAT_to_BFLOAT16",
    "test_cast_FLOAT_to_FLOAT16",
    "test_cast_FLOAT_to_INT4",
    "test_concat_2d_axis_0",
    "test_conv_with_strides_padding",
    "test_equal",
    "test_gemm_default_matrix_bias",
    "test_globalaveragepool",
    "test_matmul_3d",
    "test_maxpool_2d_pads",
    "test_nonzero_example",
    "test_relu",
    "test_sigmoid",
    "test_softmax_axis_1",
    "test_transpose_default",
    "test_where_example",
]

# Widened on the way out of kiln (see TensorInfo.dtype); onnx gives these as ml_dtypes arrays.
WIDENED = {"bfloat16": np.float32, "int4": np.int8}


# The newest IR version and ai.onnx opset onnxruntime 1.23 loads. The node tests are stamped
# with the onnx package's newest ones; the ops chosen here mean the same at these versions.
ORT_IR_VERSION = 10
ORT_OPSET = 23


# onnxruntime's Python binding cannot return these outputs as numpy arrays ("No corresponding
# Numpy type"): compared with the test's expected outputs only.
NOT_FROM_ONNXRUNTIME = {"test_cast_FLOAT_to_BFLOAT16", "test_cast_FLOAT_to_INT4"}


def for_onnxruntime(model: onnx.ModelProto) -> bytes:
    """The model stamped with versions onnxruntime loads (see ORT_OPSET)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    model.ir_version = min(model.ir_version, ORT_IR_VERSION)
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx"):
            opset.version = min(opset.version, ORT_OPSET)
    return model.SerializeToString()


def load_pb(path: Path) -> np.ndarray:
    proto = onnx.TensorProto()
    proto.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(proto)


def widened(a: np.ndarray) -> np.ndarray:
    return a.astype(WIDENED[a.dtype.name]) if a.dtype.name in WIDENED else a


def test_cases_are_expected_to_pass():
    listed = set((ROOT / "tests" / "data" / "node_expected_pass.txt").read_text().split())
    assert set(CASES) <= listed


@pytest.mark.parametrize("case", CASES)
def test_node_matches_expected_and_onnxruntime(case):
    path = data_file("node", case, "model.onnx")
    model = onnx.load(str(path))
    data = path.parent / "test_data_set_0"
    inputs = [load_pb(data / f"input_{i}.pb") for i in range(len(model.graph.input))]
    expected = [load_pb(data / f"output_{i}.pb") for i in range(len(model.graph.output))]
    compiled = kiln.compile(path)
    assert [i.name for i in compiled.inputs] == [i.name for i in model.graph.input]
    outputs = compiled.run(inputs)
    names = [o.name for o in model.graph.output]
    assert list(outputs) == names
    feeds = {i.name: a for i, a in zip(model.graph.input, inputs)}
    reference = {} if case in NOT_FROM_ONNXRUNTIME else reference_run(for_onnxruntime(model), feeds)
    for name, want in zip(names, expected):
        got = outputs[name]
        assert got.dtype == widened(want).dtype, f"{case}/{name}: dtype {got.dtype}"
        assert_close(got, widened(want), f"{case}/{name} vs expected")
        if case not in NOT_FROM_ONNXRUNTIME:
            assert_close(got, reference[name], f"{case}/{name} vs onnxruntime")
