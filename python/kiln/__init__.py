"""kiln: an ONNX compiler for edge CPUs, from Python.

>>> import kiln, numpy as np
>>> model = kiln.compile("examples/mobilenet_tiny.onnx")
>>> x = np.load("examples/input.npy")
>>> outputs = model.run({model.inputs[0].name: x})   # {output name: numpy array}

- ``compile(model, shapes=None, opt_level=2, threads=None)`` JIT-compiles a model (a path,
  bytes or an ``onnx.ModelProto``) for this CPU into a ``CompiledModel``;
- ``compile_object(model, target=None, cpu=None, features=None, name=None, shapes=None)``
  builds a native object file and its C header (``CompiledObject``);
- every error is a ``KilnError``: ``ModelError``, ``ShapeError``, ``InputError``,
  ``CompileError``, ``RunError``, ``InternalError``.
"""

from ._kiln import (
    CompileError,
    CompiledModel,
    CompiledObject,
    InputError,
    InternalError,
    KilnError,
    ModelError,
    RunError,
    ShapeError,
    TensorInfo,
    __version__,
    compile,
    compile_object,
)

__all__ = [
    "CompileError",
    "CompiledModel",
    "CompiledObject",
    "InputError",
    "InternalError",
    "KilnError",
    "ModelError",
    "RunError",
    "ShapeError",
    "TensorInfo",
    "__version__",
    "compile",
    "compile_object",
]
