"""kiln.compile_object: the object bytes, header and sizes, for the host and for AArch64."""

import struct

import numpy as np

import kiln
from conftest import EXAMPLE

ELF_MAGIC = b"\x7fELF"
EM_X86_64, EM_AARCH64 = 62, 183


def elf_machine(obj: bytes) -> int:
    assert obj[:4] == ELF_MAGIC
    return struct.unpack_from("<H", obj, 18)[0]


def test_host_object_header_and_stats():
    compiled = kiln.compile_object(str(EXAMPLE))
    assert compiled.name == "mobilenet_tiny"
    assert compiled.cpu == "native"
    assert f"{compiled.name}_run" in compiled.header and f"{compiled.name}_workspace_size" in compiled.header
    assert compiled.stats["object_bytes"] == len(compiled.object)
    assert set(compiled.stats) == {
        "kernels", "code_bytes", "weight_bytes", "model_weight_bytes", "workspace_bytes", "object_bytes"
    }
    assert compiled.stats["kernels"] > 0 and compiled.stats["code_bytes"] > 0
    # The example's weights are float32 initializers: the object carries at least their bytes.
    import onnx
    from onnx import numpy_helper

    weights = sum(numpy_helper.to_array(t).nbytes for t in onnx.load(str(EXAMPLE)).graph.initializer)
    assert compiled.stats["weight_bytes"] >= weights * 0.5
    assert compiled.stats["model_weight_bytes"] >= weights * 0.5
    (inp,) = compiled.inputs
    assert inp.name == "input" and inp.dtype == np.float32 and inp.shape == (1, 3, 96, 96)
    if compiled.target.startswith("x86_64-unknown-linux"):
        assert elf_machine(compiled.object) == EM_X86_64


def test_cross_object_for_aarch64_with_name_and_shapes():
    compiled = kiln.compile_object(
        EXAMPLE.read_bytes(), target="aarch64-unknown-linux-gnu", name="tiny", shapes={"input": [2, 3, 96, 96]}
    )
    assert compiled.cpu == "generic" and compiled.target == "aarch64-unknown-linux-gnu"
    assert elf_machine(compiled.object) == EM_AARCH64
    assert "tiny_run" in compiled.header
    assert compiled.inputs[0].shape == (2, 3, 96, 96)


def test_features_change_the_feature_set():
    base = kiln.compile_object(EXAMPLE, target="x86_64-unknown-linux-gnu", cpu="generic")
    more = kiln.compile_object(EXAMPLE, target="x86_64-unknown-linux-gnu", cpu="generic", features=["+avx2", "+fma"])
    assert "avx2" not in base.features
    assert {"avx2", "fma"} <= set(more.features)
