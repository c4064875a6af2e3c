//! The size cap on every tensor of an imported graph.
//!
//! ONNX dims are untrusted `int64`s: a model may declare an input of `[3, 2^31]` floats, or
//! attributes (strides, pads, `output_shape`) that blow a small input up to terabytes. Shape
//! arithmetic is overflow-checked (`kiln_ir::infer_types`), but a product that fits a `usize`
//! can still be far beyond any memory: code generation then builds per-axis copy plans and the
//! runtime an arena of that size, and the process aborts on a failed allocation instead of
//! reporting an error. So [`crate::import::Importer::emit`] refuses any node whose inputs or
//! outputs exceed [`MAX_TENSOR_BYTES`], naming the node, op and tensor type.
//!
//! 2 GiB per tensor is far beyond the models kiln targets (edge CPUs; the largest activation
//! of the bundled and ONNX test models is a few MiB) and equals protobuf's message limit, the
//! largest tensor an ONNX file can hold without external data.

use kiln_ir::TensorType;

/// The largest tensor (bytes) an imported graph may hold: 2 GiB.
pub const MAX_TENSOR_BYTES: usize = 1 << 31;

/// Errors with a message naming `ty` when a tensor of that type exceeds [`MAX_TENSOR_BYTES`]
/// (or its byte size overflows).
pub(crate) fn check_tensor_size(what: &str, ty: &TensorType) -> Result<(), String> {
    let bytes = ty.shape.iter().try_fold(ty.dtype.size(), |a, &d| a.checked_mul(d));
    match bytes {
        Some(b) if b <= MAX_TENSOR_BYTES => Ok(()),
        Some(b) => Err(format!("{what} {ty} is {b} bytes, over kiln's limit of {MAX_TENSOR_BYTES} bytes per tensor")),
        None => Err(format!("{what} {ty}: byte size overflows")),
    }
}
