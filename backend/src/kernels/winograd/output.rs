//! `WinogradOutput`: `y[n, m, 2th+i, 2tw+j] = (A^T M A)[i][j] + bias[m]`, four tiles per `f32x4`.
//!
//! Loops `n, m, th`; a tile row is cut into groups of four whole tiles (both output columns
//! inside OW), each giving the even and odd output columns of four tiles as two vectors that two
//! shuffles interleave into eight consecutive outputs. The remaining tiles of the row (fewer than
//! four, the last one possibly cut by an odd OW) and the single output row of the last tile row
//! when OH is odd run the same arithmetic on scalars or store one row only. The fused epilogue,
//! if any, is applied to each value right before its store.

use super::{check_common, shuffle};
use crate::emit::{addr, c64, load, offset, store};
use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use crate::kernels::fused::epilogue::FusedEpilogue;
use crate::loops::for_count;
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::winograd::tiles;
use kiln_ir::Op;

/// Sizes of one output transform, in elements.
#[derive(Clone, Copy)]
struct Geo {
    m: usize,
    oh: usize,
    ow: usize,
    th: usize,
    tw: usize,
    t: usize,
}

/// Loop-invariant values of one `(n, m)` output plane.
struct Plane<'a> {
    n: Value,
    m: Value,
    /// `Mt + m*T*4`: tile 0 of transform slot 0 for this output channel.
    src: Value,
    /// `y + (n*M + m)*OH*OW*4`.
    dst: Value,
    bias: Option<Value>,
    fused: Option<&'a FusedEpilogue>,
}

impl Geo {
    fn new(spec: &KernelSpec) -> Result<Geo> {
        let Op::WinogradOutput { out_shape } = &spec.op else { return Err(spec.unsupported("not winograd_output")) };
        let [n, m, oh, ow] = *out_shape;
        let (th, tw) = (tiles(oh), tiles(ow));
        let t = n * th * tw;
        let bias_ok = spec.inputs.get(1).is_none_or(|b| b.shape == [m]);
        if spec.inputs[0].shape != [16, m, t]
            || spec.outputs[0].shape != out_shape[..]
            || !bias_ok
            || oh == 0
            || ow == 0
        {
            return Err(spec.unsupported(format!("attribute out_shape={out_shape:?} does not fit the operands")));
        }
        Ok(Geo { m, oh, ow, th, tw, t })
    }
}

/// Emits the kernel body of a `WinogradOutput` node (see the module docs).
pub(super) fn emit(cx: &mut KernelCtx, spec: &KernelSpec, fused: Option<&FusedEpilogue>) -> Result<()> {
    check_common(cx, spec)?;
    let g = Geo::new(spec)?;
    let n_count = spec.outputs[0].shape[0];
    let (mt, y, bias) = (cx.inputs[0], cx.outputs[0], cx.inputs.get(1).copied());
    for_count(cx.b, 0, n_count as i64, 1, |b, n| {
        for_count(b, 0, g.m as i64, 1, |b, m| {
            let src = addr(b, mt, m, (g.t * 4) as i64);
            let nm = b.ins().imul_imm_s(n, g.m as i64);
            let nm = b.ins().iadd(nm, m);
            let dst = addr(b, y, nm, (g.oh * g.ow * 4) as i64);
            let bias = bias.map(|p| {
                let p = addr(b, p, m, 4);
                load(b, types::F32, p, 0)
            });
            let plane = Plane { n, m, src, dst, bias, fused };
            for_count(b, 0, (g.oh / 2) as i64, 1, |b, th| tile_row(b, &g, &plane, th, 2));
            if g.oh % 2 == 1 {
                let th = c64(b, g.th as i64 - 1);
                tile_row(b, &g, &plane, th, 1);
            }
        });
    });
    Ok(())
}

