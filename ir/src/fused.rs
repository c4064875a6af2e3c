//! Fused operations: the forms the graph optimizer rewrites chains of ops into, and the backend
//! generates as one kernel each.
//!
//! - [`Program`]: a straight-line elementwise program in SSA form. Step `i` defines register
//!   `t{i}` from unary/binary ops over earlier registers and the op's arguments `x{k}`; the
//!   result is the last register. Arguments broadcast (numpy rules) to the output shape, which
//!   is the broadcast of all arguments, so one loop nest evaluates the whole chain with every
//!   intermediate in a register instead of a buffer. `Op::Elementwise` is a program over the
//!   node's inputs.
//! - `Op::Fused { base, base_inputs, epilogue }`: a Conv, Gemm or MatMul (`base`, whose operands
//!   are the node's first `base_inputs` inputs) whose every result element goes through
//!   `epilogue` before it is stored. In the epilogue `x0` is the base's result and `x{k}` (k >= 1)
//!   is node input `base_inputs + k - 1`, which must broadcast to the base's output shape without
//!   growing it (a per-channel bias or scale, a residual of the same shape, a scalar). This is how
//!   bias, activation and residual add become part of the conv's output loop.
//!
//! Programs keep the operand dtype: comparisons (which give bool) are not allowed in them.
//! The text form (a string attribute) is `t0=sigmoid(x0); t1=mul(x0,t0)`, with unary
//! attributes in brackets: `t0=clip[min=0,max=6](x0)`; it is printed by `crate::print` and
//! parsed by `crate::parse` so that it round-trips bit-exactly like every other attribute.

use crate::dtype::TensorType;
use crate::eval::elementwise;
use crate::infer::{binary_accepts, infer_types, unary_accepts};
use crate::op::{BinaryOp, Op, UnaryOp};
use crate::tensor::{broadcast_shapes, Tensor};

/// A value a step reads: an argument of the program or an earlier step's register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operand {
    Arg(usize),
    Reg(usize),
}

/// One step of a [`Program`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    Unary(UnaryOp, Operand),
    Binary(BinaryOp, Operand, Operand),
}

impl Step {
    /// The operands the step reads, in order.
    pub fn operands(&self) -> Vec<Operand> {
        match *self {
            Step::Unary(_, a) => vec![a],
            Step::Binary(_, a, b) => vec![a, b],
        }
    }
    /// The op's name (`relu`, `mul`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Step::Unary(u, _) => u.name(),
            Step::Binary(b, _, _) => b.name(),
        }
    }
}

/// A straight-line elementwise program; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Program {
    pub steps: Vec<Step>,
}

impl Program {
    /// The value the program returns: the last register, or `x0` when it has no steps.
    pub fn result(&self) -> Operand {
        match self.steps.len() {
            0 => Operand::Arg(0),
            n => Operand::Reg(n - 1),
        }
    }

    /// One more than the highest argument index read (0 when none is read).
    pub fn arity(&self) -> usize {
        let args = self.steps.iter().flat_map(|s| s.operands()).chain([self.result()]);
        args.filter_map(|o| if let Operand::Arg(k) = o { Some(k + 1) } else { None }).max().unwrap_or(0)
    }

    /// The program's result type for arguments of types `args`: checks that every operand
    /// refers to an argument or an earlier step, that all arguments share one dtype every step
    /// accepts, and that the arguments broadcast together.
    pub fn infer(&self, args: &[&TensorType]) -> Result<TensorType, String> {
        let first = args.first().ok_or("an elementwise program needs at least one argument")?;
        if let Some(t) = args.iter().find(|t| t.dtype != first.dtype) {
            return Err(format!("arguments must share one dtype, found {first} and {t}"));
        }
        if self.arity() > args.len() {
            return Err(format!("program reads x{} but has {} arguments", self.arity() - 1, args.len()));
        }
        for (i, step) in self.steps.iter().enumerate() {
            self.check_step(i, step, first.dtype)?;
        }
        let mut shape = first.shape.clone();
        for (k, t) in args.iter().enumerate() {
            shape = broadcast_shapes(&shape, &t.shape)
                .ok_or_else(|| format!("argument x{k} {t} does not broadcast with {:?}", shape))?;
        }
        Ok(TensorType::new(first.dtype, shape))
    }

