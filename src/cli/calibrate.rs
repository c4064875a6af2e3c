//! `kiln calibrate`: times kiln's own kernels on this machine and prints the throughputs the
//! optimizer's cost model (`kiln_passes::egraph::cost`) is calibrated with.
//!
//! Each probe is a one-node graph at a size typical of the edge models kiln targets (ResNet and
//! MobileNet layers at 56x56, a 256^3 GEMM, 1M-element elementwise ops), compiled through the
//! normal backend and timed as the median of repeated runs. A one-element op measures the fixed
//! cost of a kernel call. The printed figures are what the `CostModel` constants are set from;
//! rerun this after changing a kernel family and update them (the module doc records the run).

use anyhow::{anyhow, Result};
use kiln_ir::{BinaryOp, ConvAttrs, DType, Graph, Op, Tensor, TensorType, UnaryOp};
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::time::Instant;

/// One timed kernel: its graph and what one run does.
struct Probe {
    name: &'static str,
    graph: Graph,
    inputs: Vec<Tensor>,
    flops: f64,
    bytes: f64,
}

fn f32t(shape: &[usize]) -> TensorType {
    TensorType::new(DType::F32, shape.to_vec())
}

fn random(shape: &[usize], rng: &mut StdRng) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(shape.to_vec(), (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect::<Vec<f32>>())
}

/// A conv probe: `c` -> `m` channels at `hw`x`hw`, `k`x`k` kernel, `group` groups.
fn conv(name: &'static str, c: usize, m: usize, hw: usize, k: usize, group: usize, rng: &mut StdRng) -> Probe {
    let mut g = Graph::new();
    let x = g.add_input("x", f32t(&[1, c, hw, hw]));
    let w = g.add_const("w", random(&[m, c / group, k, k], rng));
    let b = g.add_const("b", random(&[m], rng));
    let p = k / 2;
    let attrs =
        ConvAttrs { kernel: vec![k, k], strides: vec![1, 1], dilations: vec![1, 1], pads: vec![p, p, p, p], group };
    let y = g.add_node1("conv", Op::Conv(attrs), vec![x, w, b], "y", f32t(&[1, m, hw, hw]));
    g.outputs.push(y);
    let flops = 2.0 * (m * hw * hw * (c / group) * k * k) as f64;
    let bytes = 4.0 * (c * hw * hw + m * hw * hw + m * (c / group) * k * k) as f64;
    Probe { name, graph: g, inputs: vec![random(&[1, c, hw, hw], rng)], flops, bytes }
}

fn gemm(n: usize, rng: &mut StdRng) -> Probe {
    let mut g = Graph::new();
    let a = g.add_input("a", f32t(&[n, n]));
    let b = g.add_const("b", random(&[n, n], rng));
    let y = g.add_node1("matmul", Op::MatMul, vec![a, b], "y", f32t(&[n, n]));
    g.outputs.push(y);
    Probe {
        name: "matmul",
        graph: g,
        inputs: vec![random(&[n, n], rng)],
        flops: 2.0 * (n * n * n) as f64,
        bytes: 12.0 * (n * n) as f64,
    }
}

/// An elementwise probe over `n` elements: `op` with one or two inputs.
fn elementwise(name: &'static str, op: Op, n: usize, rng: &mut StdRng) -> Probe {
    let mut g = Graph::new();
    let arity = if matches!(op, Op::Binary(_)) { 2 } else { 1 };
    let ins: Vec<_> = (0..arity).map(|i| g.add_input(format!("x{i}"), f32t(&[n]))).collect();
    let y = g.add_node1(name, op, ins, "y", f32t(&[n]));
    g.outputs.push(y);
    let inputs = (0..arity).map(|_| random(&[n], rng)).collect();
    Probe { name, graph: g, inputs, flops: n as f64, bytes: 4.0 * ((arity + 1) * n) as f64 }
}

fn probes() -> Vec<Probe> {
    let rng = &mut StdRng::seed_from_u64(7);
    vec![
        conv("conv3x3", 64, 64, 56, 3, 1, rng),
        conv("conv1x1", 256, 64, 56, 1, 1, rng),
        conv("depthwise3x3", 144, 144, 56, 3, 144, rng),
        gemm(256, rng),
        elementwise("add", Op::Binary(BinaryOp::Add), 1 << 20, rng),
        elementwise("relu", Op::Unary(UnaryOp::Relu), 1 << 20, rng),
        elementwise("sigmoid", Op::Unary(UnaryOp::Sigmoid), 1 << 20, rng),
        elementwise("call", Op::Unary(UnaryOp::Relu), 1, rng),
    ]
}

/// Median seconds of one run of `p` over `runs` runs, after a warm-up.
fn time(p: &Probe, runs: usize) -> Result<f64> {
    let model = kiln_runtime::JitModel::compile(p.graph.clone(), &kiln_runtime::JitOptions::default())
        .map_err(|e| anyhow!("probe {}: {e}", p.name))?;
    model.run(&p.inputs)?;
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let _ = model.run(&p.inputs);
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Runs every probe and prints throughputs.
pub fn calibrate(runs: usize) -> Result<()> {
    println!("{:<14} {:>10} {:>10} {:>10}", "probe", "median us", "GFLOP/s", "GB/s");
    for p in probes() {
        let s = time(&p, runs)?;
        println!("{:<14} {:>10.2} {:>10.2} {:>10.2}", p.name, s * 1e6, p.flops / s / 1e9, p.bytes / s / 1e9);
    }
    println!("(the `call` row is the fixed cost of one kernel call, including the runtime's own overhead)");
    Ok(())
}
