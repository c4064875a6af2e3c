//! `WinogradInput`: `V[a*i+j, c, t] = (B^T d B)[i][j]` over four consecutive tiles per `f32x4`.
//!
//! Per `(n, c, th)` the `a = m + 2` input rows `m*th - top + r` are copied into a stack buffer of
//! `a` rows, each holding the input row at column offset `left` with zeros around it (the zero
//! borders are written once; a row outside the input is zero-filled), so buffer column
//! `m*tw + j` is patch column `j` of tile `tw`. A group of four tiles then reads its buffer
//! columns with a few vector loads and gathers patch column `j` of the four tiles into one
//! vector with shuffles ([`gather_columns`]). The last group of a row, when `TW` is not a
//! multiple of four, computes all four lanes from the buffer (wide enough for it) and stores
//! only the valid ones.

use super::{check_common, matrix, shuffle, transpose4, transpose_first_two};
use crate::emit::{addr, c64, f32x4c, load, offset, store};
use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use crate::loops::for_count;
use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, StackSlotData, StackSlotKind, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::winograd::{matrices, tiles, MAX_WIDTH};
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
    /// Output tile size m (2 or 4).
    tile: usize,
    /// Buffer row length (a multiple of 4).
    wb: usize,
}

impl Geo {
    fn new(spec: &KernelSpec) -> Result<Geo> {
        let Op::WinogradInput { pads, out_hw, tile } = &spec.op else {
            return Err(spec.unsupported("not winograd_input"));
        };
        let tile = *tile;
        let slots = matrices(tile).ok_or_else(|| spec.unsupported(format!("attribute tile={tile} (2 or 4)")))?.slots();
        let (x, v) = (&spec.inputs[0].shape, &spec.outputs[0].shape);
        if x.len() != 4 || v.len() != 3 || pads.len() != 4 || pads.iter().any(|&p| p > 2) {
            return Err(spec.unsupported(format!("attribute pads={pads:?} with input {x:?} (rank 4, pads <= 2)")));
        }
        if x[3] + pads[1] > MAX_WIDTH {
            return Err(spec.unsupported(format!("input width {} + pad {} exceeds {MAX_WIDTH}", x[3], pads[1])));
        }
        let (th, tw) = (tiles(out_hw[0], tile), tiles(out_hw[1], tile));
        if v[..] != [slots, x[1], x[0] * th * tw] {
            return Err(spec.unsupported(format!("attribute out_hw={out_hw:?} does not give output {v:?}")));
        }
        // The last group reads buffer columns up to m*4*ceil(TW/4) + 2 (m = 2) or + 4 (m = 4).
        let reach = tile * tw.div_ceil(4) * 4 + if tile == 2 { 2 } else { 4 };
        let wb = reach.max(pads[1] + x[3]).div_ceil(4) * 4;
        Ok(Geo { c: x[1], h: x[2], w: x[3], top: pads[0], left: pads[1], th, tw, t: v[2], tile, wb })
    }

    /// Input tile size `a = m + 2`: rows staged per tile row.
    fn alpha(&self) -> usize {
        self.tile + 2
    }
}

