//! NHWC convolutions (`ChannelsLast(Conv)`, optionally fused) as [`GemmTask`]s: implicit GEMM
//! over the image, no im2col.
//!
//! Rows are output pixels on the grid `[OH, OW]`; row `(oh, ow)` reads the input window at
//! pixel `(oh * sh, ow * sw)` of the (padded) image, taps `(kh, kw)` sit `kh * dh` rows and
//! `kw * dw` pixels further, and each tap contributes the `C/groups` contiguous channels of one
//! pixel. Columns are output channels; the weights are prepacked with the reduction in
//! `(kh, kw, c)` order. Choices:
//! - pads: a dense conv's image is copied once per call into a zero-padded scratch image (a few
//!   percent of its time; no border code paths, every tile runs the same micro-kernel); a
//!   depthwise conv, memory-bound, skips its border taps instead ([`Clip`]);
//! - a 1x1, stride-1 conv without pads is a plain GEMM over the `H*W` pixels (one row axis);
//! - with one group and unit dilation along W, a tap row's `KW` pixels are contiguous, so they
//!   merge into the depth (`KW * C` contiguous elements per tap row: longer unrolled loops);
//! - grouped convolutions are an outer loop over groups (A, B and C offsets per group);
//! - depthwise convolutions (one channel per group) read A as vectors of channels
//!   ([`AMode::Vector`]): columns are channels, each tap one multiply-add of an input vector by
//!   the tap's weight vector; a channel multiplier above 1 is not covered (legalized).
//!
//! 1-D convolutions (rank 3) and non-constant weights are not covered (legalized to NCHW).

use super::pack::{PackedB, WeightLayout};
use super::plan::{broadcast_strides, param, MicroKernel};
use super::task::{AMode, BSource, Base, Clip, Epilogue, GemmTask, Operand, Outer, PadCopy, Strides};
use super::{tile, MicroIsa};
use crate::kernel::KernelSpec;
use kiln_ir::{ConvAttrs, Program};

/// Every size of a 2-D NHWC convolution.
#[derive(Clone, Copy, Debug)]
struct Dims {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    m: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
    sh: usize,
    sw: usize,
    dh: usize,
    dw: usize,
    pads: [usize; 4],
    groups: usize,
}

impl Dims {
    fn cg(&self) -> usize {
        self.c / self.groups
    }
    fn mg(&self) -> usize {
        self.m / self.groups
    }
    fn padded_w(&self) -> usize {
        self.pads[1] + self.w + self.pads[3]
    }
    fn has_pads(&self) -> bool {
        self.pads.iter().any(|&p| p > 0)
    }
    /// One input and one output channel per group.
    fn is_depthwise(&self) -> bool {
        self.groups > 1 && self.groups == self.c && self.groups == self.m
    }
    /// A 1x1, stride-1, unpadded conv: a GEMM over the pixels.
    fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.sh == 1 && self.sw == 1 && !self.has_pads()
    }
}

fn dims(spec: &KernelSpec, a: &ConvAttrs) -> Option<Dims> {
    let (x, w, y) = (&spec.inputs[0].shape, &spec.inputs[1].shape, &spec.outputs[0].shape);
    if x.len() != 4 || w.len() != 4 || y.len() != 4 || a.kernel.len() != 2 || a.pads.len() != 4 {
        return None;
    }
    let d = Dims {
        n: x[0],
        h: x[1],
        w: x[2],
        c: x[3],
        m: y[3],
        kh: a.kernel[0],
        kw: a.kernel[1],
        oh: y[1],
        ow: y[2],
        sh: a.strides[0],
        sw: a.strides[1],
        dh: a.dilations[0],
        dw: a.dilations[1],
        pads: [a.pads[0], a.pads[1], a.pads[2], a.pads[3]],
        groups: a.group,
    };
    let valid = d.groups >= 1 && d.c % d.groups == 0 && d.m % d.groups == 0 && w[1] == d.cg() && w[0] == d.m;
    valid.then_some(d)
}

/// The plan of an NHWC conv `spec` (see the module docs), or `None`.
pub fn plan(
    spec: &KernelSpec,
    constant: &[bool],
    base_inputs: usize,
    program: Option<&Program>,
    attrs: &ConvAttrs,
    isa: MicroIsa,
) -> Option<MicroKernel> {
    if !(2..=3).contains(&base_inputs) || constant.get(1) != Some(&true) {
        return None;
    }
    let d = dims(spec, attrs)?;
    if d.groups > 1 && d.cg() == 1 && !d.is_depthwise() {
        return None; // a channel multiplier > 1: FIXME(mk), legalized
    }
    let params = spec.inputs.len() + spec.outputs.len();
    let scratch_param = params;
    let mut task = conv_task(&d, spec.inputs.len(), scratch_param);
    if base_inputs == 3 {
        let outer = outer_strides(&d, 0, 4 * d.mg() as i64);
        let strides = Strides { outer, rows: [0, 0], col: 4 };
        task.epilogue.addend = Some((Operand { base: param(2), strides }, 1.0.into()));
    }
    if let Some(p) = program {
        task.epilogue.program = Some(p.clone());
        task.epilogue.extras = extras(spec, base_inputs, &d, &task)?;
    }
    let tile = tile::choose(&task, &isa.register_file());
    let lanes = isa.lanes();
    let layout = WeightLayout::Oihw { cg: d.cg(), kh: d.kh, kw: d.kw };
    let k = d.kh * d.kw * d.cg();
    let (n, groups) = if d.is_depthwise() { (d.c, 1) } else { (d.mg(), d.groups) };
    let packing = PackedB { layout, k, n, groups, nr: tile.nv * lanes, lanes };
    if groups > 1 {
        if let Some(g) = task.outer.last_mut() {
            g.b = packing.group_bytes();
        }
    }
    let scratch = task.pad.map_or(0, |p| p.bytes());
    let params = params + usize::from(scratch > 0);
    Some(MicroKernel { isa, task, tile, packed: vec![(1, packing)], scratch, params })
}

