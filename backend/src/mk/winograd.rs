//! Channels-last Winograd transforms (`ChannelsLast(WinogradInput)` and
//! `ChannelsLast(WinogradOutput)`, optionally fused) as vector-mode [`GemmTask`]s over the tile
//! grid of each image, one vector of channels at a time (see [`Winograd`] and
//! `x86::winograd`). The batched product between them is an ordinary micro-kernel MatMul
//! (`[a*a, T, C] x [a*a, C, M]`, the constant U packed matrix by matrix).
//!
//! The input transform reads a zero-padded copy of the image extended to whole tiles
//! (`TH*m + 2` rows, `TW*m + 2` pixels), so every patch is in bounds and every tile runs the
//! same code; the output transform crops the last tile row and column at compile time.

use super::plan::{broadcast_strides, param, MicroKernel};
use super::task::{AMode, BSource, Base, Epilogue, GemmTask, Operand, Outer, PadCopy, Strides, Winograd};
use super::tile::Tile;
use super::MicroIsa;
use crate::kernel::KernelSpec;
use kiln_ir::winograd::{matrices, tiles};
use kiln_ir::Program;

const ONE: Tile = Tile { th: 1, tw: 1, nv: 1 };

/// The plan of `ChannelsLast(WinogradInput { pads, out_hw, tile })` on `spec`, or `None`.
pub fn plan_input(
    spec: &KernelSpec,
    pads: &[usize],
    out_hw: [usize; 2],
    tile: usize,
    isa: MicroIsa,
) -> Option<MicroKernel> {
    let x = &spec.inputs[0].shape;
    if spec.inputs.len() != 1 || x.len() != 4 || pads.len() != 4 || matrices(tile).is_none() {
        return None;
    }
    let (n, h, w, c) = (x[0], x[1], x[2], x[3]);
    let (th, tw) = (tiles(out_hw[0], tile), tiles(out_hw[1], tile));
    let (hp, wp) = (th * tile + 2, tw * tile + 2);
    let bottom = hp.checked_sub(pads[0] + h)?;
    let right = wp.checked_sub(pads[1] + w)?;
    let f = 4i64;
    let c4 = f * c as i64;
    let t = (n * th * tw) as i64;
    let pad = PadCopy {
        src: param(0),
        src_outer: [f * (h * w * c) as i64, 0],
        h,
        w,
        c,
        top: pads[0],
        left: pads[1],
        bottom,
        right,
        fill: 0.0.into(),
    };
    let params = spec.inputs.len() + spec.outputs.len();
    let stage = Base { param: params, offset: (pad.bytes().div_ceil(64) * 64) as i64 };
    let wino = Winograd { output: false, tile, slot_bytes: t * c4, stage, extent: out_hw };
    let task = GemmTask {
        outer: vec![Outer { count: n, a: 0, b: 0, c: (th * tw) as i64 * c4 }],
        pad: Some(pad),
        clip: None,
        rows: [th, tw],
        a: param(params),
        a_rows: [tile as i64 * wp as i64 * c4, tile as i64 * c4],
        a_mode: AMode::Winograd(wino),
        taps: [(tile + 2, wp as i64 * c4), (tile + 2, c4)],
        depth: 1,
        b: param(0),
        b_source: BSource::Packed,
        n: c,
        c: param(1),
        c_rows: [tw as i64 * c4, c4],
        epilogue: Epilogue::none(),
    };
    let scratch = stage.offset as usize + wino.stage_bytes(4 * isa.lanes());
    Some(MicroKernel { isa, task, tile: ONE, packed: Vec::new(), scratch, params: params + 1 })
}

/// The plan of `ChannelsLast(WinogradOutput { out_shape, tile })` (the first `base_inputs`
/// inputs: `Mt` and an optional bias) with an optional fused `program`, or `None`.
pub fn plan_output(
    spec: &KernelSpec,
    base_inputs: usize,
    program: Option<&Program>,
    out_shape: [usize; 4],
    tile: usize,
    isa: MicroIsa,
) -> Option<MicroKernel> {
    let (mt, y) = (&spec.inputs[0].shape, &spec.outputs[0].shape);
    if !(1..=2).contains(&base_inputs) || mt.len() != 3 || y.len() != 4 || matrices(tile).is_none() {
        return None;
    }
    let [n, m, oh, ow] = out_shape;
    let (th, tw) = (tiles(oh, tile), tiles(ow, tile));
    let f = 4i64;
    let m4 = f * m as i64;
    let t = (n * th * tw) as i64;
    let (step, pixel_row) = (tile as i64, ow as i64 * m4);
    let params = spec.inputs.len() + spec.outputs.len();
    let stage = Base { param: params, offset: 0 };
    let wino = Winograd { output: true, tile, slot_bytes: t * m4, stage, extent: [oh, ow] };
    let mut epilogue = Epilogue::none();
    if base_inputs == 2 {
        let strides = Strides { outer: vec![0], rows: [0, 0], col: 4 };
        epilogue.addend = Some((Operand { base: param(1), strides }, 1.0.into()));
    }
    if let Some(p) = program {
        epilogue.program = Some(p.clone());
        epilogue.extras = extras(spec, base_inputs, tile)?;
    }
    let task = GemmTask {
        outer: vec![Outer { count: n, a: (th * tw) as i64 * m4, b: 0, c: (oh * ow) as i64 * m4 }],
        pad: None,
        clip: None,
        rows: [th, tw],
        a: param(0),
        a_rows: [tw as i64 * m4, m4],
        a_mode: AMode::Winograd(wino),
        taps: [(tile, pixel_row), (tile, m4)],
        depth: 1,
        b: param(0),
        b_source: BSource::Packed,
        n: m,
        c: param(spec.inputs.len()),
        c_rows: [step * pixel_row, step * m4],
        epilogue,
    };
    let scratch = wino.stage_bytes(4 * isa.lanes());
    Some(MicroKernel { isa, task, tile: ONE, packed: Vec::new(), scratch, params: params + 1 })
}

/// The epilogue's extra operands over `[N, OH, OW, M]`, with row strides per tile (`tile`
/// pixels; the generator divides them back for pixels inside a tile).
fn extras(spec: &KernelSpec, base_inputs: usize, tile: usize) -> Option<Vec<Operand>> {
    let out = &spec.outputs[0].shape;
    let step = tile as i64;
    spec.inputs[base_inputs..]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let s = broadcast_strides(&t.shape, out)?;
            if s[3] > 1 {
                return None;
            }
            let strides = Strides { outer: vec![4 * s[0]], rows: [4 * step * s[1], 4 * step * s[2]], col: 4 * s[3] };
            Some(Operand { base: param(base_inputs + i), strides })
        })
        .collect()
}
