//! The epilogue of `Op::Fused` as the base kernels see it: a checked program plus the extra
//! operands, each classified once by its broadcast strides over a *view* of the output.
//!
//! A view is the output's dimensions as a base kernel walks them (conv: `[N, M, OH, OW]`, a 1-D
//! conv with a unit `OH` inserted; 1x1 conv: `[N, M, OH*OW]`; gemm: `[M, N]`; matmul:
//! `[batch.., M, N]`). Every extra operand has one element stride per view dimension, 0 where it
//! is broadcast. At a store site the kernel gives the coordinates of the first lane (one value
//! per view dimension); lanes run along the last dimension, whose stride is always 0 or 1 (it is
//! the operand's own last stride, merging dimensions keeps it): stride 1 loads a vector, stride
//! 0 loads a scalar and splats it. Coordinates with stride 0 cost nothing; the rest is one
//! multiply-add each, which Cranelift's LICM hoists out of the loops they are invariant in.
//! Outer dimensions a kernel walks in an outer loop (the image of a 1x1 conv, the batch of a
//! matmul) are folded into the operand pointers once per iteration by [`FusedEpilogue::rebase`].
//!
//! The program's constants are moved to stack slots at every site ([`super::consts`]) so they
//! do not occupy registers across the base kernel's hot loop.
//!
//! Extra operands never alias the output (the memory planner aliases only Reshape/Identity),
//! which the kernels rely on when they recompute and rewrite an overlapping column block.

use super::consts::ConstSlots;
use super::program::Emitter;
use crate::emit::{addr, clif_type, load};
use crate::kernels::matmul::broadcast_offset;
use cranelift_codegen::ir::{InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;

/// One extra operand: base pointer and element strides over the view's dimensions.
#[derive(Clone, Debug)]
struct Extra {
    ptr: Value,
    strides: Vec<i64>,
}

/// A checked epilogue bound to its operands (see the module docs).
#[derive(Clone, Debug)]
pub(crate) struct FusedEpilogue {
    emitter: Emitter,
    consts: ConstSlots,
    dims: Vec<usize>,
    extras: Vec<Extra>,
}

impl FusedEpilogue {
    /// The epilogue over output `out` with extra operands `(pointer, shape)`, each of which
    /// must broadcast to `out` (checked by the caller).
    pub fn new(emitter: Emitter, out: &[usize], extras: &[(Value, &[usize])]) -> FusedEpilogue {
        let extras = extras.iter().map(|&(ptr, shape)| Extra { ptr, strides: broadcast_strides(shape, out) }).collect();
        FusedEpilogue { emitter, consts: ConstSlots::default(), dims: out.to_vec(), extras }
    }

    /// The program emitter (for the fallback loop).
    pub fn emitter(&self) -> &Emitter {
        &self.emitter
    }

    /// The view with a unit dimension inserted before dimension `axis`.
    pub fn with_unit_axis(&self, axis: usize) -> FusedEpilogue {
        let mut v = self.clone();
        v.dims.insert(axis, 1);
        v.extras.iter_mut().for_each(|e| e.strides.insert(axis, 0));
        v
    }

    /// The view with its last two dimensions merged into one, or `None` when some operand is
    /// not linear across them (e.g. a `[OW]` row broadcast over `OH`): lanes of a merged
    /// dimension cross rows, so every operand must step uniformly along it.
    pub fn merge_last_two(&self) -> Option<FusedEpilogue> {
        let r = self.dims.len();
        if r < 2 {
            return None;
        }
        let (outer, inner) = (self.dims[r - 2], self.dims[r - 1]);
        let linear = |s: &[i64]| outer == 1 || inner == 1 || s[r - 2] == s[r - 1] * inner as i64;
        if !self.extras.iter().all(|e| linear(&e.strides)) {
            return None;
        }
        let mut v = self.clone();
        v.dims.truncate(r - 2);
        v.dims.push(outer * inner);
        for e in &mut v.extras {
            let (so, si) = (e.strides[r - 2], e.strides[r - 1]);
            // With a unit dimension the other one's stride is the merged stride.
            let merged = if inner == 1 { so } else { si };
            e.strides.truncate(r - 2);
            e.strides.push(merged);
        }
        Some(v)
    }

    /// The view of the remaining dimensions at flat index `flat` over the first `lead`
    /// dimensions: operand pointers advanced, those dimensions dropped.
    pub fn rebase(&self, b: &mut FunctionBuilder, flat: Value, lead: usize) -> FusedEpilogue {
        let size = clif_type(self.emitter.dtype()).bytes() as i64;
        let dims = &self.dims[..lead];
        let extras = self
            .extras
            .iter()
            .map(|e| {
                let (outer, inner) = e.strides.split_at(lead);
                let ptr = if outer.iter().all(|&s| s == 0) {
                    e.ptr
                } else {
                    let off = broadcast_offset(b, flat, dims, outer);
                    addr(b, e.ptr, off, size)
                };
                Extra { ptr, strides: inner.to_vec() }
            })
            .collect();
        FusedEpilogue {
            emitter: self.emitter.clone(),
            consts: self.consts.clone(),
            dims: self.dims[lead..].to_vec(),
            extras,
        }
    }

    /// Applies the epilogue to `val` (a scalar, or a vector whose lanes are consecutive along
    /// the view's last dimension) whose first lane sits at view coordinates `at`.
    ///
    /// `at` must hold one value per view dimension (debug-asserted).
    pub fn apply(&self, b: &mut FunctionBuilder, val: Value, at: &[Value]) -> Value {
        debug_assert_eq!(at.len(), self.dims.len(), "one coordinate per view dimension");
        let ty = b.func.dfg.value_type(val);
        let elem = ty.lane_type();
        let last = self.dims.len() - 1;
        let mut args = Vec::with_capacity(1 + self.extras.len());
        args.push(val);
        for e in &self.extras {
            let p = self.element_ptr(b, e, at);
            let v = if ty.is_vector() && e.strides[last] != 0 {
                load(b, ty, p, 0)
            } else {
                let s = load(b, elem, p, 0);
                if ty.is_vector() {
                    b.ins().splat(ty, s)
                } else {
                    s
                }
            };
            args.push(v);
        }
        let block = b.current_block();
        let before = block.and_then(|bl| b.func.layout.last_inst(bl));
        let y = self.emitter.emit(b, &args);
        if let Some(bl) = block.filter(|&bl| b.current_block() == Some(bl)) {
            self.consts.spill(b.func, bl, before);
        }
        y
    }

    /// The address of operand `e`'s element at view coordinates `at`.
    fn element_ptr(&self, b: &mut FunctionBuilder, e: &Extra, at: &[Value]) -> Value {
        let size = clif_type(self.emitter.dtype()).bytes() as i64;
        let mut idx: Option<Value> = None;
        for (&s, &c) in e.strides.iter().zip(at) {
            if s == 0 {
                continue;
            }
            let term = if s == 1 { c } else { b.ins().imul_imm_s(c, s) };
            idx = Some(match idx {
                Some(i) => b.ins().iadd(i, term),
                None => term,
            });
        }
        match idx {
            Some(i) => addr(b, e.ptr, i, size),
            None => e.ptr,
        }
    }
}

/// Element strides of `shape` seen through its broadcast to `out` (0 on broadcast axes).
fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<i64> {
    let dense = kiln_ir::strides_of(shape);
    let skip = out.len() - shape.len();
    (0..out.len()).map(|k| if k < skip || shape[k - skip] == 1 { 0 } else { dense[k - skip] as i64 }).collect()
}
