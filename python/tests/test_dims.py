"""Named symbolic dims from Python: a shape given for one input fixes its dims' names for every
input that uses them, and a dim nothing determines raises ShapeError with the whole signature."""

import numpy as np
import pytest
from onnx import TensorProto, helper

import kiln


def shared_n_model() -> bytes:
    """x: float32[N, 3, H] -> Relu -> y; mask: float32[N] -> Relu -> m."""
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="relu_x"), helper.make_node("Relu", ["mask"], ["m"], name="relu_m")],
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H"]),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N"]),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, "H"]),
            helper.make_tensor_value_info("m", TensorProto.FLOAT, ["N"]),
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_one_shape_fixes_the_name_for_every_input():
    model = kiln.compile(shared_n_model(), shapes={"x": [2, 3, 5]})
    assert [i.shape for i in model.inputs] == [(2, 3, 5), (2,)]
    mask = np.array([-1.0, 4.0], dtype=np.float32)
    got = model.run({"x": np.ones((2, 3, 5), np.float32), "mask": mask})
    np.testing.assert_array_equal(got["m"], [0.0, 4.0])


def test_an_unknown_dim_is_a_shape_error_with_the_signature():
    with pytest.raises(kiln.ShapeError, match=r"dimension H \(axis 2\) is not known") as e:
        kiln.compile(shared_n_model())
    assert e.value.input == "x"
    assert "inputs: x: f32[N,3,H], mask: f32[N]" in str(e.value)
    assert "shapes={'x': [...]}" in str(e.value)


def test_two_sizes_for_one_name_are_a_shape_error():
    with pytest.raises(kiln.ShapeError, match="symbolic dim 'N' is 3 by axis 0 of input 'mask' but 2"):
        kiln.compile(shared_n_model(), shapes={"x": [2, 3, 5], "mask": [3]})
