"""The optimizer's benchmark models (scripts/gen_bench_models.py, in target/test-data/bench)
compiled from Python and compared with onnxruntime within the tolerance of
tests/bench_models.rs; YOLOv8n's four box rows are compared in units of the 320-pixel image, as
there (see that file's docs)."""

import numpy as np
import pytest

import kiln
from conftest import assert_close, data_file, reference_run

MODELS = ["mobilenetv2", "resnet18", "efficientnet_b0", "yolov8n"]
IMAGE_SIZE = 320.0
BOX_ROWS = 4


def natural_units(name: str, t: np.ndarray) -> np.ndarray:
    if name != "yolov8n":
        return t
    t = t.copy()
    t[:, :BOX_ROWS, :] /= IMAGE_SIZE
    return t


@pytest.mark.parametrize("name", MODELS)
def test_bench_model_matches_onnxruntime(name):
    path = data_file("bench", name, "model.onnx")
    x = np.load(data_file("bench", name, "input.npy"))
    compiled = kiln.compile(path)
    (inp,) = compiled.inputs
    outputs = compiled.run({inp.name: x})
    expected = reference_run(path, {inp.name: x})
    assert list(outputs) == list(expected)
    for out, ref in expected.items():
        assert_close(natural_units(name, outputs[out]), natural_units(name, ref), f"{name}/{out}")
