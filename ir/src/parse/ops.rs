//! From an op name and its `{key=value}` attributes to a typed [`Op`].
//!
//! Attributes are strict: each one the op has must be given exactly once, and no other. This
//! mirrors the printer (which writes them all) and catches typos in hand-written test IR instead
//! of silently defaulting. The enum spellings come from `crate::print`'s tables.

use super::cursor::PResult;
use crate::dtype::DType;
use crate::error::IrError;
use crate::op::*;
use crate::print::{TextElement, COORD_MODES, NEAREST_MODES, PAD_MODES, PLAIN_UNARY};

/// An attribute value as written: one word or a bracketed list of words.
pub(super) enum Raw<'a> {
    Scalar(&'a str),
    List(Vec<&'a str>),
    /// A quoted string (elementwise programs).
    Str(String),
}

/// The attributes of one node line, consumed key by key while building the op.
pub(super) struct Attrs<'a> {
    line: usize,
    op: &'a str,
    items: Vec<(&'a str, Raw<'a>)>,
}

impl<'a> Attrs<'a> {
    pub fn new(line: usize, op: &'a str, items: Vec<(&'a str, Raw<'a>)>) -> Self {
        Attrs { line, op, items }
    }

    fn error(&self, msg: impl Into<String>) -> IrError {
        IrError::Parse { line: self.line, msg: format!("op `{}`: {}", self.op, msg.into()) }
    }

    fn take(&mut self, key: &str) -> PResult<Raw<'a>> {
        let mut found = self.items.iter().enumerate().filter(|(_, (k, _))| *k == key).map(|(i, _)| i);
        match (found.next(), found.next()) {
            (Some(i), None) => Ok(self.items.remove(i).1),
            (Some(_), Some(_)) => Err(self.error(format!("attribute `{key}` is given twice"))),
            (None, _) => Err(self.error(format!("expected attribute `{key}`"))),
        }
    }

    /// A single value of type `T` (`what` names the type in errors).
    fn scalar<T: TextElement>(&mut self, key: &str, what: &str) -> PResult<T> {
        match self.take(key)? {
            Raw::Scalar(s) => {
                T::from_text(s).ok_or_else(|| self.error(format!("attribute `{key}`: expected {what}, found `{s}`")))
            }
            Raw::List(_) | Raw::Str(_) => {
                Err(self.error(format!("attribute `{key}`: expected {what}, found a list or string")))
            }
        }
    }

    /// A `[a,b,..]` list of `T`.
    fn list<T: TextElement>(&mut self, key: &str, what: &str) -> PResult<Vec<T>> {
        match self.take(key)? {
            Raw::List(items) => items
                .iter()
                .map(|s| {
                    T::from_text(s)
                        .ok_or_else(|| self.error(format!("attribute `{key}`: expected {what}, found `{s}`")))
                })
                .collect(),
            Raw::Scalar(s) => {
                Err(self.error(format!("attribute `{key}`: expected a list `[..]` of {what}, found `{s}`")))
            }
            Raw::Str(_) => {
                Err(self.error(format!("attribute `{key}`: expected a list `[..]` of {what}, found a string")))
            }
        }
    }

    /// One of the words of `table`.
    fn spelled<T: Copy>(&mut self, key: &str, table: &[(T, &str)]) -> PResult<T> {
        let names: Vec<&str> = table.iter().map(|(_, s)| *s).collect();
        let expected = format!("one of {}", names.join(", "));
        let word = match self.take(key)? {
            Raw::Scalar(s) => s,
            Raw::List(_) | Raw::Str(_) => {
                return Err(self.error(format!("attribute `{key}`: expected {expected}, found a list or string")))
            }
        };
        table
            .iter()
            .find(|(_, s)| *s == word)
            .map(|(t, _)| *t)
            .ok_or_else(|| self.error(format!("attribute `{key}`: expected {expected}, found `{word}`")))
    }

    fn usize(&mut self, key: &str) -> PResult<usize> {
        self.scalar(key, "a non-negative integer")
    }
    fn usizes(&mut self, key: &str) -> PResult<Vec<usize>> {
        self.list(key, "non-negative integers")
    }
    fn f32(&mut self, key: &str) -> PResult<Ieee32> {
        self.scalar(key, "a float")
    }
    fn bool(&mut self, key: &str) -> PResult<bool> {
        self.scalar(key, "`true` or `false`")
    }

    /// A quoted string.
    fn string(&mut self, key: &str) -> PResult<String> {
        match self.take(key)? {
            Raw::Str(s) => Ok(s),
            _ => Err(self.error(format!("attribute `{key}`: expected a quoted string"))),
        }
    }

    /// An elementwise program written as a quoted string.
    fn program(&mut self, key: &str) -> PResult<crate::fused::Program> {
        let text = self.string(key)?;
        super::program::parse_program_text(self.line, key, &text)
    }

    /// Fails if an attribute was not consumed.
    pub(super) fn finish(self, op: Op) -> PResult<Op> {
        match self.items.first() {
            None => Ok(op),
            Some((key, _)) => Err(self.error(format!("unexpected attribute `{key}`"))),
        }
    }
}

