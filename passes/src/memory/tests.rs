//! Tests of the memory planner: no two simultaneously live buffers overlap (exhaustively on
//! random graphs), reuse makes a chain's peak smaller than the sum, aliases share buffers.

use super::*;
use kiln_ir::{DType, Graph, Op, TensorType, UnaryOp};

fn f32_ty(n: usize) -> TensorType {
    TensorType::new(DType::F32, vec![n])
}

/// A random DAG: each node reads one or two earlier values; sizes vary.
fn random_graph(seed: u64, nodes: usize) -> Graph {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = |m: usize| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % m
    };
    let mut g = Graph::new();
    let mut vals = vec![g.add_input("x", f32_ty(7))];
    for i in 0..nodes {
        let size = 1 + next(300);
        let a = vals[next(vals.len())];
        let (op, inputs) = if next(2) == 0 {
            (Op::Unary(UnaryOp::Relu), vec![a])
        } else if next(3) == 0 {
            (Op::Reshape { shape: vec![size] }, vec![a])
        } else {
            (Op::Binary(kiln_ir::BinaryOp::Add), vec![a, vals[next(vals.len())]])
        };
        let ty = if matches!(op, Op::Reshape { .. }) { g.ty(a).clone() } else { f32_ty(size) };
        vals.push(g.add_node1(format!("n{i}"), op, inputs, format!("v{i}"), ty));
    }
    g.outputs.push(*vals.last().unwrap());
    g
}

/// Live range per value under the plan's alias rule, computed independently of the planner.
fn live_range(g: &Graph, plan: &MemoryPlan, v: ValueId) -> (usize, usize) {
    let ValueDef::Node { node, .. } = g.value(v).def else { unreachable!("arena values are node results") };
    let mut end = node.index();
    for (n, nd) in g.nodes.iter() {
        for &i in &nd.inputs {
            if i == v {
                end = end.max(n.index());
            }
        }
        // A reader of an alias of `v` keeps `v` alive.
        if plan.aliases[n.index()] && nd.inputs[0] == v {
            let (_, e) = live_range(g, plan, nd.outputs[0]);
            end = end.max(e);
        }
    }
    (node.index(), end)
}

#[test]
fn live_buffers_never_overlap_on_random_graphs() {
    for seed in 0..200 {
        let g = random_graph(seed, 3 + (seed as usize % 25));
        let plan = plan_memory(&g);
        let arena: Vec<ValueId> = g.values.handles().filter(|&v| plan.offsets[v.index()].is_some()).collect();
        for &a in &arena {
            let (oa, sa) = (plan.offsets[a.index()].unwrap(), g.ty(a).byte_size());
            assert_eq!(oa % ALIGN, 0, "seed {seed}: offset not aligned");
            assert!(oa + sa <= plan.arena_size, "seed {seed}: buffer past the arena");
            for &b in &arena {
                if a == b || oa == plan.offsets[b.index()].unwrap() && shares_root(&g, &plan, a, b) {
                    continue;
                }
                let (ra, rb) = (live_range(&g, &plan, a), live_range(&g, &plan, b));
                let both_live = ra.0 <= rb.1 && rb.0 <= ra.1;
                let ob = plan.offsets[b.index()].unwrap();
                let overlap = oa < ob + g.ty(b).byte_size() && ob < oa + sa;
                assert!(!(both_live && overlap), "seed {seed}: {a:?} and {b:?} overlap while both live");
            }
        }
    }
}

/// True when one of `a`, `b` is an alias (through a chain of alias nodes) of the other.
fn shares_root(g: &Graph, plan: &MemoryPlan, a: ValueId, b: ValueId) -> bool {
    let root = |mut v: ValueId| loop {
        match g.value(v).def {
            ValueDef::Node { node, .. } if plan.aliases[node.index()] => v = g.node(node).inputs[0],
            _ => return v,
        }
    };
    root(a) == root(b)
}

#[test]
fn chain_peak_is_smaller_than_the_sum() {
    let mut g = Graph::new();
    let mut v = g.add_input("x", f32_ty(1000));
    for i in 0..10 {
        v = g.add_node1(format!("r{i}"), Op::Unary(UnaryOp::Relu), vec![v], format!("v{i}"), f32_ty(1000));
    }
    g.outputs.push(v);
    let plan = plan_memory(&g);
    let sum: usize = (0..9).map(|_| 4000).sum();
    assert!(plan.arena_size < sum, "arena {} not below sum {sum}", plan.arena_size);
    // Two buffers alternate: 2 * 4000 rounded to 64.
    assert_eq!(plan.arena_size, 2 * 4032);
}

#[test]
fn inputs_outputs_and_constants_are_not_in_the_arena() {
    let mut g = Graph::new();
    let x = g.add_input("x", f32_ty(4));
    let c = g.add_const("c", kiln_ir::Tensor::from_vec(vec![4], vec![1f32; 4]));
    let y = g.add_node1("add", Op::Binary(kiln_ir::BinaryOp::Add), vec![x, c], "y", f32_ty(4));
    let z = g.add_node1("relu", Op::Unary(UnaryOp::Relu), vec![y], "z", f32_ty(4));
    g.outputs.push(z);
    let plan = plan_memory(&g);
    assert_eq!(plan.offsets[x.index()], None);
    assert_eq!(plan.offsets[c.index()], None);
    assert_eq!(plan.offsets[z.index()], None);
    assert_eq!(plan.offsets[y.index()], Some(0));
}

#[test]
fn reshape_of_an_intermediate_is_an_alias() {
    let mut g = Graph::new();
    let x = g.add_input("x", f32_ty(6));
    let y = g.add_node1("relu", Op::Unary(UnaryOp::Relu), vec![x], "y", f32_ty(6));
    let r = g.add_node1("rs", Op::Reshape { shape: vec![2, 3] }, vec![y], "r", TensorType::new(DType::F32, vec![2, 3]));
    let z = g.add_node1("relu2", Op::Unary(UnaryOp::Relu), vec![r], "z", TensorType::new(DType::F32, vec![2, 3]));
    g.outputs.push(z);
    let plan = plan_memory(&g);
    assert!(plan.aliases[1]);
    assert_eq!(plan.offsets[r.index()], plan.offsets[y.index()]);
}
