//! What each reduction kind does to one element, to two partial results and to the final
//! result: `init`, `map`, `combine`, `finish` for f32 (scalar or f32x4), f64 and integers.
//! LogSumExp takes two passes (maximum, then the sum of shifted exponentials) for stability.

use crate::emit::{hsum, load};
use crate::loops::for_count;
use cranelift_codegen::ir::{
    condcodes::{FloatCC, IntCC},
    types, InstBuilder, Type, Value,
};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::{DType, ReduceKind};

/// A reduction kind specialised to one dtype.
pub(super) struct Reducer {
    pub kind: ReduceKind,
    pub dtype: DType,
}

/// Computes the address of element `i` of the reduced set.
pub(super) type AddrOf<'a> = dyn Fn(&mut FunctionBuilder, Value) -> Value + 'a;

impl Reducer {
    /// `None` when the kind has no lowering for `dtype`.
    pub fn new(kind: ReduceKind, dtype: DType) -> Option<Reducer> {
        use ReduceKind::*;
        let ok = match dtype {
            DType::F32 => true,
            DType::F64 => !matches!(kind, LogSum | LogSumExp),
            DType::Bool => false,
            _ => matches!(kind, Sum | Prod | Max | Min | L1 | SumSquare),
        };
        ok.then_some(Reducer { kind, dtype })
    }

    /// True when the single-pass f32x4 contiguous path applies.
    pub fn vectorisable(&self) -> bool {
        self.kind != ReduceKind::LogSumExp
    }

    fn konst(&self, b: &mut FunctionBuilder, ty: Type, v: f64) -> Value {
        if ty == types::F32 {
            b.ins().f32const(v as f32)
        } else if ty == types::F32X4 {
            let s = b.ins().f32const(v as f32);
            b.ins().splat(ty, s)
        } else if ty == types::F64 {
            b.ins().f64const(v)
        } else {
            b.ins().iconst(ty, v as i64)
        }
    }

    fn init(&self, b: &mut FunctionBuilder, ty: Type) -> Value {
        let float = self.dtype.is_float();
        match self.kind {
            ReduceKind::Prod => self.konst(b, ty, 1.0),
            ReduceKind::Max if float => self.konst(b, ty, f64::NEG_INFINITY),
            ReduceKind::Min if float => self.konst(b, ty, f64::INFINITY),
            ReduceKind::Max | ReduceKind::Min => {
                let bits = self.dtype.size() * 8;
                let signed = self.dtype.is_signed_int();
                let (lo, hi): (i64, i64) = if signed {
                    (i64::MIN >> (64 - bits), i64::MAX >> (64 - bits))
                } else {
                    (0, if bits == 64 { -1 } else { (1i64 << bits) - 1 })
                };
                let v = if self.kind == ReduceKind::Max { lo } else { hi };
                b.ins().iconst(ty, v)
            }
            _ => self.konst(b, ty, 0.0),
        }
    }

    fn map(&self, b: &mut FunctionBuilder, x: Value) -> Value {
        let float = self.dtype.is_float();
        match self.kind {
            ReduceKind::L1 if float => b.ins().fabs(x),
            ReduceKind::L1 if self.dtype.is_signed_int() => b.ins().iabs(x),
            ReduceKind::L2 | ReduceKind::SumSquare if float => b.ins().fmul(x, x),
            ReduceKind::SumSquare => b.ins().imul(x, x),
            _ => x,
        }
    }

    fn combine(&self, b: &mut FunctionBuilder, acc: Value, v: Value) -> Value {
        let float = self.dtype.is_float();
        match self.kind {
            ReduceKind::Prod if float => b.ins().fmul(acc, v),
            ReduceKind::Prod => b.ins().imul(acc, v),
            ReduceKind::Max | ReduceKind::Min if float => {
                let cc = if self.kind == ReduceKind::Max { FloatCC::GreaterThan } else { FloatCC::LessThan };
                let better = b.ins().fcmp(cc, v, acc);
                crate::math::select_float(b, better, v, acc)
            }
            ReduceKind::Max | ReduceKind::Min => {
                let signed = self.dtype.is_signed_int();
                let cc = match (self.kind == ReduceKind::Max, signed) {
                    (true, true) => IntCC::SignedGreaterThan,
                    (true, false) => IntCC::UnsignedGreaterThan,
                    (false, true) => IntCC::SignedLessThan,
                    (false, false) => IntCC::UnsignedLessThan,
                };
                let better = b.ins().icmp(cc, v, acc);
                b.ins().select(better, v, acc)
            }
            _ if float => b.ins().fadd(acc, v),
            _ => b.ins().iadd(acc, v),
        }
    }