    fn check_step(&self, i: usize, step: &Step, dtype: crate::DType) -> Result<(), String> {
        for op in step.operands() {
            if let Operand::Reg(j) = op {
                if j >= i {
                    return Err(format!("step t{i} reads t{j}, which is not defined before it"));
                }
            }
        }
        let ok = match *step {
            Step::Unary(u, _) => unary_accepts(u, dtype),
            Step::Binary(b, _, _) => !b.is_comparison() && binary_accepts(b, dtype),
        };
        if !ok {
            return Err(format!("step t{i} ({}) does not accept dtype {dtype} or changes it", step.name()));
        }
        Ok(())
    }

    /// Evaluates the program on `args` (reference semantics: each step on whole tensors).
    pub fn eval(&self, args: &[&Tensor]) -> Result<Tensor, String> {
        let types: Vec<TensorType> = args.iter().map(|t| t.ty()).collect();
        let out = self.infer(&types.iter().collect::<Vec<_>>())?;
        let mut regs: Vec<Tensor> = Vec::with_capacity(self.steps.len());
        let fetch = |regs: &Vec<Tensor>, o: Operand| -> Tensor {
            match o {
                Operand::Arg(k) => args[k].clone(),
                Operand::Reg(j) => regs[j].clone(),
            }
        };
        for step in &self.steps {
            let value = match *step {
                Step::Unary(u, a) => elementwise::unary(u, &fetch(&regs, a))?,
                Step::Binary(b, a, c) => {
                    let (x, y) = (fetch(&regs, a), fetch(&regs, c));
                    let shape = broadcast_shapes(x.shape(), y.shape()).ok_or("operands do not broadcast")?;
                    elementwise::binary(b, &x, &y, &shape)?
                }
            };
            regs.push(value);
        }
        let result = fetch(&regs, self.result());
        if result.shape() == out.shape.as_slice() {
            return Ok(result);
        }
        crate::eval::movement::expand(&result, &out.shape)
    }
}

/// The ops `Op::Fused` accepts as its base (`WinogradOutput` stands for a conv's output).
pub fn is_fusable_base(op: &Op) -> bool {
    match op {
        Op::ChannelsLast(inner) => matches!(**inner, Op::Conv(_) | Op::WinogradOutput { .. }),
        _ => matches!(op, Op::Conv(_) | Op::Gemm { .. } | Op::MatMul | Op::WinogradOutput { .. }),
    }
}

/// Output type of `Op::Fused`: the base's output, checked against the epilogue's arguments.
pub fn infer_fused(
    base: &Op,
    base_inputs: usize,
    epilogue: &Program,
    inputs: &[&TensorType],
) -> Result<TensorType, String> {
    if !is_fusable_base(base) {
        return Err(format!("attribute `base`: {} cannot take an epilogue (conv, gemm or matmul only)", base.name()));
    }
    if base_inputs > inputs.len() {
        return Err(format!("attribute `base_inputs` = {base_inputs} exceeds the {} inputs", inputs.len()));
    }
    let out = infer_types(base, &inputs[..base_inputs])?.remove(0);
    let mut args = vec![&out];
    args.extend(&inputs[base_inputs..]);
    let result = epilogue.infer(&args)?;
    if result.shape != out.shape {
        return Err(format!("epilogue operands broadcast the result {out} to {result}; they must not grow it"));
    }
    Ok(result)
}

/// Evaluates `Op::Fused` (reference semantics: the base op, then the epilogue).
pub fn eval_fused(base: &Op, base_inputs: usize, epilogue: &Program, inputs: &[&Tensor]) -> Result<Tensor, String> {
    let out = crate::eval::eval_op(base, &inputs[..base_inputs])?.remove(0);
    let mut args = vec![&out];
    args.extend(&inputs[base_inputs..]);
    epilogue.eval(&args)
}
