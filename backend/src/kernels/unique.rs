//! Unique along an axis (see `kiln_ir::dynamic`), in passes over the `n` slices of the axis
//! that use the result buffers as their only scratch (no runtime library, no workspace):
//! 1. `inverse[i]` = the first slice equal to slice `i` (`O(n^2)` slice comparisons);
//! 2. for each first occurrence `i`, its output position goes to `counts[i]`: the number of
//!    earlier first occurrences (`sorted=0`) or of smaller distinct slices (`sorted=1`,
//!    lexicographic); their number is the length;
//! 3. each first occurrence is copied to its position in `y` and its index to `indices`;
//! 4. `inverse[i]` becomes the position of its first occurrence; `counts` is then recounted;
//! 5. positions past the length are zeroed in `y` and `indices`.
//!
//! Elements compare as the evaluator's (`kiln_ir::eval::dynamic`): IEEE `==`/`<` for floats,
//! signed or unsigned integer comparisons. f16/bf16 never get here: the frontend computes
//! Unique on them in f32.

use crate::emit::{flags, load_at, store_at, when};
use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use crate::loops::{for_count, for_range};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::{DType, Op};

/// The layout of the input around the axis and the element kind.
struct Slices {
    x: Value,
    outer: i64,
    n: i64,
    inner: i64,
    esize: i64,
    ty: Type,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Float,
    Signed,
    Unsigned,
}

/// Emits the Unique kernel of `spec` (x -> y, indices, inverse, counts, len).
pub fn emit(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    let Op::Unique { axis, .. } = spec.op else { return Err(spec.unsupported("not a Unique")) };
    let sorted = matches!(spec.op, Op::Unique { sorted: true, .. });
    let ([x], 5) = (spec.inputs.as_slice(), spec.outputs.len()) else {
        return Err(spec.unsupported("expected one input and five outputs"));
    };
    let (outer, n, inner) = crate::kernels::split_at_axis(spec, &x.shape, axis)?;
    let (ty, kind) = element(x.dtype).ok_or_else(|| spec.unsupported(format!("dtype {} (compute in f32)", x.dtype)))?;
    let s = Slices {
        x: cx.inputs[0],
        outer: outer as i64,
        n: n as i64,
        inner: inner as i64,
        esize: x.dtype.size() as i64,
        ty,
        kind,
    };
    let [y, indices, inverse, counts, len] = [0, 1, 2, 3, 4].map(|k| cx.outputs[k]);
    let b = &mut *cx.b;
    first_occurrences(b, &s, inverse);
    positions(b, &s, sorted, inverse, counts, len);
    place(b, &s, inverse, counts, indices, y);
    for_count(b, 0, s.n, 1, |b, i| {
        let first = load_at(b, types::I64, inverse, i);
        let pos = load_at(b, types::I64, counts, first);
        store_at(b, inverse, i, pos);
    });
    recount(b, &s, inverse, counts);
    zero_tail(b, &s, len, indices, y);
    Ok(())
}

/// The Cranelift type and comparison kind of `dtype`, or `None` for storage-only types (half
/// and narrow types; the frontend computes Unique on them in f32).
fn element(dtype: DType) -> Option<(Type, Kind)> {
    Some(match dtype {
        DType::F32 => (types::F32, Kind::Float),
        DType::F64 => (types::F64, Kind::Float),
        DType::I8 => (types::I8, Kind::Signed),
        DType::I16 => (types::I16, Kind::Signed),
        DType::I32 => (types::I32, Kind::Signed),
        DType::I64 => (types::I64, Kind::Signed),
        DType::U8 | DType::Bool => (types::I8, Kind::Unsigned),
        DType::U16 => (types::I16, Kind::Unsigned),
        DType::U32 => (types::I32, Kind::Unsigned),
        DType::U64 => (types::I64, Kind::Unsigned),
        _ => return None,
    })
}

