//! `WinogradInput`: `V[4i+j, c, t] = (B^T d B)[i][j]` over four consecutive tiles per `f32x4`.
//!
//! Per `(n, c, th)` the four input rows `2*th - top + r` are copied into a stack buffer of four
//! rows, each holding the input row at column offset `left` with zeros around it (the zero
//! borders are written once; a row outside the input is zero-filled), so buffer column
//! `2*tw + j` is patch column `j` of tile `tw`. A group of four tiles then reads buffer columns
//! `8g..8g+10` with four vector loads and splits them into the stride-2 patch columns with
//! shuffles. The last group of a row, when `TW` is not a multiple of four, computes all four
//! lanes from the buffer (wide enough for it) and stores only the valid ones.

use super::{check_common, shuffle};
use crate::emit::{addr, c64, f32x4c, load, offset, store};
use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use crate::loops::for_count;
use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, StackSlotData, StackSlotKind, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::winograd::{tiles, MAX_WIDTH};
use kiln_ir::Op;

/// Sizes of one input transform, in elements.
#[derive(Clone, Copy)]
struct Geo {
    c: usize,
    h: usize,
    w: usize,
    top: usize,
    left: usize,
    th: usize,
    tw: usize,
    t: usize,
    /// Buffer row length (a multiple of 4).
    wb: usize,
}

impl Geo {
    fn new(spec: &KernelSpec) -> Result<Geo> {
        let Op::WinogradInput { pads, out_hw } = &spec.op else { return Err(spec.unsupported("not winograd_input")) };
        let (x, v) = (&spec.inputs[0].shape, &spec.outputs[0].shape);
        if x.len() != 4 || v.len() != 3 || pads.len() != 4 || pads.iter().any(|&p| p > 2) {
            return Err(spec.unsupported(format!("attribute pads={pads:?} with input {x:?} (rank 4, pads <= 2)")));
        }
        if x[3] + pads[1] > MAX_WIDTH {
            return Err(spec.unsupported(format!("input width {} + pad {} exceeds {MAX_WIDTH}", x[3], pads[1])));
        }
        let (th, tw) = (tiles(out_hw[0]), tiles(out_hw[1]));
        if v[..] != [16, x[1], x[0] * th * tw] {
            return Err(spec.unsupported(format!("attribute out_hw={out_hw:?} does not give output {v:?}")));
        }
        let tw_vec = tw.div_ceil(4) * 4;
        let wb = (2 * tw_vec + 2).max(pads[1] + x[3]).div_ceil(4) * 4;
        Ok(Geo { c: x[1], h: x[2], w: x[3], top: pads[0], left: pads[1], th, tw, t: v[2], wb })
    }
}

/// Emits the kernel body of a `WinogradInput` node.
pub(super) fn emit(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    check_common(cx, spec)?;
    let g = Geo::new(spec)?;
    let n = spec.inputs[0].shape[0];
    let bytes = (4 * g.wb * 4) as u32;
    let slot = cx.b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, bytes, 4));
    let buf = cx.b.ins().stack_addr(types::I64, slot, 0);
    fill_zero(cx.b, buf, 4 * g.wb);
    let (x, v) = (cx.inputs[0], cx.outputs[0]);
    let full = (g.tw / 4) as i64;
    for_count(cx.b, 0, n as i64, 1, |b, ni| {
        for_count(b, 0, g.c as i64, 1, |b, ci| {
            let nc = b.ins().imul_imm_s(ni, g.c as i64);
            let nc = b.ins().iadd(nc, ci);
            let plane = b.ins().imul_imm_s(nc, (g.h * g.w * 4) as i64);
            let plane = b.ins().iadd(x, plane);
            for_count(b, 0, g.th as i64, 1, |b, th| {
                for r in 0..4 {
                    stage_row(b, &g, buf, plane, th, r);
                }
                // V + ((c*T + (n*TH + th)*TW) * 4 bytes: tile 0 of this row of tiles.
                let nth = b.ins().imul_imm_s(ni, g.th as i64);
                let row_tiles = b.ins().iadd(nth, th);
                let ct = b.ins().imul_imm_s(ci, g.t as i64);
                let rt = b.ins().imul_imm_s(row_tiles, g.tw as i64);
                let t0 = b.ins().iadd(ct, rt);
                let vrow = addr(b, v, t0, 4);
                for_count(b, 0, full, 1, |b, gi| {
                    let src = addr(b, buf, gi, 32);
                    let dst = addr(b, vrow, gi, 16);
                    group(b, &g, src, dst, 4);
                });
                if g.tw % 4 != 0 {
                    let src = offset(b, buf, full * 32);
                    let dst = offset(b, vrow, full * 16);
                    group(b, &g, src, dst, g.tw % 4);
                }
            });
        });
    });
    Ok(())
}

