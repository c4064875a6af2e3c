"""The bundled example (examples/mobilenet_tiny.onnx) through every model argument form, run on
dicts and lists, strided inputs and several threads, compared with onnxruntime."""

import pathlib
import threading

import numpy as np
import onnx
import pytest

import kiln
from conftest import EXAMPLE, EXAMPLE_INPUT, assert_close, reference_run


@pytest.fixture(scope="module")
def compiled():
    return kiln.compile(str(EXAMPLE))


@pytest.fixture(scope="module")
def x():
    return np.load(EXAMPLE_INPUT)


@pytest.fixture(scope="module")
def reference(x):
    return reference_run(EXAMPLE, {"input": x})


def test_signature_matches_the_model(compiled, reference):
    model = onnx.load(str(EXAMPLE))
    assert [i.name for i in compiled.inputs] == [i.name for i in model.graph.input]
    assert [o.name for o in compiled.outputs] == [o.name for o in model.graph.output]
    (inp,) = compiled.inputs
    assert inp.dtype == np.dtype(np.float32) and inp.type == "f32"
    assert inp.shape == np.load(EXAMPLE_INPUT).shape
    (out,) = compiled.outputs
    assert out.shape == reference[out.name].shape
    assert "symbolic dim" in " ".join(compiled.notes)


def test_run_matches_onnxruntime(compiled, x, reference):
    outputs = compiled.run({"input": x})
    assert list(outputs) == list(reference)
    for name, expected in reference.items():
        assert outputs[name].dtype == expected.dtype
        assert_close(outputs[name], expected, name)


@pytest.mark.parametrize("form", ["str", "pathlib", "bytes", "bytearray", "memoryview", "ModelProto"])
def test_every_model_form_compiles_the_same_model(form, x, reference):
    arg = {
        "str": lambda: str(EXAMPLE),
        "pathlib": lambda: pathlib.Path(EXAMPLE),
        "bytes": lambda: EXAMPLE.read_bytes(),
        "bytearray": lambda: bytearray(EXAMPLE.read_bytes()),
        "memoryview": lambda: memoryview(EXAMPLE.read_bytes()),
        "ModelProto": lambda: onnx.load(str(EXAMPLE)),
    }[form]()
    outputs = kiln.compile(arg).run([x])
    assert_close(outputs["output"], reference["output"], form)


@pytest.mark.parametrize("opt_level", [0, 1, 2])
def test_opt_levels_agree_with_onnxruntime(opt_level, x, reference):
    outputs = kiln.compile(EXAMPLE, opt_level=opt_level).run((x,))
    assert_close(outputs["output"], reference["output"], f"opt_level={opt_level}")


def test_shapes_fix_the_symbolic_batch(reference):
    batch = np.concatenate([np.load(EXAMPLE_INPUT)] * 3)
    compiled = kiln.compile(EXAMPLE, shapes={"input": batch.shape})
    assert compiled.inputs[0].shape == batch.shape
    expected = reference_run(EXAMPLE, {"input": batch})
    assert_close(compiled.run([batch])["output"], expected["output"], "batch of 3")


def test_strided_and_fortran_inputs_are_copied_and_give_the_same_result(compiled, x, reference):
    wide = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), np.float32)
    wide[..., ::2] = x
    strided = wide[..., ::2]
    assert not strided.flags.c_contiguous
    fortran = np.asfortranarray(x)
    for name, arr in [("strided", strided), ("fortran", fortran)]:
        assert_close(compiled.run([arr])["output"], reference["output"], name)
    assert np.array_equal(strided, x), "run must not write to its inputs"


def test_outputs_are_fresh_writable_arrays(compiled, x):
    first = compiled.run([x])["output"]
    second = compiled.run([x])["output"]
    assert first.flags.c_contiguous and first.flags.writeable
    assert not np.shares_memory(first, second)
    first[...] = 0
    assert compiled.run([x])["output"].any()


def test_runs_from_several_threads_agree(compiled, x, reference):
    results, errors = {}, []

    def work(i):
        try:
            results[i] = compiled.run([x + np.float32(i) * 0.01])["output"]
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in range(4):
        expected = reference_run(EXAMPLE, {"input": x + np.float32(i) * 0.01})["output"]
        assert_close(results[i], expected, f"thread {i}")


def test_threads_from_1_to_256_are_accepted_and_others_refused():
    assert kiln.compile(EXAMPLE, threads=1).inputs
    assert kiln.compile(EXAMPLE, threads=4).inputs
    with pytest.raises(ValueError, match="threads=300"):
        kiln.compile(EXAMPLE, threads=300)