impl Slices {
    /// Byte offset of element `e` (`0..outer*inner`) of slice `s`, in a buffer of x's shape.
    fn offset(&self, b: &mut FunctionBuilder, s: Value, e: Value) -> Value {
        let o = b.ins().udiv_imm_u(e, self.inner);
        let k = b.ins().urem_imm_u(e, self.inner);
        let row = b.ins().imul_imm_s(o, self.n);
        let row = b.ins().iadd(row, s);
        let at = b.ins().imul_imm_s(row, self.inner);
        let at = b.ins().iadd(at, k);
        b.ins().imul_imm_s(at, self.esize)
    }
    fn load(&self, b: &mut FunctionBuilder, s: Value, e: Value) -> Value {
        let off = self.offset(b, s, e);
        let addr = b.ins().iadd(self.x, off);
        b.ins().load(self.ty, flags(), addr, 0)
    }
    fn less(&self, b: &mut FunctionBuilder, p: Value, q: Value) -> Value {
        match self.kind {
            Kind::Float => b.ins().fcmp(FloatCC::LessThan, p, q),
            Kind::Signed => b.ins().icmp(IntCC::SignedLessThan, p, q),
            Kind::Unsigned => b.ins().icmp(IntCC::UnsignedLessThan, p, q),
        }
    }
    fn equal(&self, b: &mut FunctionBuilder, p: Value, q: Value) -> Value {
        match self.kind {
            Kind::Float => b.ins().fcmp(FloatCC::Equal, p, q),
            _ => b.ins().icmp(IntCC::Equal, p, q),
        }
    }
    fn elements(&self) -> i64 {
        self.outer * self.inner
    }
    /// Non-zero (i8) when slices `i` and `j` are element-wise equal.
    fn same(&self, b: &mut FunctionBuilder, i: Value, j: Value) -> Value {
        let all = b.declare_var(types::I8);
        let one = b.ins().iconst(types::I8, 1);
        b.def_var(all, one);
        for_count(b, 0, self.elements(), 1, |b, e| {
            let (p, q) = (self.load(b, i, e), self.load(b, j, e));
            let eq = self.equal(b, p, q);
            let a = b.use_var(all);
            let a = b.ins().band(a, eq);
            b.def_var(all, a);
        });
        b.use_var(all)
    }
    /// Non-zero (i8) when slice `i` is lexicographically less than slice `j` (positions where
    /// neither element is less are skipped, as the evaluator does).
    fn before(&self, b: &mut FunctionBuilder, i: Value, j: Value) -> Value {
        let state = b.declare_var(types::I8); // 0 undecided, 1 less, 2 greater
        let zero = b.ins().iconst(types::I8, 0);
        b.def_var(state, zero);
        for_count(b, 0, self.elements(), 1, |b, e| {
            let (p, q) = (self.load(b, i, e), self.load(b, j, e));
            let (lt, gt) = (self.less(b, p, q), self.less(b, q, p));
            let (one, two, zero) =
                (b.ins().iconst(types::I8, 1), b.ins().iconst(types::I8, 2), b.ins().iconst(types::I8, 0));
            let decided = b.ins().select(gt, two, zero);
            let decided = b.ins().select(lt, one, decided);
            let cur = b.use_var(state);
            let open = b.ins().icmp_imm_u(IntCC::Equal, cur, 0);
            let next = b.ins().select(open, decided, cur);
            b.def_var(state, next);
        });
        let st = b.use_var(state);
        b.ins().icmp_imm_u(IntCC::Equal, st, 1)
    }
}

/// Pass 1: `inverse[i]` = the first slice equal to slice `i`.
fn first_occurrences(b: &mut FunctionBuilder, s: &Slices, inverse: Value) {
    for_count(b, 0, s.n, 1, |b, i| {
        let first = b.declare_var(types::I64);
        b.def_var(first, i);
        let zero = b.ins().iconst(types::I64, 0);
        for_range(b, zero, i, 1, |b, j| {
            let cur = b.use_var(first);
            let open = b.ins().icmp(IntCC::Equal, cur, i);
            when(b, open, |b| {
                let eq = s.same(b, j, i);
                let cur = b.use_var(first);
                let next = b.ins().select(eq, j, cur);
                b.def_var(first, next);
            });
        });
        let f = b.use_var(first);
        store_at(b, inverse, i, f);
    });
}

