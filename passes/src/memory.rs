//! Static memory planning: where each intermediate value lives in the workspace arena.
//!
//! Liveness is computed over node order (a value is live from the node that defines it to its
//! last reader, inclusive), then buffers are placed greedily, largest first, each at the
//! lowest 64-byte-aligned offset where it overlaps (in time) no placed buffer it could collide
//! with in space: a best-fit that reuses the memory of dead buffers. Graph inputs, graph outputs
//! and constants live outside the arena (`None`).
//!
//! `Reshape` and `Identity` nodes whose input and output are both arena values are *aliases*:
//! the output shares the input's buffer (same bytes, new shape) and the buffer stays live until
//! the last reader of either. The backend emits no code for such nodes.

use kiln_ir::{Graph, NodeId, Op, ValueDef, ValueId};

/// Arena buffers are aligned to a cache line (and to any vector width kiln uses).
pub const ALIGN: usize = 64;

/// Byte offsets into one arena for every value that needs arena storage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryPlan {
    /// Per value (indexed by `ValueId::index()`): its arena offset, or `None` for values that
    /// live elsewhere (graph inputs, graph outputs, constants).
    pub offsets: Vec<Option<usize>>,
    /// Total arena bytes needed.
    pub arena_size: usize,
    /// Per node (indexed by `NodeId::index()`): true when the node is an alias (its output
    /// shares its input's arena buffer) and needs no code.
    pub aliases: Vec<bool>,
}

/// One arena buffer: a set of values sharing bytes, live over `[start, end]` (node indices).
#[derive(Clone, Debug)]
struct Buffer {
    values: Vec<ValueId>,
    bytes: usize,
    start: usize,
    end: usize,
}

/// Plans the arena of `graph`.
pub fn plan_memory(graph: &Graph) -> MemoryPlan {
    let (root, aliases) = alias_roots(graph);
    let buffers = live_buffers(graph, &root);
    let mut offsets = vec![None; graph.values.len()];
    let mut arena_size = 0;
    for (buf, off) in place(&buffers) {
        arena_size = arena_size.max(off + buf.bytes);
        for &v in &buf.values {
            offsets[v.index()] = Some(off);
        }
    }
    MemoryPlan { offsets, arena_size: align_up(arena_size), aliases }
}

fn align_up(n: usize) -> usize {
    n.div_ceil(ALIGN) * ALIGN
}

/// True when `v` needs an arena buffer: defined by a node and not a graph output.
fn in_arena(graph: &Graph, v: ValueId) -> bool {
    matches!(graph.value(v).def, ValueDef::Node { .. }) && !graph.outputs.contains(&v)
}

/// For every value, the value whose buffer it uses (itself unless it is an alias), and which
/// nodes are aliases.
fn alias_roots(graph: &Graph) -> (Vec<ValueId>, Vec<bool>) {
    let mut root: Vec<ValueId> = graph.values.handles().collect();
    let mut aliases = vec![false; graph.nodes.len()];
    for (n, node) in graph.nodes.iter() {
        let is_view = matches!(node.op, Op::Reshape { .. } | Op::Identity);
        if is_view && node.inputs.len() == 1 && node.outputs.len() == 1 {
            let (x, y) = (node.inputs[0], node.outputs[0]);
            let same_bytes = graph.ty(x).byte_size() == graph.ty(y).byte_size();
            if same_bytes && in_arena(graph, x) && in_arena(graph, y) {
                root[y.index()] = root[x.index()];
                aliases[n.index()] = true;
            }
        }
    }
    (root, aliases)
}

/// The arena buffers with their live ranges, one per alias root.
fn live_buffers(graph: &Graph, root: &[ValueId]) -> Vec<Buffer> {
    let mut by_root: Vec<Option<Buffer>> = vec![None; graph.values.len()];
    for (n, node) in graph.nodes.iter() {
        for &v in &node.outputs {
            if in_arena(graph, v) {
                let r = root[v.index()].index();
                let buf =
                    by_root[r].get_or_insert(Buffer { values: vec![], bytes: 0, start: n.index(), end: n.index() });
                buf.values.push(v);
                buf.bytes = buf.bytes.max(graph.ty(v).byte_size());
            }
        }
    }
    for (n, node) in graph.nodes.iter() {
        for &v in &node.inputs {
            extend_to(&mut by_root, root, v, n);
        }
    }
    by_root.into_iter().flatten().collect()
}

fn extend_to(by_root: &mut [Option<Buffer>], root: &[ValueId], v: ValueId, n: NodeId) {
    if let Some(buf) = by_root[root[v.index()].index()].as_mut() {
        buf.end = buf.end.max(n.index());
    }
}

/// Greedy placement: largest buffers first, each at the lowest aligned offset free during its
/// whole live range.
fn place(buffers: &[Buffer]) -> Vec<(&Buffer, usize)> {
    let mut order: Vec<&Buffer> = buffers.iter().collect();
    order.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.start.cmp(&b.start)));
    let mut placed: Vec<(&Buffer, usize)> = Vec::new();
    for buf in order {
        let mut busy: Vec<(usize, usize)> = placed
            .iter()
            .filter(|(p, _)| p.start <= buf.end && buf.start <= p.end)
            .map(|(p, off)| (*off, off + p.bytes.max(1)))
            .collect();
        busy.sort();
        let off = lowest_fit(&busy, buf.bytes.max(1));
        placed.push((buf, off));
    }
    placed
}

/// The best-fitting aligned gap between `busy` intervals (sorted by start) for `size` bytes:
/// the smallest gap that holds it, else the end of the last interval.
fn lowest_fit(busy: &[(usize, usize)], size: usize) -> usize {
    let mut best: Option<(usize, usize)> = None; // (gap size, offset)
    let mut cursor = 0;
    for &(s, e) in busy {
        let start = align_up(cursor);
        if s >= start && s - start >= size {
            let gap = s - start;
            if best.is_none_or(|(g, _)| gap < g) {
                best = Some((gap, start));
            }
        }
        cursor = cursor.max(e);
    }
    best.map(|(_, off)| off).unwrap_or(align_up(cursor))
}

#[cfg(test)]
mod tests;
