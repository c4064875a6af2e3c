//! Rule family `layout`: how a convolution's data is laid out and computed.
//!
//! - [`winograd`]: `conv-to-winograd`, F(2,3) and F(4,3) in the transform domain;
//! - [`nhwc`]: `conv-to-nhwc` and `pool-to-nhwc`, a conv or pool computed channels-last
//!   (`kiln_ir::layout`) between explicit reorders: `T_nchw(ChannelsLast(Conv)(T_nhwc(x), w, b))`;
//! - [`sinking`]: the reorders move through the ops that do not care about layout
//!   (elementwise ops and programs, concatenation, splits and slices, resizing, reductions), so
//!   that the reorder
//!   after one conv meets the reorder before the next and the pair cancels (`algebra`'s
//!   `transpose-transpose`), and `transpose-to-reshape` turns a reorder that only moves unit
//!   dims (after a global pool) into a free reshape.
//!
//! Regions are therefore chosen, not fixed: every conv gets its channels-last alternative, the
//! reorders spread through the graph as equalities, and extraction keeps the NHWC form where
//! its kernels (priced by the cost model from the target's micro-kernels) pay for the reorders
//! at the region's borders: the graph's inputs and outputs and the ops with no channels-last
//! form. On a target without micro-kernels channels-last ops cost infinity and nothing changes.
//! This is onnxruntime's NCHWc transformer and oneDNN's layout propagation done by equality
//! saturation instead of a hand-written pass.

mod nhwc;
mod sinking;
mod winograd;

use crate::egraph::{rule, Rewrite, Visit};
use kiln_ir::OpKind;

/// The family's rules.
pub fn rules() -> Vec<Rewrite> {
    vec![
        rule("conv-to-winograd", Visit::Ops(&[OpKind::Conv, OpKind::ChannelsLast]), winograd::conv_to_winograd),
        rule("conv-to-nhwc", Visit::Ops(&[OpKind::Conv]), nhwc::conv_to_nhwc),
        rule("pool-to-nhwc", Visit::Ops(&[OpKind::Pool]), nhwc::pool_to_nhwc),
        rule("unary-through-reorder", Visit::Ops(&[OpKind::Unary, OpKind::Cast]), sinking::unary_through_reorder),
        rule(
            "elementwise-through-reorder",
            Visit::Ops(&[OpKind::Binary, OpKind::Where, OpKind::Elementwise]),
            sinking::elementwise_through_reorder,
        ),
        rule("concat-through-reorder", Visit::Ops(&[OpKind::Concat]), sinking::concat_through_reorder),
        rule("split-through-reorder", Visit::Projects, sinking::split_through_reorder),
        rule("slice-through-reorder", Visit::Ops(&[OpKind::Slice]), sinking::slice_through_reorder),
        rule("resize-through-reorder", Visit::Ops(&[OpKind::Resize]), sinking::resize_through_reorder),
        rule("reduce-through-reorder", Visit::Ops(&[OpKind::Reduce]), sinking::reduce_through_reorder),
        rule("transpose-to-reshape", Visit::Ops(&[OpKind::Transpose]), sinking::transpose_to_reshape),
    ]
}
