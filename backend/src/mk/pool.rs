//! NHWC pooling (`ChannelsLast(Pool)`) as a [`GemmTask`] in a vector mode: rows are output
//! pixels, columns are channels, each window tap folds one input vector of channels into the
//! accumulators (lane-wise max, or sum then the epilogue's `alpha = 1 / window`).
//!
//! Covered: 2-D max pooling with any pads, strides, dilations and `ceil_mode` (taps outside
//! the image are skipped at compile time, [`Clip`], exactly as the reference evaluator's
//! clipped windows; an all-padding window keeps the lowest finite f32), and 2-D average
//! pooling whose windows all lie
//! inside the input (no pads, no ceil overhang: the divisor is the window size everywhere).
//! Other average pools keep the Cranelift kernel (legalized to NCHW).

use super::plan::{param, MicroKernel};
use super::task::{AMode, BSource, Base, Clip, Epilogue, GemmTask, Outer};
use super::{tile, MicroIsa};
use crate::kernel::KernelSpec;
use kiln_ir::{PoolAttrs, PoolKind};

/// The plan of an NHWC pool `spec`, or `None`.
pub fn plan(spec: &KernelSpec, a: &PoolAttrs, isa: MicroIsa) -> Option<MicroKernel> {
    let (x, y) = (&spec.inputs[0].shape, &spec.outputs[0].shape);
    if spec.inputs.len() != 1 || x.len() != 4 || y.len() != 4 || a.kernel.len() != 2 || a.pads.len() != 4 {
        return None;
    }
    let (n, h, w, c) = (x[0], x[1], x[2], x[3]);
    let (oh, ow) = (y[1], y[2]);
    let (kh, kw, sh, sw, dh, dw) =
        (a.kernel[0], a.kernel[1], a.strides[0], a.strides[1], a.dilations[0], a.dilations[1]);
    // The padded extent every window needs, from the first window's start.
    let need_h = (oh - 1) * sh + (kh - 1) * dh + 1;
    let need_w = (ow - 1) * sw + (kw - 1) * dw + 1;
    let (top, left) = (a.pads[0], a.pads[1]);
    let bottom = need_h.saturating_sub(top + h).max(a.pads[2]);
    let right = need_w.saturating_sub(left + w).max(a.pads[3]);
    let padded = top + left + bottom + right > 0;
    let (mode, alpha) = match a.kind {
        PoolKind::Max => (AMode::VectorMax, 1.0),
        PoolKind::Avg { .. } if !padded => (AMode::VectorSum, 1.0 / (kh * kw) as f32),
        PoolKind::Avg { .. } => return None,
    };
    let f = 4i64;
    let c4 = f * c as i64;
    let params = spec.inputs.len() + spec.outputs.len();
    // Taps outside the image are skipped: a max ignores padding and clipped windows alike, and
    // an all-padding window keeps the lowest finite value, as the reference evaluator does.
    let clip = padded.then_some(Clip {
        extent: [h, w],
        pad: [top, left],
        stride: [sh, sw],
        dilation: [dh, dw],
        origin: [0, 0],
    });
    let offset = -(top as i64 * w as i64 + left as i64) * c4;
    let task = GemmTask {
        outer: vec![Outer { count: n, a: f * (h * w * c) as i64, b: 0, c: f * (oh * ow * c) as i64 }],
        pad: None,
        clip,
        rows: [oh, ow],
        a: Base { param: 0, offset },
        a_rows: [sh as i64 * w as i64 * c4, sw as i64 * c4],
        a_mode: mode,
        taps: [(kh, dh as i64 * w as i64 * c4), (kw, dw as i64 * c4)],
        depth: 1,
        b: Base { param: 0, offset: 0 },
        b_source: BSource::Packed,
        n: c,
        c: param(1),
        c_rows: [f * (ow * c) as i64, c4],
        epilogue: Epilogue { alpha: alpha.into(), ..Epilogue::none() },
    };
    let tile = tile::choose(&task, &isa.register_file());
    Some(MicroKernel { isa, task, tile, packed: Vec::new(), scratch: 0, params })
}
