"""Bad inputs raise KilnError subclasses carrying kiln's message (node, op, attribute, input);
Python-level misuse raises TypeError/ValueError. Nothing may abort the interpreter."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import kiln
from conftest import EXAMPLE, EXAMPLE_INPUT


@pytest.fixture(scope="module")
def compiled():
    return kiln.compile(EXAMPLE)


@pytest.fixture(scope="module")
def x():
    return np.load(EXAMPLE_INPUT)


def one_node_model(op: str, inputs, outputs, initializers=(), **attrs) -> bytes:
    """A model of one node over float32 [2, 3] tensors; `inputs` are graph inputs unless they
    are initializers."""
    init_names = {t.name for t in initializers}
    graph = helper.make_graph(
        [helper.make_node(op, inputs, outputs, name=f"the_{op.lower()}", **attrs)],
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3]) for n in inputs if n not in init_names],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
        initializer=list(initializers),
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_hierarchy():
    for cls in [kiln.ModelError, kiln.ShapeError, kiln.InputError, kiln.CompileError, kiln.RunError,
                kiln.InternalError]:
        assert issubclass(cls, kiln.KilnError)
    assert issubclass(kiln.KilnError, Exception)


def test_wrong_dtype_names_the_input(compiled, x):
    with pytest.raises(kiln.InputError, match=r"input 'input': expected dtype float32, got float64") as e:
        compiled.run({"input": x.astype(np.float64)})
    assert e.value.input == "input"


def test_wrong_shape_names_the_input(compiled, x):
    with pytest.raises(kiln.InputError, match=r"input 'input': expected shape \(1, 3, 96, 96\), got \(1, 3, 96\)"):
        compiled.run([x[..., 0]])


def test_missing_unknown_and_extra_inputs(compiled, x):
    with pytest.raises(kiln.InputError, match=r"missing input 'input' \(the model's inputs are: input\)") as e:
        compiled.run({})
    assert e.value.input == "input"
    with pytest.raises(kiln.InputError, match="unknown input 'nope'"):
        compiled.run({"input": x, "nope": x})
    with pytest.raises(kiln.InputError, match=r"the model takes 1 input\(s\) \(input\), got 2"):
        compiled.run([x, x])


def test_feeds_of_the_wrong_kind(compiled, x):
    with pytest.raises(kiln.InputError, match="input 'input': expected a numpy.ndarray, got list"):
        compiled.run([x.tolist()])
    with pytest.raises(kiln.InputError, match="feeds must be a dict"):
        compiled.run(x)


def test_malformed_bytes_and_missing_file(tmp_path):
    with pytest.raises(kiln.ModelError, match="malformed ONNX model"):
        kiln.compile(b"\x08\x07 certainly not a model")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\xff\xff\xff")
    with pytest.raises(kiln.ModelError, match="bad.onnx: malformed ONNX model"):
        kiln.compile(bad)
    with pytest.raises(kiln.ModelError, match="cannot read .*missing.onnx"):
        kiln.compile(tmp_path / "missing.onnx")


def test_unsupported_op_names_node_and_op():
    model = one_node_model("NoSuchOp", ["x"], ["y"])
    with pytest.raises(kiln.ModelError, match=r"1 unsupported op\(s\): node 'the_nosuchop' \(NoSuchOp") as e:
        kiln.compile(model)
    assert (e.value.node, e.value.op) == ("the_nosuchop", "NoSuchOp")


def test_bad_attribute_names_node_op_and_attribute():
    model = one_node_model("Transpose", ["x"], ["y"], perm=[0, 0])
    with pytest.raises(kiln.ModelError, match=r"node 'the_transpose' \(Transpose\), attribute 'perm'") as e:
        kiln.compile(model)
    assert (e.value.node, e.value.op, e.value.attribute) == ("the_transpose", "Transpose", "perm")


def test_value_needed_at_compile_time_is_a_shape_error():
    model = one_node_model("Reshape", ["x", "shape"], ["y"])
    graph = onnx.load_from_string(model).graph
    graph.input[1].CopyFrom(helper.make_tensor_value_info("shape", TensorProto.INT64, [2]))
    proto = onnx.load_from_string(model)
    proto.graph.CopyFrom(graph)
    with pytest.raises(kiln.ShapeError, match="input 'shape': must be known at compile time") as e:
        kiln.compile(proto)
    assert (e.value.node, e.value.op, e.value.input) == ("the_reshape", "Reshape", "shape")


def test_shapes_for_an_unknown_input_and_of_the_wrong_rank():
    with pytest.raises(kiln.InputError, match="unknown input 'nope'"):
        kiln.compile(EXAMPLE, shapes={"nope": [1]})
    with pytest.raises(kiln.ShapeError, match="input 'input'") as e:
        kiln.compile(EXAMPLE, shapes={"input": [1, 3]})
    assert e.value.input == "input"


def test_python_misuse_raises_type_and_value_errors():
    with pytest.raises(TypeError, match="model must be a path"):
        kiln.compile(42)
    with pytest.raises(ValueError, match="opt_level must be 0, 1 or 2, got 3"):
        kiln.compile(EXAMPLE, opt_level=3)
    with pytest.raises(ValueError, match="threads=0"):
        kiln.compile(EXAMPLE, threads=0)
    with pytest.raises(TypeError, match=r"shapes\['input'\]"):
        kiln.compile(EXAMPLE, shapes={"input": "1x3"})


def test_compile_object_errors():
    with pytest.raises(kiln.CompileError, match="target"):
        kiln.compile_object(EXAMPLE, target="sparc-sun-solaris")
    with pytest.raises(ValueError, match="cpu must be 'native' or 'generic'"):
        kiln.compile_object(EXAMPLE, cpu="pentium")
    with pytest.raises(kiln.CompileError):
        kiln.compile_object(EXAMPLE, name="not a C name")
    with pytest.raises(kiln.CompileError, match="nosuchfeature"):
        kiln.compile_object(EXAMPLE, features="+nosuchfeature")