/// Stores zeros over `len` (a multiple of 4) floats at `p`.
fn fill_zero(b: &mut FunctionBuilder, p: Value, len: usize) {
    let zero = f32x4c(b, 0.0);
    for_count(b, 0, len as i64 / 4, 1, |b, i| {
        let q = addr(b, p, i, 16);
        store(b, zero, q, 0);
    });
}

/// Copies input row `2*th - top + r` of `plane` into buffer row `r` at column `left`, or
/// zero-fills that span when the row is outside the input.
fn stage_row(b: &mut FunctionBuilder, g: &Geo, buf: Value, plane: Value, th: Value, r: usize) {
    let th2 = b.ins().imul_imm_s(th, 2);
    let row = b.ins().iadd_imm_s(th2, r as i64 - g.top as i64);
    let h = c64(b, g.h as i64);
    // Unsigned compare: a negative row is huge, so one test covers both ends.
    let inside = b.ins().icmp(IntCC::UnsignedLessThan, row, h);
    let dst = offset(b, buf, ((r * g.wb + g.left) * 4) as i64);
    let (copy, zero, join) = (b.create_block(), b.create_block(), b.create_block());
    b.ins().brif(inside, copy, &[], zero, &[]);

    b.switch_to_block(copy);
    b.seal_block(copy);
    let src = addr(b, plane, row, (g.w * 4) as i64);
    span(b, g.w, |b, off, ty| {
        let (s, d) = (b.ins().iadd(src, off), b.ins().iadd(dst, off));
        let val = load(b, ty, s, 0);
        store(b, val, d, 0);
    });
    b.ins().jump(join, &[]);

    b.switch_to_block(zero);
    b.seal_block(zero);
    let (zv, zs) = (f32x4c(b, 0.0), b.ins().f32const(0.0));
    span(b, g.w, |b, off, ty| {
        let d = b.ins().iadd(dst, off);
        store(b, if ty == types::F32X4 { zv } else { zs }, d, 0);
    });
    b.ins().jump(join, &[]);

    b.switch_to_block(join);
    b.seal_block(join);
}

/// Calls `f(byte offset, type)` over `len` floats: a loop of `f32x4` steps (rows are up to
/// `MAX_WIDTH` floats, too long to unroll), then the scalar remainder.
fn span(b: &mut FunctionBuilder, len: usize, mut f: impl FnMut(&mut FunctionBuilder, Value, types::Type)) {
    let vecs = (len / 4) as i64;
    for_count(b, 0, vecs, 1, |b, i| {
        let off = b.ins().imul_imm_s(i, 16);
        f(b, off, types::F32X4);
    });
    for k in (vecs * 4) as usize..len {
        let off = c64(b, 4 * k as i64);
        f(b, off, types::F32);
    }
}

/// Transforms the four tiles whose patches start at buffer column 0 of `src` (byte pointer into
/// buffer row 0) and stores the first `lanes` of them at `dst` (tile `t0` of channel `c` in V).
fn group(b: &mut FunctionBuilder, g: &Geo, src: Value, dst: Value, lanes: usize) {
    let mut e: Vec<[Value; 4]> = Vec::with_capacity(4);
    for r in 0..4 {
        let row = (r * g.wb * 4) as i64;
        let v0 = load(b, types::F32X4, src, row);
        let v1 = load(b, types::F32X4, src, row + 16);
        let v2 = load(b, types::F32X4, src, row + 8);
        let v3 = load(b, types::F32X4, src, row + 24);
        let d0 = shuffle(b, v0, v1, [0, 2, 4, 6]);
        let d1 = shuffle(b, v0, v1, [1, 3, 5, 7]);
        let d2 = shuffle(b, v2, v3, [0, 2, 4, 6]);
        let d3 = shuffle(b, v2, v3, [1, 3, 5, 7]);
        e.push(btb(b, [d0, d1, d2, d3]));
    }
    let columns: [[Value; 4]; 4] = std::array::from_fn(|j| [e[0][j], e[1][j], e[2][j], e[3][j]]);
    for (j, column) in columns.into_iter().enumerate() {
        let col = btb(b, column);
        for (i, &val) in col.iter().enumerate() {
            let k = 4 * i + j;
            let p = offset(b, dst, (k * g.c * g.t * 4) as i64);
            store_lanes(b, val, p, lanes);
        }
    }
}

/// `B^T` applied to four values: `[d0 - d2, d1 + d2, d2 - d1, d1 - d3]`.
fn btb(b: &mut FunctionBuilder, d: [Value; 4]) -> [Value; 4] {
    [b.ins().fsub(d[0], d[2]), b.ins().fadd(d[1], d[2]), b.ins().fsub(d[2], d[1]), b.ins().fsub(d[1], d[3])]
}

/// Stores the first `lanes` lanes of `val` at `p` (all four as one vector store).
fn store_lanes(b: &mut FunctionBuilder, val: Value, p: Value, lanes: usize) {
    if lanes == 4 {
        store(b, val, p, 0);
        return;
    }
    for l in 0..lanes {
        let s = b.ins().extractlane(val, l as u8);
        store(b, s, p, 4 * l as i64);
    }
}
