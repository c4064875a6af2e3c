//! `kiln calibrate`: measures this machine's FMA peak at every vector width it has, then times
//! kiln's own kernels and prints each one's throughput and its fraction of the peak of the
//! width its kernel uses (the optimizer's cost model, `kiln_passes::egraph::cost`, is calibrated
//! from these figures).
//!
//! The peak is measured, never assumed (machines change: a Zen 4 core has half the 512-bit FMA
//! throughput of a Zen 5 one): independent FMA chains in machine code (`kiln_runtime::
//! measure_fma_peak`), best of five. Each probe is a one-node graph at a size typical of the
//! edge models kiln targets (the GEMM shapes of ResNet-18's convolutions as implicit GEMMs,
//! MobileNet layers at 56x56, 1M-element elementwise ops), compiled through the normal backend
//! for each ISA level the host has (AVX-512 micro-kernels, AVX2 micro-kernels with
//! `-avx512f`, Cranelift's 128-bit kernels with `-avx2`) and timed over repeated runs: the
//! median is printed, and the throughput and fraction of the peak are of the best run, as the
//! peak itself is (interference on a shared machine only ever slows a run down, so best against
//! best is the like-for-like comparison; median against a best-of peak reads 10-20% low on a
//! busy machine). A one-element op measures the fixed cost of a kernel call.

use anyhow::{anyhow, Result};
use kiln_ir::{BinaryOp, ConvAttrs, DType, Graph, Op, Tensor, TensorType, UnaryOp};
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::time::Instant;

/// One timed kernel: its graph and what one run does.
struct Probe {
    name: String,
    graph: Graph,
    inputs: Vec<Tensor>,
    flops: f64,
    bytes: f64,
}

/// An ISA level to run the probes at: the JIT feature edits and the vector width its kernels
/// use.
struct Level {
    edits: &'static [&'static str],
    bits: u32,
}

fn f32t(shape: &[usize]) -> TensorType {
    TensorType::new(DType::F32, shape.to_vec())
}

fn random(shape: &[usize], rng: &mut StdRng) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(shape.to_vec(), (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect::<Vec<f32>>())
}

/// A conv probe: `c` -> `m` channels at `hw`x`hw`, `k`x`k` kernel, `group` groups, in NHWC
/// (`ChannelsLast`, what the optimizer picks on micro-kernel targets; legalized to NCHW
/// Cranelift kernels without them).
fn conv(name: &str, c: usize, m: usize, hw: usize, k: usize, group: usize, rng: &mut StdRng) -> Probe {
    let mut g = Graph::new();
    let x = g.add_input("x", f32t(&[1, hw, hw, c]));
    let w = g.add_const("w", random(&[m, c / group, k, k], rng));
    let b = g.add_const("b", random(&[m], rng));
    let p = k / 2;
    let attrs =
        ConvAttrs { kernel: vec![k, k], strides: vec![1, 1], dilations: vec![1, 1], pads: vec![p, p, p, p], group };
    let op = Op::ChannelsLast(Box::new(Op::Conv(attrs)));
    let y = g.add_node1("conv", op, vec![x, w, b], "y", f32t(&[1, hw, hw, m]));
    g.outputs.push(y);
    let flops = 2.0 * (m * hw * hw * (c / group) * k * k) as f64;
    let bytes = 4.0 * (c * hw * hw + m * hw * hw + m * (c / group) * k * k) as f64;
    Probe { name: name.to_string(), graph: g, inputs: vec![random(&[1, hw, hw, c], rng)], flops, bytes }
}

/// An NHWC 3x3 stride-2 max pool over `c` channels at `hw`x`hw` (ResNet's stem pool).
fn max_pool(c: usize, hw: usize, rng: &mut StdRng) -> Probe {
    let mut g = Graph::new();
    let x = g.add_input("x", f32t(&[1, hw, hw, c]));
    let attrs = kiln_ir::PoolAttrs {
        kind: kiln_ir::PoolKind::Max,
        kernel: vec![3, 3],
        strides: vec![2, 2],
        dilations: vec![1, 1],
        pads: vec![1; 4],
        ceil_mode: false,
    };
    let o = hw / 2;
    let y = g.add_node1("pool", Op::ChannelsLast(Box::new(Op::Pool(attrs))), vec![x], "y", f32t(&[1, o, o, c]));
    g.outputs.push(y);
    let flops = (9 * o * o * c) as f64;
    let bytes = 4.0 * (hw * hw * c + o * o * c) as f64;
    Probe { name: "maxpool3x3s2".into(), graph: g, inputs: vec![random(&[1, hw, hw, c], rng)], flops, bytes }
}

