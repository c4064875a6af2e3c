//! Nearest resize: an exact element copy, the same code for every dtype (elements are moved as
//! integers of their byte size).
//!
//! Each resized axis gets a table with one record per output position: `[offset]`, or
//! `[offset, fill_flag, fill_bits]` when some position of the axis produces a constant (the
//! extrapolation value of tf_crop_and_resize, or 0 when exclude_outside zeroed the picked
//! weight). Filled positions read offset 0 (always in bounds) and the innermost store selects
//! the fill bits of the last filling axis, as the reference's sequential definition does. Axes
//! too long for a table produce the same values in the loop ([`super::computed`]). The
//! innermost axis is copied one element at a time even when it is not resized (FIXME: use
//! wide copies of runs there).

use super::computed;
use super::table::{self, Table, Word};
use super::taps::{nearest_pick, Tap};
use super::{resized_axes, Axis, Job, Resized, Source};
use crate::emit::flags;
use crate::error::Result;
use crate::loops::for_count;
use cranelift_codegen::ir::{condcodes::FloatCC, types, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::{DType, Tensor};

/// What the loops carry: the source element pointer and the pending fill (flag, bits).
#[derive(Clone, Copy)]
struct State {
    src: Value,
    dst: Value,
    fill: Option<(Value, Value)>,
}

/// The loop nest with the sampling of each resized axis (`None`: axis copied unchanged).
struct Plan {
    axes: Vec<Axis>,
    resized: Vec<Option<Resized>>,
    ity: Type,
    /// Bits of the extrapolation value as one element (computed axes).
    extrapolation_bits: i64,
}

/// Emits the nearest-resize copy of `job.src` into `job.dst`.
pub fn emit(b: &mut FunctionBuilder, job: &Job, dtype: DType) -> Result<()> {
    let (axes, a) = (&job.axes, job.attrs);
    let tables: Vec<Option<(Table, bool)>> =
        axes.iter().zip(&job.taps).map(|(ax, t)| t.as_ref().map(|t| axis_table(t, ax.in_stride, dtype))).collect();
    let resized = resized_axes(b, job, &tables);
    let extrapolation_bits = fill_bits(a.extrapolation_value.get() as f64, dtype);
    let plan = Plan { axes: axes.to_vec(), resized, ity: int_type(dtype.size()), extrapolation_bits };
    level(b, &plan, 0, State { src: job.src, dst: job.dst, fill: None });
    Ok(())
}

/// The integer type of an element of `size` bytes.
fn int_type(size: usize) -> Type {
    match size {
        1 => types::I8,
        2 => types::I16,
        4 => types::I32,
        _ => types::I64,
    }
}

/// The table of one resized axis and whether it has fill records.
fn axis_table(taps: &[Tap], in_stride: i64, dtype: DType) -> (Table, bool) {
    let picks: Vec<std::result::Result<usize, f64>> = taps.iter().map(nearest_pick).collect();
    let fills = picks.iter().any(|p| p.is_err());
    let mut words = Vec::new();
    for p in &picks {
        words.push(Word::I64(p.map_or(0, |i| i as i64 * in_stride)));
        if fills {
            words.push(Word::I64(p.is_err() as i64));
            words.push(Word::I64(p.err().map_or(0, |v| fill_bits(v, dtype))));
        }
    }
    (Table { words, record: if fills { 24 } else { 8 } }, fills)
}

/// `v` converted to `dtype` as the reference's `saturate_cast` (integers round half to even),
/// as the little-endian bit pattern of one element.
fn fill_bits(v: f64, dtype: DType) -> i64 {
    let v = if dtype.is_int() { v.round_ties_even() } else { v };
    let bytes = Tensor::from_f64(dtype, vec![1], &[v]).to_le_bytes();
    let mut word = [0u8; 8];
    let n = bytes.len().min(8);
    word[..n].copy_from_slice(&bytes[..n]);
    i64::from_le_bytes(word)
}

fn level(b: &mut FunctionBuilder, p: &Plan, a: usize, st: State) {
    let Some(&ax) = p.axes.get(a) else {
        return copy_one(b, p, st);
    };
    let res = p.resized[a];
    for_count(b, 0, ax.n as i64, 1, |b, i| {
        let d = b.ins().imul_imm_s(i, ax.out_stride);
        let dst = b.ins().iadd(st.dst, d);
        let st = match res {
            None => {
                let s = b.ins().imul_imm_s(i, ax.in_stride);
                State { src: b.ins().iadd(st.src, s), dst, fill: st.fill }
            }
            Some(r) => {
                let (off, fill) = sample(b, p, r, i);
                let src = b.ins().iadd(st.src, off);
                let fill = match fill {
                    Some(f) => Some(merge_fill(b, f, st.fill)),
                    None => st.fill,
                };
                State { src, dst, fill }
            }
        };
        level(b, p, a + 1, st);
    });
}

/// The source byte offset of position `i` of a resized axis, and its (flag, bits) fill when
/// the axis has fills.
fn sample(b: &mut FunctionBuilder, p: &Plan, r: Resized, i: Value) -> (Value, Option<(Value, Value)>) {
    match r.src {
        Source::Table(slot) => {
            let rec = table::record_addr(b, slot, i);
            let off = table::load_i64(b, rec, 0);
            let fill = r.fills.then(|| (table::load_i64(b, rec, 8), table::load_i64(b, rec, 16)));
            (off, fill)
        }
        Source::Computed(params) => {
            let s = computed::sample(b, &params, i);
            // The first tap with a non-zero weight, as the reference; none: fill 0.
            let zero = b.ins().f32const(0.0);
            let first = b.ins().fcmp(FloatCC::NotEqual, s.ws[0], zero);
            let second = b.ins().fcmp(FloatCC::NotEqual, s.ws[1], zero);
            let off = b.ins().select(first, s.offs[0], s.offs[1]);
            let any = b.ins().bor(first, second);
            let none = b.ins().bxor_imm_u(any, 1);
            let flag = b.ins().bor(none, s.extrapolated);
            let flag = b.ins().uextend(types::I64, flag);
            let ext = b.ins().iconst(types::I64, p.extrapolation_bits);
            let zero_bits = b.ins().iconst(types::I64, 0);
            let bits = b.ins().select(s.extrapolated, ext, zero_bits);
            (off, r.fills.then_some((flag, bits)))
        }
    }
}

/// The fill state after an axis with fill entries (`flag`, `bits`): its fill wins.
fn merge_fill(b: &mut FunctionBuilder, (flag, bits): (Value, Value), prev: Option<(Value, Value)>) -> (Value, Value) {
    match prev {
        None => (flag, bits),
        Some((pf, pb)) => {
            let f = b.ins().bor(pf, flag);
            let v = b.ins().select(flag, bits, pb);
            (f, v)
        }
    }
}

fn copy_one(b: &mut FunctionBuilder, p: &Plan, st: State) {
    let mut v = b.ins().load(p.ity, flags(), st.src, 0);
    if let Some((flag, bits)) = st.fill {
        let bits = if p.ity == types::I64 { bits } else { b.ins().ireduce(p.ity, bits) };
        v = b.ins().select(flag, bits, v);
    }
    b.ins().store(flags(), v, st.dst, 0);
}