    fn finish(&self, b: &mut FunctionBuilder, ty: Type, acc: Value, n: usize) -> Value {
        match self.kind {
            ReduceKind::Mean => {
                let k = self.konst(b, ty, n as f64);
                b.ins().fdiv(acc, k)
            }
            ReduceKind::L2 => b.ins().sqrt(acc),
            ReduceKind::LogSum => crate::math::log(b, acc),
            _ => acc,
        }
    }

    /// Reduces the `n` elements at `addr_of(0..n)` (lanes of `ty` side by side).
    pub fn reduce_with(&self, b: &mut FunctionBuilder, ty: Type, n: usize, addr_of: &AddrOf) -> Value {
        if self.kind == ReduceKind::LogSumExp {
            return self.log_sum_exp(b, ty, n, addr_of);
        }
        let acc = b.declare_var(ty);
        let init = self.init(b, ty);
        b.def_var(acc, init);
        for_count(b, 0, n as i64, 1, |b, i| {
            let p = addr_of(b, i);
            let x = load(b, ty, p, 0);
            let v = self.map(b, x);
            let a = b.use_var(acc);
            let a = self.combine(b, a, v);
            b.def_var(acc, a);
        });
        let a = b.use_var(acc);
        self.finish(b, ty, a, n)
    }

    fn log_sum_exp(&self, b: &mut FunctionBuilder, ty: Type, n: usize, addr_of: &AddrOf) -> Value {
        let max = Reducer { kind: ReduceKind::Max, dtype: self.dtype };
        let m = max.reduce_with(b, ty, n, addr_of);
        // An all -inf (or empty) set would give inf - inf; shift by 0 then.
        let inf = self.konst(b, ty, f64::NEG_INFINITY);
        let is_inf = b.ins().fcmp(FloatCC::Equal, m, inf);
        let zero = self.konst(b, ty, 0.0);
        let shift = crate::math::select_float(b, is_inf, zero, m);
        let acc = b.declare_var(ty);
        b.def_var(acc, zero);
        for_count(b, 0, n as i64, 1, |b, i| {
            let p = addr_of(b, i);
            let x = load(b, ty, p, 0);
            let d = b.ins().fsub(x, shift);
            let e = crate::math::exp(b, d);
            let a = b.use_var(acc);
            let a = b.ins().fadd(a, e);
            b.def_var(acc, a);
        });
        let s = b.use_var(acc);
        let l = crate::math::log(b, s);
        b.ins().fadd(shift, l)
    }

    /// f32 reduction of `n` contiguous elements at `x` with f32x4 accumulators.
    pub fn contiguous_f32(&self, b: &mut FunctionBuilder, x: Value, n: usize) -> Value {
        let v4 = types::F32X4;
        let n4 = (n / 4 * 4) as i64;
        let acc = b.declare_var(v4);
        let init = self.init(b, v4);
        b.def_var(acc, init);
        for_count(b, 0, n4, 4, |b, i| {
            let p = crate::emit::addr(b, x, i, 4);
            let xv = load(b, v4, p, 0);
            let v = self.map(b, xv);
            let a = b.use_var(acc);
            let a = self.combine(b, a, v);
            b.def_var(acc, a);
        });
        let av = b.use_var(acc);
        let mut a = if matches!(self.kind, ReduceKind::Max | ReduceKind::Min | ReduceKind::Prod) {
            let mut a = b.ins().extractlane(av, 0);
            for l in 1..4u8 {
                let e = b.ins().extractlane(av, l);
                a = self.combine(b, a, e);
            }
            a
        } else {
            hsum(b, av)
        };
        for i in n4..n as i64 {
            let xs = load(b, types::F32, x, i * 4);
            let v = self.map(b, xs);
            a = self.combine(b, a, v);
        }
        self.finish(b, types::F32, a, n)
    }
}