/// A GEMM probe `[m, k] x [k, n]` with the weights constant (prepacked).
fn gemm(m: usize, n: usize, k: usize, rng: &mut StdRng) -> Probe {
    let mut g = Graph::new();
    let a = g.add_input("a", f32t(&[m, k]));
    let b = g.add_const("b", random(&[k, n], rng));
    let y = g.add_node1("matmul", Op::MatMul, vec![a, b], "y", f32t(&[m, n]));
    g.outputs.push(y);
    Probe {
        name: format!("gemm {m}x{n}x{k}"),
        graph: g,
        inputs: vec![random(&[m, k], rng)],
        flops: 2.0 * (m * n * k) as f64,
        bytes: 4.0 * (m * k + k * n + m * n) as f64,
    }
}

/// An elementwise probe over `n` elements: `op` with one or two inputs.
fn elementwise(name: &str, op: Op, n: usize, rng: &mut StdRng) -> Probe {
    let mut g = Graph::new();
    let arity = if matches!(op, Op::Binary(_)) { 2 } else { 1 };
    let ins: Vec<_> = (0..arity).map(|i| g.add_input(format!("x{i}"), f32t(&[n]))).collect();
    let y = g.add_node1(name, op, ins, "y", f32t(&[n]));
    g.outputs.push(y);
    let inputs = (0..arity).map(|_| random(&[n], rng)).collect();
    Probe { name: name.to_string(), graph: g, inputs, flops: n as f64, bytes: 4.0 * ((arity + 1) * n) as f64 }
}

/// The probes run at every ISA level: GEMMs (a square one and ResNet-18's convolutions as
/// implicit GEMMs: M = output pixels, N = output channels, K = 9 x input channels) and convs.
fn kernel_probes() -> Vec<Probe> {
    let rng = &mut StdRng::seed_from_u64(7);
    vec![
        gemm(512, 512, 512, rng),
        gemm(3136, 64, 576, rng),
        gemm(784, 128, 1152, rng),
        gemm(196, 256, 2304, rng),
        gemm(49, 512, 4608, rng),
        gemm(256, 256, 256, rng),
        conv("conv3x3 nhwc", 64, 64, 56, 3, 1, rng),
        conv("conv1x1 nhwc", 256, 64, 56, 1, 1, rng),
        conv("depthwise nhwc", 144, 144, 56, 3, 144, rng),
        max_pool(64, 112, rng),
    ]
}

/// The probes whose kernels do not depend on the ISA level (run once).
fn memory_probes() -> Vec<Probe> {
    let rng = &mut StdRng::seed_from_u64(8);
    vec![
        elementwise("add", Op::Binary(BinaryOp::Add), 1 << 20, rng),
        elementwise("relu", Op::Unary(UnaryOp::Relu), 1 << 20, rng),
        elementwise("sigmoid", Op::Unary(UnaryOp::Sigmoid), 1 << 20, rng),
        elementwise("call", Op::Unary(UnaryOp::Relu), 1, rng),
    ]
}

/// The ISA levels of this host, widest first.
fn levels() -> Vec<Level> {
    let widths = kiln_runtime::probe_widths();
    let mut v = Vec::new();
    if widths.contains(&512) {
        v.push(Level { edits: &[], bits: 512 });
    }
    if widths.contains(&256) {
        let edits: &[&str] = if widths.contains(&512) { &["-avx512f"] } else { &[] };
        v.push(Level { edits, bits: 256 });
    }
    let cranelift: &[&str] = if widths.contains(&256) { &["-avx2"] } else { &[] };
    v.push(Level { edits: cranelift, bits: 128 });
    v
}