/// The op named `attrs.op`, with its attributes.
pub(super) fn build_op(mut attrs: Attrs) -> PResult<Op> {
    let name = attrs.op;
    let op = if let Some(b) = BinaryOp::ALL.into_iter().find(|b| b.name() == name) {
        Op::Binary(b)
    } else if let Some(kind) = ReduceKind::ALL.into_iter().find(|k| k.name() == name) {
        Op::Reduce { kind, axes: attrs.usizes("axes")?, keepdims: attrs.bool("keepdims")? }
    } else if let Some(u) = unary_op(name, &mut attrs)? {
        Op::Unary(u)
    } else {
        other_op(name, &mut attrs)?
    };
    attrs.finish(op)
}

/// The unary op `name`, or `None` when `name` is not a unary op.
pub(super) fn unary_op(name: &str, attrs: &mut Attrs) -> PResult<Option<UnaryOp>> {
    Ok(Some(match name {
        "leaky_relu" => UnaryOp::LeakyRelu { alpha: attrs.f32("alpha")? },
        "elu" => UnaryOp::Elu { alpha: attrs.f32("alpha")? },
        "hard_sigmoid" => UnaryOp::HardSigmoid { alpha: attrs.f32("alpha")?, beta: attrs.f32("beta")? },
        "clip" => UnaryOp::Clip { min: attrs.f32("min")?, max: attrs.f32("max")? },
        _ => match PLAIN_UNARY.into_iter().find(|u| u.name() == name) {
            Some(u) => u,
            None => return Ok(None),
        },
    }))
}

