//! `LpPool` as `(K * AveragePool(|x|^p, count_include_pad))^(1/p)`, `K` the kernel's element
//! count: the windowed sum of `|x|^p` with zero padding, which is how ONNX's test generator
//! defines it.
//!
//! The window geometry (kernel, strides, dilations, pads, auto_pad, ceil_mode) is exactly
//! AveragePool's, so rather than duplicating its parsing this file hands `nn::pool` a copy of
//! the node retyped as `AveragePool` with `count_include_pad=1` and `p` removed, reading the
//! powered input. Attribute errors from that step therefore say `AveragePool` while naming this
//! node. With `ceil_mode`, windows clipped at the end are still divided by `K` (as ONNX's own
//! reference implementation does), so their sums are exact only without clipping.

use super::build::{bin, float_input, scalar, un};
use super::ctx::NodeCtx;
use super::{nn, Importer};
use crate::error::Result;
use kiln_ir::{BinaryOp, UnaryOp, ValueId};
use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::AttributeProto;

pub fn lp_pool(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, dt) = float_input(imp, ctx)?;
    let p = ctx.int_or("p", 2)?;
    if !(1..=64).contains(&p) {
        return Err(ctx.attr_err("p", format!("{p} is not in [1, 64]")));
    }
    let kernel = ctx.usizes("kernel_shape")?.ok_or_else(|| ctx.attr_err("kernel_shape", "missing"))?;
    let count = kernel.iter().try_fold(1usize, |a, &k| a.checked_mul(k));
    let count = count.ok_or_else(|| ctx.attr_err("kernel_shape", "element count overflows"))?;
    let abs = un(imp, ctx, UnaryOp::Abs, x, ctx.tmp("abs"))?;
    let powered = match p {
        1 => abs,
        2 => bin(imp, ctx, BinaryOp::Mul, abs, abs, ctx.tmp("powered"))?,
        _ => {
            let pc = scalar(imp, ctx, "p", dt, p as f64);
            bin(imp, ctx, BinaryOp::Pow, abs, pc, ctx.tmp("powered"))?
        }
    };
    let mean = average_pool(imp, ctx, powered)?;
    let k = scalar(imp, ctx, "kernel_count", dt, count as f64);
    let sum = bin(imp, ctx, BinaryOp::Mul, mean, k, if p == 1 { ctx.out(0) } else { ctx.tmp("sum") })?;
    let root = match p {
        1 => return Ok(vec![sum]),
        2 => un(imp, ctx, UnaryOp::Sqrt, sum, ctx.out(0))?,
        _ => {
            let inv = scalar(imp, ctx, "inv_p", dt, 1.0 / p as f64);
            bin(imp, ctx, BinaryOp::Pow, sum, inv, ctx.out(0))?
        }
    };
    Ok(vec![root])
}

/// `AveragePool(v)` with this node's window attributes and `count_include_pad=1`.
fn average_pool(imp: &mut Importer, ctx: &NodeCtx, v: ValueId) -> Result<ValueId> {
    let mut node = ctx.node.clone();
    node.op_type = "AveragePool".to_string();
    node.attribute.retain(|a| a.name != "p" && a.name != "count_include_pad");
    let mut include = AttributeProto::new();
    include.name = "count_include_pad".to_string();
    include.type_ = AttributeType::INT.into();
    include.i = 1;
    node.attribute.push(include);
    let input = ctx.tmp("powered");
    imp.bind(&input, v);
    node.input = vec![input];
    node.output = vec![ctx.tmp("mean")];
    let pool_ctx = NodeCtx { node: &node, name: ctx.name.clone(), opset: ctx.opset };
    Ok(nn::pool(imp, &pool_ctx)?[0])
}
