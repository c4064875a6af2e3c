//! `WinogradOutput`: `y[n, m, T*th+i, T*tw+j] = (A^T M A)[i][j] + bias[m]` (tile size `T` = 2
//! or 4), four tiles per `f32x4`.
//!
//! Loops `n, m, th`; a tile row is cut into groups of four whole tiles (all their output columns
//! inside OW), each giving output column `j` of the four tiles as one vector; shuffles turn those
//! into runs of consecutive outputs ([`store_group_row`]). The remaining tiles of the row (fewer
//! than four, the last one possibly cut by OW) run the same arithmetic on scalars, and the last
//! tile row when OH is not a multiple of the tile stores only its rows inside OH. The fused
//! epilogue, if any, is applied to each value right before its store.

use super::{check_common, matrix, shuffle, transpose4};
use crate::emit::{addr, c64, load, offset, store};
use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use crate::kernels::fused::epilogue::FusedEpilogue;
use crate::loops::for_count;
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::winograd::{matrices, tiles};
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
    /// Output tile size (2 or 4).
    tile: usize,
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
        let Op::WinogradOutput { out_shape, tile } = &spec.op else {
            return Err(spec.unsupported("not winograd_output"));
        };
        let tile = *tile;
        let slots = matrices(tile).ok_or_else(|| spec.unsupported(format!("attribute tile={tile} (2 or 4)")))?.slots();
        let [n, m, oh, ow] = *out_shape;
        let (th, tw) = (tiles(oh, tile), tiles(ow, tile));
        let t = n * th * tw;
        let bias_ok = spec.inputs.get(1).is_none_or(|b| b.shape == [m]);
        if spec.inputs[0].shape != [slots, m, t]
            || spec.outputs[0].shape != out_shape[..]
            || !bias_ok
            || oh == 0
            || ow == 0
        {
            return Err(spec.unsupported(format!("attribute out_shape={out_shape:?} does not fit the operands")));
        }
        Ok(Geo { m, oh, ow, th, tw, t, tile })
    }

    fn alpha(&self) -> usize {
        self.tile + 2
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
            for_count(b, 0, (g.oh / g.tile) as i64, 1, |b, th| tile_row(b, &g, &plane, th, g.tile));
            if g.oh % g.tile != 0 {
                let th = c64(b, g.th as i64 - 1);
                tile_row(b, &g, &plane, th, g.oh % g.tile);
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
    let oh0 = b.ins().imul_imm_s(th, g.tile as i64);
    let row0 = b.ins().imul_imm_s(oh0, (g.ow * 4) as i64);
    let dst = b.ins().iadd(p.dst, row0);
    let full = g.ow / g.tile / 4;
    for_count(b, 0, full as i64, 1, |b, gi| {
        let s = addr(b, src, gi, 16);
        let y = transform(b, g, types::F32X4, s, p.bias);
        let ow = b.ins().imul_imm_s(gi, 4 * g.tile as i64);
        for (i, yi) in y.iter().enumerate().take(rows) {
            let oh = b.ins().iadd_imm_s(oh0, i as i64);
            let d = addr(b, dst, ow, 4);
            store_group_row(b, p, yi, d, (i * g.ow * 4) as i64, [oh, ow]);
        }
    });
    for tw in 4 * full..g.tw {
        let s = offset(b, src, 4 * tw as i64);
        let y = transform(b, g, types::F32, s, p.bias);
        for (i, yi) in y.iter().enumerate().take(rows) {
            let oh = b.ins().iadd_imm_s(oh0, i as i64);
            for (j, &v) in yi.iter().enumerate().filter(|&(j, _)| g.tile * tw + j < g.ow) {
                let ow = c64(b, (g.tile * tw + j) as i64);
                put(b, p, v, dst, ((i * g.ow + g.tile * tw + j) * 4) as i64, [oh, ow]);
            }
        }
    }
}

/// Stores one output row of four whole tiles: `yi[j]` holds column `j` of the four tiles (lane
/// = tile), turned into `4 * tile` consecutive outputs starting at `ptr + off`, output column
/// `ow`.
fn store_group_row(b: &mut FunctionBuilder, p: &Plane, yi: &[Value], ptr: Value, off: i64, [oh, ow]: [Value; 2]) {
    let runs: Vec<Value> = if yi.len() == 2 {
        vec![shuffle(b, yi[0], yi[1], [0, 4, 1, 5]), shuffle(b, yi[0], yi[1], [2, 6, 3, 7])]
    } else {
        transpose4(b, [yi[0], yi[1], yi[2], yi[3]]).to_vec()
    };
    for (r, &run) in runs.iter().enumerate() {
        let col = b.ins().iadd_imm_s(ow, 4 * r as i64);
        put(b, p, run, ptr, off + 16 * r as i64, [oh, col]);
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

/// `A^T M A (+ bias)` of the tile(s) whose `a*a` transform slots start at `src` (slot stride
/// `M*T*4` bytes), as `[row][column]`; `ty` is `f32x4` (four consecutive tiles) or `f32`.
fn transform(b: &mut FunctionBuilder, g: &Geo, ty: Type, src: Value, bias: Option<Value>) -> Vec<Vec<Value>> {
    let (a, slot) = (g.alpha(), (g.m * g.t * 4) as i64);
    // rows[i][l] = (A^T M)[i][l]: the vertical pass over each column l.
    let mut rows: Vec<Vec<Value>> = vec![Vec::with_capacity(a); g.tile];
    for l in 0..a {
        let column: Vec<Value> = (0..a)
            .map(|k| {
                let p = offset(b, src, (a * k + l) as i64 * slot);
                load(b, ty, p, 0)
            })
            .collect();
        for (i, v) in matrix::output(b, g.tile, &column).into_iter().enumerate() {
            rows[i].push(v);
        }
    }
    let bias = bias.map(|v| if ty.is_vector() { b.ins().splat(ty, v) } else { v });
    rows.iter()
        .map(|r| {
            let y = matrix::output(b, g.tile, r);
            y.into_iter()
                .map(|y| match bias {
                    Some(bv) => b.ins().fadd(y, bv),
                    None => y,
                })
                .collect()
        })
        .collect()
}