/// Emits the kernel body of a `WinogradInput` node.
pub(super) fn emit(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    check_common(cx, spec)?;
    let g = Geo::new(spec)?;
    let n = spec.inputs[0].shape[0];
    let bytes = (g.alpha() * g.wb * 4) as u32;
    let slot = cx.b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, bytes, 4));
    let buf = cx.b.ins().stack_addr(types::I64, slot, 0);
    fill_zero(cx.b, buf, g.alpha() * g.wb);
    let (x, v) = (cx.inputs[0], cx.outputs[0]);
    let full = (g.tw / 4) as i64;
    for_count(cx.b, 0, n as i64, 1, |b, ni| {
        for_count(b, 0, g.c as i64, 1, |b, ci| {
            let nc = b.ins().imul_imm_s(ni, g.c as i64);
            let nc = b.ins().iadd(nc, ci);
            let plane = b.ins().imul_imm_s(nc, (g.h * g.w * 4) as i64);
            let plane = b.ins().iadd(x, plane);
            for_count(b, 0, g.th as i64, 1, |b, th| {
                for r in 0..g.alpha() {
                    stage_row(b, &g, buf, plane, th, r);
                }
                // V + ((c*T + (n*TH + th)*TW) * 4 bytes: tile 0 of this row of tiles.
                let nth = b.ins().imul_imm_s(ni, g.th as i64);
                let row_tiles = b.ins().iadd(nth, th);
                let ct = b.ins().imul_imm_s(ci, g.t as i64);
                let rt = b.ins().imul_imm_s(row_tiles, g.tw as i64);
                let t0 = b.ins().iadd(ct, rt);
                let vrow = addr(b, v, t0, 4);
                let group_bytes = (4 * g.tile * 4) as i64;
                for_count(b, 0, full, 1, |b, gi| {
                    let src = addr(b, buf, gi, group_bytes);
                    let dst = addr(b, vrow, gi, 16);
                    group(b, &g, src, dst, 4);
                });
                if g.tw % 4 != 0 {
                    let src = offset(b, buf, full * group_bytes);
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

/// Copies input row `m*th - top + r` of `plane` into buffer row `r` at column `left`, or
/// zero-fills that span when the row is outside the input.
fn stage_row(b: &mut FunctionBuilder, g: &Geo, buf: Value, plane: Value, th: Value, r: usize) {
    let th2 = b.ins().imul_imm_s(th, g.tile as i64);
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
    let a = g.alpha();
    // e[r] = B^T applied to patch row r (the four tiles in lanes).
    let e: Vec<Vec<Value>> = (0..a)
        .map(|r| {
            let row = offset(b, src, (r * g.wb * 4) as i64);
            let d = gather_columns(b, g.tile, row);
            matrix::input(b, g.tile, &d)
        })
        .collect();
    for j in 0..a {
        let column: Vec<Value> = e.iter().map(|row| row[j]).collect();
        for (i, &val) in matrix::input(b, g.tile, &column).iter().enumerate() {
            let k = a * i + j;
            let p = offset(b, dst, (k * g.c * g.t * 4) as i64);
            store_lanes(b, val, p, lanes);
        }
    }
}

/// The `m + 2` patch columns of four consecutive tiles, lane `l` = tile `l`, from the buffer row
/// at `row`: column `j` of tile `l` is buffer column `m*l + j`.
fn gather_columns(b: &mut FunctionBuilder, tile: usize, row: Value) -> Vec<Value> {
    if tile == 2 {
        // Columns 0..10: even/odd de-interleave of [0..8) and of [2..10).
        let v0 = load(b, types::F32X4, row, 0);
        let v1 = load(b, types::F32X4, row, 16);
        let v2 = load(b, types::F32X4, row, 8);
        let v3 = load(b, types::F32X4, row, 24);
        return vec![
            shuffle(b, v0, v1, [0, 2, 4, 6]),
            shuffle(b, v0, v1, [1, 3, 5, 7]),
            shuffle(b, v2, v3, [0, 2, 4, 6]),
            shuffle(b, v2, v3, [1, 3, 5, 7]),
        ];
    }
    // Columns 0..20 as five vectors q0..q4: q_l holds columns 4l..4l+4, so the transpose of
    // q0..q3 gives patch columns 0..4 and that of q1..q4 patch columns 4 and 5.
    let q: Vec<Value> = (0..5).map(|k| load(b, types::F32X4, row, 16 * k)).collect();
    let mut cols = transpose4(b, [q[0], q[1], q[2], q[3]]).to_vec();
    cols.extend(transpose_first_two(b, [q[1], q[2], q[3], q[4]]));
    cols
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