/// One row of tiles `th`, storing its first `rows` output rows.
fn tile_row(b: &mut FunctionBuilder, g: &Geo, p: &Plane, th: Value, rows: usize) {
    // Tile index of (n, th, 0).
    let nth = b.ins().imul_imm_s(p.n, g.th as i64);
    let nth = b.ins().iadd(nth, th);
    let t0 = b.ins().imul_imm_s(nth, g.tw as i64);
    let src = addr(b, p.src, t0, 4);
    let oh0 = b.ins().imul_imm_s(th, 2);
    let row0 = b.ins().imul_imm_s(oh0, (g.ow * 4) as i64);
    let dst = b.ins().iadd(p.dst, row0);
    let full = g.ow / 2 / 4;
    for_count(b, 0, full as i64, 1, |b, gi| {
        let s = addr(b, src, gi, 16);
        let y = transform(b, g, types::F32X4, s, p.bias);
        let ow = b.ins().imul_imm_s(gi, 8);
        for (i, yi) in y.iter().enumerate().take(rows) {
            let oh = b.ins().iadd_imm_s(oh0, i as i64);
            let d = addr(b, dst, ow, 4);
            let lo = shuffle(b, yi[0], yi[1], [0, 4, 1, 5]);
            let hi = shuffle(b, yi[0], yi[1], [2, 6, 3, 7]);
            let ow_hi = b.ins().iadd_imm_s(ow, 4);
            put(b, p, lo, d, (i * g.ow * 4) as i64, [oh, ow]);
            put(b, p, hi, d, (i * g.ow * 4 + 16) as i64, [oh, ow_hi]);
        }
    });
    for tw in 4 * full..g.tw {
        let s = offset(b, src, 4 * tw as i64);
        let y = transform(b, g, types::F32, s, p.bias);
        for (i, yi) in y.iter().enumerate().take(rows) {
            let oh = b.ins().iadd_imm_s(oh0, i as i64);
            for (j, &v) in yi.iter().enumerate().filter(|&(j, _)| 2 * tw + j < g.ow) {
                let ow = c64(b, (2 * tw + j) as i64);
                put(b, p, v, dst, ((i * g.ow + 2 * tw + j) * 4) as i64, [oh, ow]);
            }
        }
    }
}

/// Applies the fused epilogue (if any) to `val`, whose first lane is output `(oh, ow)` of the
/// plane, and stores it at `ptr + off` bytes.
fn put(b: &mut FunctionBuilder, p: &Plane, val: Value, ptr: Value, off: i64, [oh, ow]: [Value; 2]) {
    let val = match p.fused {
        Some(epi) => epi.apply(b, val, &[p.n, p.m, oh, ow]),
        None => val,
    };
    store(b, val, ptr, off);
}

/// `A^T M A (+ bias)` of the tile(s) whose 16 transform slots start at `src` (slot stride
/// `M*T*4` bytes), as `[row][column]`; `ty` is `f32x4` (four consecutive tiles) or `f32`.
fn transform(b: &mut FunctionBuilder, g: &Geo, ty: Type, src: Value, bias: Option<Value>) -> [[Value; 2]; 2] {
    let slot = (g.m * g.t * 4) as i64;
    // rows[i][l] = (A^T M)[i][l]: the vertical pass over each column l.
    let mut rows: [Vec<Value>; 2] = [Vec::with_capacity(4), Vec::with_capacity(4)];
    for l in 0..4 {
        let mut v = [src; 4];
        for (k, vk) in v.iter_mut().enumerate() {
            let p = offset(b, src, (4 * k + l) as i64 * slot);
            *vk = load(b, ty, p, 0);
        }
        let [s0, s1] = at_a(b, v);
        rows[0].push(s0);
        rows[1].push(s1);
    }
    let bias = bias.map(|v| if ty.is_vector() { b.ins().splat(ty, v) } else { v });
    rows.map(|r| {
        at_a(b, [r[0], r[1], r[2], r[3]]).map(|y| match bias {
            Some(bv) => b.ins().fadd(y, bv),
            None => y,
        })
    })
}

/// `A^T` applied to four values: `[v0 + v1 + v2, v1 - v2 - v3]`.
fn at_a(b: &mut FunctionBuilder, v: [Value; 4]) -> [Value; 2] {
    let s12 = b.ins().fadd(v[1], v[2]);
    let y0 = b.ins().fadd(v[0], s12);
    let d12 = b.ins().fsub(v[1], v[2]);
    let y1 = b.ins().fsub(d12, v[3]);
    [y0, y1]
}
