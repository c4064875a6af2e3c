//! Which layout each convolution runs in, and where the reorders between layouts are: the
//! `layouts:` line of `kiln inspect`, so the graph optimizer's layout choice (NHWC regions,
//! `kiln_passes::rules::layout`) can be read without scanning the IR.
//!
//! A convolution is a `Conv` or a Winograd output transform, plain or fused; it is NHWC when
//! it is `ChannelsLast`. A reorder is a `Transpose` by a layout permutation
//! (`kiln_ir::layout`); each is described by what it connects: a graph input or output, or the
//! ops on either side.

use kiln_ir::layout::{to_channels_first, to_channels_last};
use kiln_ir::{Graph, Op, ValueDef};
use std::fmt;

/// The layout figures of one graph.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layouts {
    pub nhwc_convs: usize,
    pub nchw_convs: usize,
    /// One line per reorder: `"input x -> NHWC"`, `"NHWC -> NCHW before softmax"`...
    pub reorders: Vec<String>,
}

/// The base op of a fused node, or the op.
fn base(op: &Op) -> &Op {
    match op {
        Op::Fused { base, .. } => base,
        op => op,
    }
}

fn is_conv(op: &Op) -> bool {
    match base(op) {
        Op::ChannelsLast(inner) => is_conv(inner),
        op => matches!(op, Op::Conv(_) | Op::WinogradOutput { .. }),
    }
}

/// Computes the layout figures of `graph`.
pub fn layouts(graph: &Graph) -> Layouts {
    let mut out = Layouts::default();
    let users = graph.users();
    for (_, node) in graph.nodes.iter() {
        if is_conv(&node.op) {
            match base(&node.op) {
                Op::ChannelsLast(_) => out.nhwc_convs += 1,
                _ => out.nchw_convs += 1,
            }
        }
        let Op::Transpose { perm } = &node.op else { continue };
        let rank = perm.len();
        let to = if *perm == to_channels_last(rank) {
            "NHWC"
        } else if *perm == to_channels_first(rank) {
            "NCHW"
        } else {
            continue;
        };
        let from = match graph.value(node.inputs[0]).def {
            ValueDef::Input(_) => format!("input '{}'", graph.value(node.inputs[0]).name),
            ValueDef::Const(_) => "a constant".to_string(),
            ValueDef::Node { node: n, .. } => graph.node(n).op.name().to_string(),
        };
        let y = node.outputs[0];
        let mut readers: Vec<String> = users[y.index()].iter().map(|&n| graph.node(n).op.name().to_string()).collect();
        if graph.outputs.contains(&y) {
            readers.push(format!("output '{}'", graph.value(y).name));
        }
        readers.dedup();
        out.reorders.push(format!("{from} -> {to} -> {}", readers.join(", ")));
    }
    out
}

impl fmt::Display for Layouts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "layouts: {} convs NHWC, {} NCHW; {} reorders",
            self.nhwc_convs,
            self.nchw_convs,
            self.reorders.len()
        )?;
        for r in &self.reorders {
            write!(f, "\n  reorder: {r}")?;
        }
        Ok(())
    }
}