/// Every op that is neither unary, binary nor a reduction.
fn other_op(name: &str, a: &mut Attrs) -> PResult<Op> {
    if let Some(inner) = name.strip_suffix("_nhwc") {
        return Ok(Op::ChannelsLast(Box::new(other_op(inner, a)?)));
    }
    Ok(match name {
        "where" => Op::Where,
        "identity" => Op::Identity,
        "matmul" => Op::MatMul,
        "cast" => Op::Cast { to: a.spelled("to", &DType::ALL.map(|d| (d, d.name())))? },
        "bit_cast" => Op::BitCast { to: a.spelled("to", &DType::ALL.map(|d| (d, d.name())))? },
        "conv" => Op::Conv(ConvAttrs {
            kernel: a.usizes("kernel")?,
            strides: a.usizes("strides")?,
            dilations: a.usizes("dilations")?,
            pads: a.usizes("pads")?,
            group: a.usize("group")?,
        }),
        "gemm" => Op::Gemm {
            alpha: a.f32("alpha")?,
            beta: a.f32("beta")?,
            trans_a: a.bool("trans_a")?,
            trans_b: a.bool("trans_b")?,
        },
        "batch_norm" => Op::BatchNorm { epsilon: a.f32("epsilon")? },
        "max_pool" => pool(a, PoolKind::Max)?,
        "avg_pool" => pool(a, PoolKind::Avg { count_include_pad: false })?,
        "lrn" => Op::Lrn { size: a.usize("size")?, alpha: a.f32("alpha")?, beta: a.f32("beta")?, bias: a.f32("bias")? },
        "softmax" => Op::Softmax { axis: a.usize("axis")? },
        "log_softmax" => Op::LogSoftmax { axis: a.usize("axis")? },
        "arg_max" => Op::ArgMax {
            axis: a.usize("axis")?,
            keepdims: a.bool("keepdims")?,
            select_last_index: a.bool("select_last_index")?,
        },
        "arg_min" => Op::ArgMin {
            axis: a.usize("axis")?,
            keepdims: a.bool("keepdims")?,
            select_last_index: a.bool("select_last_index")?,
        },
        "concat" => Op::Concat { axis: a.usize("axis")? },
        "split" => Op::Split { axis: a.usize("axis")?, sizes: a.usizes("sizes")? },
        "slice" => {
            Op::Slice { starts: a.usizes("starts")?, steps: a.list("steps", "integers")?, lens: a.usizes("lens")? }
        }
        "reshape" => Op::Reshape { shape: a.usizes("shape")? },
        "transpose" => Op::Transpose { perm: a.usizes("perm")? },
        "gather" => Op::Gather { axis: a.usize("axis")? },
        "expand" => Op::Expand { shape: a.usizes("shape")? },
        "pad" => Op::Pad {
            mode: a.spelled("mode", &PAD_MODES)?,
            pads: a.list("pads", "integers")?,
            value: a.scalar("value", "a float")?,
        },
        "resize" => Op::Resize(resize(a)?),
        "elementwise" => Op::Elementwise(a.program("expr")?),
        "winograd_input" => {
            Op::WinogradInput { pads: a.usizes("pads")?, out_hw: fixed(a, "out_hw")?, tile: a.usize("tile")? }
        }
        "winograd_weights" => Op::WinogradWeights { tile: a.usize("tile")? },
        "non_zero" => Op::NonZero,
        "unique" => Op::Unique { axis: a.usize("axis")?, sorted: a.bool("sorted")? },
        "non_max_suppression" => {
            Op::NonMaxSuppression { center_point_box: a.bool("center_point_box")?, max_boxes: a.usize("max_boxes")? }
        }
        "winograd_output" => Op::WinogradOutput { out_shape: fixed(a, "out_shape")?, tile: a.usize("tile")? },
        "fused_conv"
        | "fused_gemm"
        | "fused_matmul"
        | "fused_winograd_output"
        | "fused_conv_nhwc"
        | "fused_winograd_output_nhwc" => {
            let base = Box::new(other_op(&name["fused_".len()..], a)?);
            Op::Fused { base, base_inputs: a.usize("base_inputs")?, epilogue: a.program("epilogue")? }
        }
        _ => return Err(a.error("unknown op")),
    })
}

/// A list of exactly `N` non-negative integers.
fn fixed<const N: usize>(a: &mut Attrs, key: &str) -> PResult<[usize; N]> {
    let v = a.usizes(key)?;
    v.try_into().map_err(|v: Vec<usize>| a.error(format!("attribute `{key}`: expected {N} entries, found {}", v.len())))
}

/// `max_pool` / `avg_pool`; `count_include_pad` only for the latter.
fn pool(a: &mut Attrs, kind: PoolKind) -> PResult<Op> {
    let mut attrs = PoolAttrs {
        kind,
        kernel: a.usizes("kernel")?,
        strides: a.usizes("strides")?,
        dilations: a.usizes("dilations")?,
        pads: a.usizes("pads")?,
        ceil_mode: a.bool("ceil_mode")?,
    };
    if let PoolKind::Avg { .. } = kind {
        attrs.kind = PoolKind::Avg { count_include_pad: a.bool("count_include_pad")? };
    }
    Ok(Op::Pool(attrs))
}

fn resize(a: &mut Attrs) -> PResult<ResizeAttrs> {
    let modes = [("nearest", 0), ("linear", 1), ("cubic", 2)].map(|(s, i)| (i, s));
    let mode = match a.spelled("mode", &modes)? {
        0 => ResizeMode::Nearest(a.spelled("nearest_mode", &NEAREST_MODES)?),
        1 => ResizeMode::Linear,
        _ => ResizeMode::Cubic,
    };
    Ok(ResizeAttrs {
        mode,
        coord: a.spelled("coord", &COORD_MODES)?,
        scales: a.list("scales", "floats")?,
        sizes: a.usizes("sizes")?,
        roi: a.list("roi", "floats")?,
        cubic_coeff_a: a.f32("cubic_coeff_a")?,
        exclude_outside: a.bool("exclude_outside")?,
        extrapolation_value: a.f32("extrapolation_value")?,
    })
}