/// Seconds of one run of `p` over `runs` runs after a warm-up, as (median, best), and the
/// micro-kernel ISA the compiled graph used.
fn time(p: &Probe, edits: &[&str], runs: usize) -> Result<((f64, f64), Option<&'static str>)> {
    let opts = kiln_runtime::JitOptions {
        features: edits.iter().map(|s| s.to_string()).collect(),
        threads: 1,
        ..Default::default()
    };
    let model =
        kiln_runtime::JitModel::compile(p.graph.clone(), &opts).map_err(|e| anyhow!("probe {}: {e}", p.name))?;
    let mut outputs = model.run(&p.inputs)?;
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let _ = model.run_into(&p.inputs, &mut outputs);
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    Ok(((times[times.len() / 2], times[0]), model.stats().micro_isa))
}

/// Runs every probe and prints throughputs.
pub fn calibrate(runs: usize) -> Result<()> {
    println!("FMA peak of one core (independent f32 FMA chains, best of 5):");
    let probes: Vec<(u32, kiln_runtime::FmaProbe)> =
        [512, 256, 128].into_iter().filter_map(|b| kiln_runtime::FmaProbe::new(b).map(|p| (b, p))).collect();
    let mut first_peak = Vec::new();
    for (bits, probe) in &probes {
        let peak = probe.measure(5);
        first_peak.push((*bits, peak));
        println!("  {bits:>3}-bit vectors {peak:>8.1} GFLOP/s");
    }
    if probes.is_empty() {
        println!("  (no FMA probe for this CPU; fractions of peak are not printed)");
    }
    // The peak at a width, measured again around each kernel probe (the clock of a shared
    // machine moves): the reference is the best of those and the first measurement, so a slow
    // moment of the peak probe never inflates a fraction.
    let peak_around = |bits: u32, f: &mut dyn FnMut() -> Result<f64>| -> Result<(f64, Option<f64>)> {
        let probe = probes.iter().find(|p| p.0 == bits).map(|p| &p.1);
        let before = probe.map(|p| p.measure(3));
        let value = f()?;
        let after = probe.map(|p| p.measure(3));
        let first = first_peak.iter().find(|p| p.0 == bits).map(|p| p.1);
        Ok((value, before.zip(after).zip(first).map(|((a, b), c)| a.max(b).max(c))))
    };
    println!();
    println!(
        "{:<18} {:<10} {:>10} {:>10} {:>9} {:>8} {:>8}",
        "probe", "kernels", "median us", "best us", "GFLOP/s", "of peak", "GB/s"
    );
    for level in levels() {
        for p in kernel_probes() {
            let mut micro = None;
            let mut median = 0.0;
            let (s, peak) = peak_around(level.bits, &mut || {
                let ((med, best), m) = time(&p, level.edits, runs)?;
                (micro, median) = (m, med);
                Ok(best)
            })?;
            let gflops = p.flops / s / 1e9;
            let width_peak =
                if micro.is_some() { peak } else { probes.iter().find(|q| q.0 == 128).map(|q| q.1.measure(3)) };
            let frac = width_peak.map_or("-".to_string(), |pk| format!("{:.0}%", 100.0 * gflops / pk));
            let kind = micro.unwrap_or("cranelift");
            println!(
                "{:<18} {:<10} {:>10.1} {:>10.1} {:>9.1} {:>8} {:>8.2}",
                p.name,
                kind,
                median * 1e6,
                s * 1e6,
                gflops,
                frac,
                p.bytes / s / 1e9
            );
        }
    }
    for p in memory_probes() {
        let ((median, s), _) = time(&p, &[], runs)?;
        println!(
            "{:<18} {:<10} {:>10.2} {:>10.2} {:>9.2} {:>8} {:>8.2}",
            p.name,
            "cranelift",
            median * 1e6,
            s * 1e6,
            p.flops / s / 1e9,
            "-",
            p.bytes / s / 1e9
        );
    }
    println!("(`kernels`: the micro-kernel ISA the probe compiled to, or Cranelift's 128-bit kernels;");
    println!(" GFLOP/s, `of peak` and GB/s are of the best run; `of peak`: of the FMA peak at that");
    println!(" width, best of its first measurement and those just before and after the probe;");
    println!(" the `call` row is the fixed cost of one kernel call)");
    Ok(())
}
