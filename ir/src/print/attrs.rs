//! Op attributes as text: the `{key=value, ...}` part of a node line.
//!
//! Every attribute is printed, in a fixed order per op, so the parser (`crate::parse`) can
//! demand each key exactly once. The enum spellings live here as tables shared with the parser,
//! so the two directions cannot drift apart.

use super::program::program_text;
use super::{fmt_f32, fmt_f64, quote};
use crate::op::{CoordMode, Ieee32, Ieee64, NearestMode, Op, PadMode, PoolKind, ResizeAttrs, ResizeMode, UnaryOp};
use std::fmt::Display;

/// Unary ops without attributes; their text is their `name()`.
pub(crate) const PLAIN_UNARY: [UnaryOp; 20] = [
    UnaryOp::Neg,
    UnaryOp::Abs,
    UnaryOp::Relu,
    UnaryOp::HardSwish,
    UnaryOp::Sigmoid,
    UnaryOp::Tanh,
    UnaryOp::Erf,
    UnaryOp::Exp,
    UnaryOp::Log,
    UnaryOp::Sqrt,
    UnaryOp::Reciprocal,
    UnaryOp::Floor,
    UnaryOp::Ceil,
    UnaryOp::Round,
    UnaryOp::Sign,
    UnaryOp::Sin,
    UnaryOp::Cos,
    UnaryOp::Softplus,
    UnaryOp::Softsign,
    UnaryOp::Not,
];

/// `Pad` modes, spelled as in ONNX.
pub(crate) const PAD_MODES: [(PadMode, &str); 4] =
    [(PadMode::Constant, "constant"), (PadMode::Reflect, "reflect"), (PadMode::Edge, "edge"), (PadMode::Wrap, "wrap")];

/// `Resize` coordinate transformation modes, spelled as in ONNX.
pub(crate) const COORD_MODES: [(CoordMode, &str); 6] = [
    (CoordMode::HalfPixel, "half_pixel"),
    (CoordMode::HalfPixelSymmetric, "half_pixel_symmetric"),
    (CoordMode::PytorchHalfPixel, "pytorch_half_pixel"),
    (CoordMode::AlignCorners, "align_corners"),
    (CoordMode::Asymmetric, "asymmetric"),
    (CoordMode::TfCropAndResize, "tf_crop_and_resize"),
];

/// `Resize` nearest modes, spelled as in ONNX.
pub(crate) const NEAREST_MODES: [(NearestMode, &str); 4] = [
    (NearestMode::RoundPreferFloor, "round_prefer_floor"),
    (NearestMode::RoundPreferCeil, "round_prefer_ceil"),
    (NearestMode::Floor, "floor"),
    (NearestMode::Ceil, "ceil"),
];