/// The task without epilogue operands; A reads the scratch copy when the conv has pads.
fn conv_task(d: &Dims, output: usize, scratch: usize) -> GemmTask {
    let f = 4i64;
    let (c, m) = (d.c as i64, d.m as i64);
    // Depthwise convs skip border taps (`Clip`); other padded convs read a padded copy.
    let clip = (d.is_depthwise() && d.has_pads()).then_some(Clip {
        extent: [d.h, d.w],
        pad: [d.pads[0], d.pads[1]],
        stride: [d.sh, d.sw],
        dilation: [d.dh, d.dw],
        origin: [0, 0],
    });
    let pad = (d.has_pads() && clip.is_none()).then(|| PadCopy {
        src: param(0),
        src_outer: [f * (d.h * d.w) as i64 * c, 0],
        h: d.h,
        w: d.w,
        c: d.c,
        top: d.pads[0],
        left: d.pads[1],
        bottom: d.pads[2],
        right: d.pads[3],
        fill: 0.0.into(),
    });
    let wp = if pad.is_some() { d.padded_w() } else { d.w } as i64;
    let a = match (pad, clip) {
        (Some(_), _) => param(scratch),
        (None, Some(_)) => Base { param: 0, offset: -f * (d.pads[0] as i64 * wp + d.pads[1] as i64) * c },
        (None, None) => param(0),
    };
    let image_a = if pad.is_some() { 0 } else { f * (d.h * d.w) as i64 * c };
    let mut outer = vec![Outer { count: d.n, a: image_a, b: 0, c: f * (d.oh * d.ow) as i64 * m }];
    if d.groups > 1 && !d.is_depthwise() {
        // `b` is set to the packed group stride by the caller.
        outer.push(Outer { count: d.groups, a: f * d.cg() as i64, b: 0, c: f * d.mg() as i64 });
    }
    let (rows, a_rows, c_rows) = if d.is_pointwise() {
        ([1, d.oh * d.ow], [0, f * c], [0, f * m])
    } else {
        ([d.oh, d.ow], [f * d.sh as i64 * wp * c, f * d.sw as i64 * c], [f * d.ow as i64 * m, f * m])
    };
    let (taps, depth) = if d.is_depthwise() {
        ([(d.kh, f * d.dh as i64 * wp * c), (d.kw, f * d.dw as i64 * c)], 1)
    } else if d.groups == 1 && d.dw == 1 {
        ([(d.kh, f * d.dh as i64 * wp * c), (1, 0)], d.kw * d.cg())
    } else {
        ([(d.kh, f * d.dh as i64 * wp * c), (d.kw, f * d.dw as i64 * c)], d.cg())
    };
    GemmTask {
        outer,
        pad,
        clip,
        rows,
        a,
        a_rows,
        a_mode: if d.is_depthwise() { AMode::Vector } else { AMode::Broadcast },
        taps,
        depth,
        b: Base { param: 1, offset: 0 },
        b_source: BSource::Packed,
        n: if d.is_depthwise() { d.c } else { d.mg() },
        c: param(output),
        c_rows,
        epilogue: Epilogue::none(),
    }
}

/// Outer strides of an epilogue operand: per image `image` bytes, per group `group` bytes
/// (only when the task has a group loop).
fn outer_strides(d: &Dims, image: i64, group: i64) -> Vec<i64> {
    if d.groups > 1 && !d.is_depthwise() {
        vec![image, group]
    } else {
        vec![image]
    }
}

/// The epilogue's extra operands over `[N, OH, OW, M]` as strides of the task's loops, or
/// `None` when one is not contiguous or broadcast along M, or not linear in flattened rows.
fn extras(spec: &KernelSpec, base_inputs: usize, d: &Dims, task: &GemmTask) -> Option<Vec<Operand>> {
    let out = &spec.outputs[0].shape;
    spec.inputs[base_inputs..]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let s = broadcast_strides(&t.shape, out)?;
            let (sn, soh, sow, sm) = (s[0], s[1], s[2], s[3]);
            if sm > 1 {
                return None;
            }
            let rows = if task.rows[0] == 1 {
                // Flattened pixels: the operand must step uniformly across output rows.
                if d.oh > 1 && soh != sow * d.ow as i64 {
                    return None;
                }
                [0, 4 * sow]
            } else {
                [4 * soh, 4 * sow]
            };
            let outer = outer_strides(d, 4 * sn, 4 * sm * d.mg() as i64);
            Some(Operand { base: param(base_inputs + i), strides: Strides { outer, rows, col: 4 * sm } })
        })
        .collect()
}
