"""Type stubs of kiln's native module (re-exported by ``kiln``)."""

import os
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

__version__: str

class SupportsSerializeToString:
    """Anything with ``SerializeToString() -> bytes``, such as ``onnx.ModelProto``."""

    def SerializeToString(self) -> bytes: ...

ModelLike = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, SupportsSerializeToString]
"""A model: a path to an ``.onnx`` file (external data is found next to it), the bytes of one,
or an ``onnx.ModelProto`` (serialized with ``SerializeToString``; onnx is not imported)."""

Shapes = Mapping[str, Sequence[int]]
"""Input shapes by input name, fixing symbolic dims (``{"x": [1, 3, 224, 224]}``)."""

Feeds = Union[Mapping[str, np.ndarray], Sequence[np.ndarray]]
"""Inputs by name, or a list in ``CompiledModel.inputs`` order."""

class KilnError(Exception):
    """Base class of every error kiln raises; ``str(e)`` is kiln's message.

    ``node``, ``op``, ``attribute`` and ``input`` are what the error names, or ``None``.
    """

    node: Optional[str]
    op: Optional[str]
    attribute: Optional[str]
    input: Optional[str]

class ModelError(KilnError):
    """The model cannot be read or imported: unreadable file, malformed bytes, unsupported op,
    opset or dtype, invalid attribute (the message names node, op and attribute)."""

class ShapeError(KilnError):
    """A shape is not known (give it with ``shapes=``) or does not fit an input."""

class InputError(KilnError):
    """What ``run`` (or ``shapes=``) was given does not fit the model: a missing or unknown
    input, a wrong count, dtype or shape; the message names the input."""

class CompileError(KilnError):
    """Code generation failed, or the target, CPU features or C name are not valid."""

class RunError(KilnError):
    """The compiled model reported a failure while running."""

class InternalError(KilnError):
    """A bug in kiln (invalid IR, optimizer failure, a caught panic): please report it."""

class TensorInfo:
    """One input or output of a compiled model."""

    @property
    def name(self) -> str: ...
    @property
    def dtype(self) -> np.dtype:
        """The numpy dtype ``run`` takes or returns. Types numpy lacks are widened: bfloat16,
        float8 and float4 to float32; int4/int2 to int8; uint4/uint2 to uint8 (ONNX Cast
        semantics)."""
    @property
    def shape(self) -> Tuple[int, ...]: ...
    @property
    def type(self) -> str:
        """kiln's name of the element type (``f32``, ``bf16``, ``i4``, ...)."""

class CompiledModel:
    """A model JIT-compiled for this CPU. ``run`` may be called from several threads at once."""

    @property
    def inputs(self) -> List[TensorInfo]:
        """The runtime inputs, in the order ``run`` takes a list."""
    @property
    def outputs(self) -> List[TensorInfo]:
        """The outputs, in graph order. A data-dependent output (NonZero, ...) shows its upper
        bound here and has its exact shape in ``run``'s result."""
    @property
    def notes(self) -> List[str]:
        """What the importer decided on the caller's behalf (e.g. symbolic dims set to 1)."""
    def run(self, feeds: Feeds) -> Dict[str, np.ndarray]:
        """Runs the model and returns ``{output name: array}``.

        Each input must be a ``numpy.ndarray`` of exactly the input's dtype and shape, else
        ``InputError`` naming the input is raised (as for a missing, unknown or extra input).
        A C-contiguous, aligned array is read in place; any other is copied once. The GIL is
        released while the model runs; do not write to an input array from another thread
        meanwhile. Output arrays own their memory (no copy is made).
        """

class CompiledObject:
    """A model compiled into a native object file and its C header."""

    @property
    def object(self) -> bytes:
        """The object file (ELF, Mach-O or COFF by the target)."""
    @property
    def header(self) -> str:
        """The C header describing the object's ABI."""
    @property
    def name(self) -> str:
        """The C name: the object exports ``{name}_run`` and ``{name}_workspace_size``."""
    @property
    def target(self) -> str:
        """The target triple."""
    @property
    def cpu(self) -> str:
        """``"native"`` or ``"generic"``."""
    @property
    def features(self) -> List[str]:
        """The CPU features the code may use."""
    @property
    def stats(self) -> Dict[str, int]:
        """Sizes: ``kernels``, ``code_bytes``, ``weight_bytes`` (in the object),
        ``model_weight_bytes`` (the model's own constants), ``workspace_bytes``, ``object_bytes``."""
    @property
    def inputs(self) -> List[TensorInfo]: ...
    @property
    def outputs(self) -> List[TensorInfo]: ...
    @property
    def notes(self) -> List[str]: ...

def compile(
    model: ModelLike,
    shapes: Optional[Shapes] = None,
    opt_level: int = 2,
    threads: Optional[int] = None,
) -> CompiledModel:
    """JIT-compiles ``model`` for this CPU.

    ``opt_level``: 0 runs no graph passes, 2 (default) all of them; anything else raises
    ``ValueError``. ``threads``: the threads one run uses, 1 to 256 (``None``: the machine's
    physical cores; anything else raises ``ValueError``); outputs are the same bits for every
    count. ``run`` may also be called from several Python threads (it releases the GIL).

    Raises ``ModelError``, ``ShapeError``, ``InputError`` (a ``shapes`` name that is not an
    input), ``CompileError`` or ``InternalError``; ``TypeError`` for an argument of the wrong
    Python type.
    """

def compile_object(
    model: ModelLike,
    target: Optional[str] = None,
    cpu: Optional[str] = None,
    features: Union[str, Sequence[str], None] = None,
    name: Optional[str] = None,
    shapes: Optional[Shapes] = None,
    opt_level: int = 2,
) -> CompiledObject:
    """Compiles ``model`` into a native object and C header, as ``kiln compile`` does.

    ``target``: a target triple (the host's by default); ``cpu``: ``"native"`` (default for
    the host triple) or ``"generic"`` (default otherwise); ``features``: edits after the CPU
    level (``"+avx2,-fma"`` or a list); ``name``: the C name (the file's stem, or ``model`` for
    bytes, by default).
    """