/// The spelling of `key` in a `(key, spelling)` table.
fn spelled<T: PartialEq>(table: &[(T, &'static str)], key: T) -> String {
    table.iter().find(|(k, _)| *k == key).map_or("?", |(_, s)| s).to_string()
}

/// `[1,2,3]`
fn list<T: Display>(items: &[T]) -> String {
    let items: Vec<String> = items.iter().map(|x| x.to_string()).collect();
    format!("[{}]", items.join(","))
}

/// `[0.5,2.0]` with bit-exact floats.
fn f32_list(items: &[Ieee32]) -> String {
    let items: Vec<String> = items.iter().map(|&x| fmt_f32(x)).collect();
    format!("[{}]", items.join(","))
}

/// `[0.5,0.6000000000000001]` with bit-exact doubles.
fn f64_list(items: &[Ieee64]) -> String {
    let items: Vec<String> = items.iter().map(|&x| fmt_f64(x)).collect();
    format!("[{}]", items.join(","))
}

/// The attributes of `op` as `(key, value text)` pairs, in print order.
pub(crate) fn op_attrs(op: &Op) -> Vec<(&'static str, String)> {
    match op {
        Op::Unary(u) => unary_attrs(u),
        Op::Binary(_) | Op::Where | Op::Identity | Op::MatMul => vec![],
        Op::Cast { to } | Op::BitCast { to } => vec![("to", to.name().to_string())],
        Op::Conv(c) => vec![
            ("kernel", list(&c.kernel)),
            ("strides", list(&c.strides)),
            ("dilations", list(&c.dilations)),
            ("pads", list(&c.pads)),
            ("group", c.group.to_string()),
        ],
        Op::Gemm { alpha, beta, trans_a, trans_b } => vec![
            ("alpha", fmt_f32(*alpha)),
            ("beta", fmt_f32(*beta)),
            ("trans_a", trans_a.to_string()),
            ("trans_b", trans_b.to_string()),
        ],
        Op::BatchNorm { epsilon } => vec![("epsilon", fmt_f32(*epsilon))],
        Op::Pool(p) => {
            let mut attrs = vec![
                ("kernel", list(&p.kernel)),
                ("strides", list(&p.strides)),
                ("dilations", list(&p.dilations)),
                ("pads", list(&p.pads)),
                ("ceil_mode", p.ceil_mode.to_string()),
            ];
            if let PoolKind::Avg { count_include_pad } = p.kind {
                attrs.push(("count_include_pad", count_include_pad.to_string()));
            }
            attrs
        }
        Op::Lrn { size, alpha, beta, bias } => vec![
            ("size", size.to_string()),
            ("alpha", fmt_f32(*alpha)),
            ("beta", fmt_f32(*beta)),
            ("bias", fmt_f32(*bias)),
        ],
        Op::Softmax { axis } | Op::LogSoftmax { axis } | Op::Concat { axis } | Op::Gather { axis } => {
            vec![("axis", axis.to_string())]
        }
        Op::Reduce { axes, keepdims, .. } => vec![("axes", list(axes)), ("keepdims", keepdims.to_string())],
        Op::ArgMax { axis, keepdims, select_last_index } | Op::ArgMin { axis, keepdims, select_last_index } => vec![
            ("axis", axis.to_string()),
            ("keepdims", keepdims.to_string()),
            ("select_last_index", select_last_index.to_string()),
        ],
        Op::Split { axis, sizes } => vec![("axis", axis.to_string()), ("sizes", list(sizes))],
        Op::Slice { starts, steps, lens } => {
            vec![("starts", list(starts)), ("steps", list(steps)), ("lens", list(lens))]
        }
        Op::Reshape { shape } | Op::Expand { shape } => vec![("shape", list(shape))],
        Op::Transpose { perm } => vec![("perm", list(perm))],
        Op::Pad { mode, pads, value } => {
            vec![("mode", spelled(&PAD_MODES, *mode)), ("pads", list(pads)), ("value", fmt_f64(*value))]
        }
        Op::Resize(r) => resize_attrs(r),
        Op::WinogradInput { pads, out_hw, tile } => {
            vec![("pads", list(pads)), ("out_hw", list(out_hw)), ("tile", tile.to_string())]
        }
        Op::WinogradWeights { tile } => vec![("tile", tile.to_string())],
        Op::WinogradOutput { out_shape, tile } => vec![("out_shape", list(out_shape)), ("tile", tile.to_string())],
        Op::Elementwise(p) => vec![("expr", quote(&program_text(p)))],
        Op::ChannelsLast(inner) => op_attrs(inner),
        Op::Fused { base, base_inputs, epilogue } => {
            let mut attrs = op_attrs(base);
            attrs.push(("base_inputs", base_inputs.to_string()));
            attrs.push(("epilogue", quote(&program_text(epilogue))));
            attrs
        }
        Op::NonZero => vec![],
        Op::Unique { axis, sorted } => vec![("axis", axis.to_string()), ("sorted", sorted.to_string())],
        Op::NonMaxSuppression { center_point_box, max_boxes } => {
            vec![("center_point_box", center_point_box.to_string()), ("max_boxes", max_boxes.to_string())]
        }
    }
}

pub(crate) fn unary_attrs(u: &UnaryOp) -> Vec<(&'static str, String)> {
    match *u {
        UnaryOp::LeakyRelu { alpha } | UnaryOp::Elu { alpha } => vec![("alpha", fmt_f32(alpha))],
        UnaryOp::HardSigmoid { alpha, beta } => vec![("alpha", fmt_f32(alpha)), ("beta", fmt_f32(beta))],
        UnaryOp::Clip { min, max } => vec![("min", fmt_f32(min)), ("max", fmt_f32(max))],
        _ => vec![],
    }
}

/// `mode=nearest, nearest_mode=floor, coord=..., ...`; `nearest_mode` only for nearest.
fn resize_attrs(r: &ResizeAttrs) -> Vec<(&'static str, String)> {
    let mut attrs = match r.mode {
        ResizeMode::Nearest(n) => vec![("mode", "nearest".to_string()), ("nearest_mode", spelled(&NEAREST_MODES, n))],
        ResizeMode::Linear => vec![("mode", "linear".to_string())],
        ResizeMode::Cubic => vec![("mode", "cubic".to_string())],
    };
    attrs.extend([
        ("coord", spelled(&COORD_MODES, r.coord)),
        ("scales", f64_list(&r.scales)),
        ("sizes", list(&r.sizes)),
        ("roi", f32_list(&r.roi)),
        ("cubic_coeff_a", fmt_f32(r.cubic_coeff_a)),
        ("exclude_outside", r.exclude_outside.to_string()),
        ("extrapolation_value", fmt_f32(r.extrapolation_value)),
    ]);
    attrs
}
