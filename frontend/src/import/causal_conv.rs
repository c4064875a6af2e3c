//! ONNX `CausalConvWithState` (opset 27): a stateful causal depthwise 1-D convolution (Mamba,
//! Gated DeltaNet), imported as the decomposition its function body spells:
//!
//! ```text
//! padded  = Concat(past_state, x) on the length axis    (or x left-padded with k-1 zeros)
//! output  = Conv(padded, w, bias?) with group = channels, no padding   [B, C, L]
//! output  = output * Sigmoid(output)                    (activation "silu" or "swish")
//! present = the last k-1 positions of padded            [B, C, k-1]
//! ```
//!
//! Why: the depthwise Conv kernel already exists, and zero-padding by `Pad` instead of a
//! concatenated constant keeps the graph free of a zero tensor the size of the state. The
//! state is a Slice of the padded input, so with an input shorter than k-1 it keeps part of
//! the past state (or of the zero padding), as the schema says. f16 inputs are computed in f32
//! by `super::half`, which matches the reference's f32 SiLU.

use super::build::{bin, un};
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, ConvAttrs, Op, PadMode, UnaryOp, ValueId};

const BIAS: usize = 2;
const PAST_STATE: usize = 3;

pub fn causal_conv_with_state(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let silu = activation(ctx)?;
    let (x, w) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?);
    let [batch, channels, len] = rank3(imp, ctx, 0, x)?;
    let [w_ch, one, k] = rank3(imp, ctx, 1, w)?;
    if w_ch != channels || one != 1 || k == 0 {
        return Err(ctx.input_err(1, format!("weight is [{w_ch}, {one}, {k}], expected [{channels}, 1, k >= 1]")));
    }
    let padded = padded_input(imp, ctx, x, [batch, channels, k - 1])?;
    let attrs = ConvAttrs { kernel: vec![k], strides: vec![1], dilations: vec![1], pads: vec![0, 0], group: channels };
    let mut ins = vec![padded, w];
    ins.extend(imp.opt_input(ctx, BIAS)?);
    let conv_name = if silu { ctx.tmp("conv") } else { ctx.out(0) };
    let mut y = imp.emit1(ctx, Op::Conv(attrs), ins, conv_name)?;
    if silu {
        let s = un(imp, ctx, UnaryOp::Sigmoid, y, ctx.tmp("sigmoid"))?;
        y = bin(imp, ctx, BinaryOp::Mul, y, s, ctx.out(0))?;
    }
    let slice = Op::Slice { starts: vec![0, 0, len], steps: vec![1; 3], lens: vec![batch, channels, k - 1] };
    let present = imp.emit1(ctx, slice, vec![padded], ctx.out(1))?;
    Ok(vec![y, present])
}

/// True for the fused SiLU ("silu" and its alias "swish"), false for "none".
fn activation(ctx: &NodeCtx) -> Result<bool> {
    match ctx.string_or("activation", "none")?.as_str() {
        "none" => Ok(false),
        "silu" | "swish" => Ok(true),
        other => Err(ctx.attr_err("activation", format!("'{other}' is not 'none', 'silu' or 'swish'"))),
    }
}

fn rank3(imp: &Importer, ctx: &NodeCtx, i: usize, v: ValueId) -> Result<[usize; 3]> {
    let s = imp.shape(v);
    s.as_slice().try_into().map_err(|_| ctx.input_err(i, format!("must be rank 3, has shape {s:?}")))
}

/// `x` with `state_shape[2]` positions of past state (or zeros) prepended on the length axis.
fn padded_input(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, state_shape: [usize; 3]) -> Result<ValueId> {
    let Some(past) = imp.opt_input(ctx, PAST_STATE)? else {
        let pads = vec![0, 0, state_shape[2] as i64, 0, 0, 0];
        return imp.emit1(
            ctx,
            Op::Pad { mode: PadMode::Constant, pads, value: 0.0.into() },
            vec![x],
            ctx.tmp("padded"),
        );
    };
    let shape = imp.shape(past);
    if shape != state_shape {
        return Err(ctx.input_err(PAST_STATE, format!("has shape {shape:?}, expected {state_shape:?}")));
    }
    imp.emit1(ctx, Op::Concat { axis: 2 }, vec![past, x], ctx.tmp("padded"))
}
