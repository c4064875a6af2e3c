//! The IR text form: printer.
//!
//! The format reads like cranelift's CLIF, one definition per line, so a snapshot diff shows
//! exactly which value changed:
//!
//! ```text
//! graph(%0: f32[1,3,8,8] "input") -> (%4 "output") {
//!   %1: f32[4,3,3,3] "conv.weight" = const <108 elements, min -0.5, max 0.5>
//!   %2: f32[4] "conv.bias" = const [0.1, -0.2, 0.3, 0.0]
//!   %3: f32[1,4,8,8] "conv_out" = conv(%0, %1, %2) {kernel=[3,3], strides=[1,1], dilations=[1,1], pads=[1,1,1,1], group=1} "Conv_0"
//!   %4: f32[1,4,8,8] "relu_out" = relu(%3) "Relu_0"
//! }
//! ```
//!
//! Design choices:
//! - `%N` is the value's handle index in the graph, so a diagnostic about value #3 matches the
//!   text. The parser renumbers densely while keeping the order of the ids, so printing a graph
//!   with data, parsing it and printing it again gives the same text.
//! - Constants come first (in value order), then nodes in execution order. Names are quoted
//!   (Rust-like escapes) and omitted when empty. Every attribute of an op is printed, always in
//!   the same order: the text is explicit rather than short, and the parser needs no defaults.
//! - Floats print with Rust's shortest round-tripping repr, `inf`/`-inf`, and `nan` or
//!   `nan(0x...)` with the exact bits, so attributes and data round-trip bit-exactly.
//! - Constants of at most [`EXACT_LIMIT`] elements are printed as lists; larger ones as a summary
//!   (`<N elements, min .., max ..>`), or with `with_data` as `hex"..."` of little-endian bytes.
//! - The printer never panics, even on a graph that breaks its invariants (bad handles, a
//!   constant whose type differs from its value's): the verifier prints such graphs in its errors.

mod attrs;
mod data;
mod program;

pub(crate) use attrs::{op_attrs, COORD_MODES, NEAREST_MODES, PAD_MODES, PLAIN_UNARY};
pub(crate) use data::{fmt_f32, fmt_f64, TextElement};
pub use program::{operand_text, program_text};

use crate::graph::{ConstId, Graph, NodeId, ValueDef, ValueId};
use std::fmt::Write;

/// Constants with at most this many elements are always printed exactly.
pub const EXACT_LIMIT: usize = 8;

/// The graph as text. Constants with more than [`EXACT_LIMIT`] elements are shown as a summary
/// unless `with_data` is set, in which case every constant is written out exactly (and
/// `parse_graph` gives the same graph back).
pub fn print_graph(graph: &Graph, with_data: bool) -> String {
    let mut out = header_line(graph);
    out.push('\n');
    for (v, value) in graph.values.iter() {
        if let ValueDef::Const(c) = value.def {
            let _ = writeln!(out, "  {}", const_line(graph, v, c, with_data));
        }
    }
    for n in graph.nodes.handles() {
        let _ = writeln!(out, "  {}", node_line(graph, n));
    }
    out.push_str("}\n");
    out
}

/// `graph(%0: f32[1,3] "x", ...) -> (%5 "y", ...) {`
pub(crate) fn header_line(graph: &Graph) -> String {
    let inputs: Vec<String> = graph.inputs.iter().map(|&v| value_decl(graph, v)).collect();
    let outputs: Vec<String> = graph.outputs.iter().map(|&v| output_ref(graph, v)).collect();
    format!("graph({}) -> ({}) {{", inputs.join(", "), outputs.join(", "))
}

/// `%1: f32[4] "bias" = const [..]`; the constant's own type is shown only when it differs from
/// the value's (a broken graph the verifier reports).
pub(crate) fn const_line(graph: &Graph, v: ValueId, c: ConstId, with_data: bool) -> String {
    let mut line = format!("{} = const ", value_decl(graph, v));
    match graph.constants.get(c) {
        None => {
            let _ = write!(line, "<missing constant #{}>", c.index());
        }
        Some(tensor) => {
            let ty = tensor.ty();
            if graph.values.get(v).is_some_and(|value| value.ty != ty) {
                let _ = write!(line, "{ty} ");
            }
            line.push_str(&data::fmt_tensor(tensor, with_data || tensor.numel() <= EXACT_LIMIT));
        }
    }
    line
}

/// `%5: f32[..] "a", %6: f32[..] "b" = split(%4) {axis=1, sizes=[2,2]} "Split_0"`; a node
/// without results prints `()` on the left.
pub(crate) fn node_line(graph: &Graph, n: NodeId) -> String {
    let Some(node) = graph.nodes.get(n) else {
        return format!("<missing node #{}>", n.index());
    };
    let outputs: Vec<String> = node.outputs.iter().map(|&v| value_decl(graph, v)).collect();
    let lhs = if outputs.is_empty() { "()".to_string() } else { outputs.join(", ") };
    let inputs: Vec<String> = node.inputs.iter().map(|&v| value_ref(v)).collect();
    let mut line = format!("{lhs} = {}({})", node.op.name(), inputs.join(", "));
    let attrs = op_attrs(&node.op);
    if !attrs.is_empty() {
        let items: Vec<String> = attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = write!(line, " {{{}}}", items.join(", "));
    }
    if !node.name.is_empty() {
        let _ = write!(line, " {}", quote(&node.name));
    }
    line
}

/// `%3`
pub(crate) fn value_ref(v: ValueId) -> String {
    format!("%{}", v.index())
}

/// `%3: f32[1,4] "name"`, or `%3: <invalid>` for a handle out of range.
fn value_decl(graph: &Graph, v: ValueId) -> String {
    match graph.values.get(v) {
        None => format!("{}: <invalid>", value_ref(v)),
        Some(value) if value.name.is_empty() => format!("{}: {}", value_ref(v), value.ty),
        Some(value) => format!("{}: {} {}", value_ref(v), value.ty, quote(&value.name)),
    }
}

/// `%6 "output"`: graph outputs repeat their value's name for the reader.
fn output_ref(graph: &Graph, v: ValueId) -> String {
    match graph.values.get(v) {
        Some(value) if !value.name.is_empty() => format!("{} {}", value_ref(v), quote(&value.name)),
        _ => value_ref(v),
    }
}

/// A double-quoted string; `"`, `\` and control characters are escaped as in Rust.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