/// True (i8) when slice `i` is a first occurrence (after pass 1).
fn is_first(b: &mut FunctionBuilder, inverse: Value, i: Value) -> Value {
    let f = load_at(b, types::I64, inverse, i);
    b.ins().icmp(IntCC::Equal, f, i)
}

/// Pass 2: each first occurrence's output position into `counts[i]`; the length into `len`.
fn positions(b: &mut FunctionBuilder, s: &Slices, sorted: bool, inverse: Value, counts: Value, len: Value) {
    let zero = b.ins().iconst(types::I64, 0);
    b.ins().store(flags(), zero, len, 0);
    for_count(b, 0, s.n, 1, |b, i| {
        let first = is_first(b, inverse, i);
        when(b, first, |b| {
            let seen = b.ins().load(types::I64, flags(), len, 0);
            let pos = if sorted { smaller_uniques(b, s, inverse, i) } else { seen };
            store_at(b, counts, i, pos);
            let next = b.ins().iadd_imm_s(seen, 1);
            b.ins().store(flags(), next, len, 0);
        });
    });
}

/// The number of first occurrences whose slice is less than slice `i`.
fn smaller_uniques(b: &mut FunctionBuilder, s: &Slices, inverse: Value, i: Value) -> Value {
    let count = b.declare_var(types::I64);
    let zero = b.ins().iconst(types::I64, 0);
    b.def_var(count, zero);
    for_count(b, 0, s.n, 1, |b, j| {
        let first = is_first(b, inverse, j);
        when(b, first, |b| {
            let lt = s.before(b, j, i);
            let inc = b.ins().uextend(types::I64, lt);
            let c = b.use_var(count);
            let c = b.ins().iadd(c, inc);
            b.def_var(count, c);
        });
    });
    b.use_var(count)
}

/// Pass 3: first occurrences copied to their positions in `y` and `indices`.
fn place(b: &mut FunctionBuilder, s: &Slices, inverse: Value, counts: Value, indices: Value, y: Value) {
    for_count(b, 0, s.n, 1, |b, i| {
        let first = is_first(b, inverse, i);
        when(b, first, |b| {
            let pos = load_at(b, types::I64, counts, i);
            store_at(b, indices, pos, i);
            for_count(b, 0, s.elements(), 1, |b, e| {
                let v = s.load(b, i, e);
                let off = s.offset(b, pos, e);
                let addr = b.ins().iadd(y, off);
                b.ins().store(flags(), v, addr, 0);
            });
        });
    });
}

/// Pass 4b: `counts[p]` = how many slices have position `p`.
fn recount(b: &mut FunctionBuilder, s: &Slices, inverse: Value, counts: Value) {
    let zero = b.ins().iconst(types::I64, 0);
    for_count(b, 0, s.n, 1, |b, i| store_at(b, counts, i, zero));
    for_count(b, 0, s.n, 1, |b, i| {
        let p = load_at(b, types::I64, inverse, i);
        let c = load_at(b, types::I64, counts, p);
        let c = b.ins().iadd_imm_s(c, 1);
        store_at(b, counts, p, c);
    });
}

/// Pass 5: zeros past the length in `indices` and in `y`'s slices.
fn zero_tail(b: &mut FunctionBuilder, s: &Slices, len: Value, indices: Value, y: Value) {
    let used = b.ins().load(types::I64, flags(), len, 0);
    let end = b.ins().iconst(types::I64, s.n);
    let zero = b.ins().iconst(types::I64, 0);
    for_range(b, used, end, 1, |b, p| {
        store_at(b, indices, p, zero);
        let z = b.ins().iconst(Type::int(s.ty.bits() as u16).unwrap_or(types::I64), 0);
        for_count(b, 0, s.elements(), 1, |b, e| {
            let off = s.offset(b, p, e);
            let addr = b.ins().iadd(y, off);
            b.ins().store(flags(), z, addr, 0);
        });
    });
}
