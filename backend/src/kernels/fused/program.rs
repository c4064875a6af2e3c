//! The program emitter: a checked [`Program`] turned into Cranelift instructions over argument
//! values, one call per element (or per `f32x4` of elements).
//!
//! Every step is lowered by the same per-element code as the standalone Unary/Binary kernels
//! (`elementwise::float` serves `f32`, `f32x4` and `f64`; `elementwise::int` serves integers
//! and bools, scalar lanes only), so a fused chain computes exactly what the unfused ops would.
//! All checks happen once, in [`Emitter::new`]: emitting never fails, which lets the base
//! kernels call [`Emitter::emit`] from deep inside their store loops.

use crate::error::Result;
use crate::kernel::KernelSpec;
use crate::kernels::elementwise::{float, int};
use cranelift_codegen::ir::Value;
use cranelift_frontend::FunctionBuilder;
use kiln_ir::{DType, Operand, Program, Step};

/// A program checked for one dtype and argument count, ready to emit.
#[derive(Clone, Debug)]
pub(crate) struct Emitter {
    program: Program,
    dtype: DType,
    has_round: bool,
}

impl Emitter {
    /// Checks `program` over `args` arguments of `dtype`; errors name the step and what is
    /// unsupported. `has_round` says whether vector floor/ceil/nearest lower without libcalls.
    pub fn new(spec: &KernelSpec, program: &Program, dtype: DType, args: usize, has_round: bool) -> Result<Emitter> {
        if program.arity() > args {
            return Err(spec.unsupported(format!("program reads x{} but has {args} arguments", program.arity() - 1)));
        }
        for (i, step) in program.steps.iter().enumerate() {
            check_step(spec, i, step, dtype)?;
        }
        Ok(Emitter { program: program.clone(), dtype, has_round })
    }

    /// The dtype every argument and the result have.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// True when the program may run on `f32x4` values (f32 programs only).
    pub fn vectorizable(&self) -> bool {
        self.dtype == DType::F32
    }

    /// Emits the steps over `args` (all vectors of one type, or all scalars) and returns the
    /// result value.
    ///
    /// # Panics
    /// When `args` has fewer values than the argument count given to [`Emitter::new`].
    pub fn emit(&self, b: &mut FunctionBuilder, args: &[Value]) -> Value {
        let mut regs: Vec<Value> = Vec::with_capacity(self.program.steps.len());
        let fetch = |regs: &[Value], o: Operand| match o {
            Operand::Arg(k) => args[k],
            Operand::Reg(j) => regs[j],
        };
        for step in &self.program.steps {
            let v = match *step {
                Step::Unary(u, a) => {
                    let x = fetch(&regs, a);
                    if self.dtype.is_float() {
                        float::unary(b, u, x, self.has_round)
                    } else {
                        int::unary(b, u, x, self.dtype)
                    }
                }
                Step::Binary(op, a, c) => {
                    let (x, y) = (fetch(&regs, a), fetch(&regs, c));
                    if self.dtype.is_float() {
                        float::binary(b, op, x, y, self.has_round)
                    } else {
                        int::binary(b, op, x, y, self.dtype)
                    }
                }
            };
            regs.push(v);
        }
        fetch(&regs, self.program.result())
    }
}

/// Checks that step `i` reads only earlier registers and has a lowering for `dtype` that keeps
/// the dtype (comparisons, which give bool, are not allowed in programs).
fn check_step(spec: &KernelSpec, i: usize, step: &Step, dtype: DType) -> Result<()> {
    if let Some(j) = step.operands().iter().find_map(|o| match o {
        Operand::Reg(j) if *j >= i => Some(*j),
        _ => None,
    }) {
        return Err(spec.unsupported(format!("program step t{i} reads t{j}, which is not defined before it")));
    }
    let checked = match *step {
        Step::Unary(u, _) if dtype.is_float() => float::check_unary(u),
        Step::Unary(u, _) => int::check_unary(u, dtype),
        Step::Binary(op, _, _) if op.is_comparison() => Err("comparison (changes the dtype)"),
        Step::Binary(op, _, _) if dtype.is_float() => float::check_binary(op),
        Step::Binary(op, _, _) => int::check_binary(op, dtype),
    };
    checked.map_err(|what| spec.unsupported(format!("program step t{i} ({}): {what} on {dtype}", step.name())))
}
