//! The kernel interface: how one IR node becomes one Cranelift function.
//!
//! A kernel is a function `fn(in_0: ptr, .., in_n: ptr, out_0: ptr, .., out_m: ptr)` with no
//! result. Every pointer is to a dense row-major buffer of the node's input/output type (weights
//! in read-only data, activations in the arena). The kernel is specialised to exactly these
//! types and the op's attributes; two nodes with equal [`KernelSpec::key`] share one function.
//! Families (one file each under `kernels/`) implement [`emit_kernel`] for their ops.

use crate::error::{BackendError, Result};
use cranelift_codegen::ir::{Type, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::{Op, TensorType};

/// What a kernel computes: the op and the exact types of its operands.
#[derive(Clone, Debug)]
pub struct KernelSpec {
    /// The ONNX node name, for diagnostics only (not part of the key).
    pub node: String,
    pub op: Op,
    pub inputs: Vec<TensorType>,
    pub outputs: Vec<TensorType>,
}

impl KernelSpec {
    /// Identity for deduplication: op, attributes and operand types.
    pub fn key(&self) -> String {
        format!("{:?}|{:?}|{:?}", self.op, self.inputs, self.outputs)
    }
    /// An `Unsupported` error naming this node and op.
    pub fn unsupported(&self, msg: impl Into<String>) -> BackendError {
        BackendError::Unsupported { node: self.node.clone(), op: self.op.name().to_string(), msg: msg.into() }
    }
}

/// The state a family's emitter works with: the builder positioned in the kernel's entry block
/// (sealed), the pointer type, and the parameter values.
pub struct KernelCtx<'a, 'b> {
    pub b: &'a mut FunctionBuilder<'b>,
    pub ptr: Type,
    pub inputs: Vec<Value>,
    pub outputs: Vec<Value>,
}

/// Emits the body of the kernel for `spec`. The caller adds the final `return`.
pub fn emit_kernel(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    crate::kernels::emit(cx, spec)
}
