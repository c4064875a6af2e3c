//! Throughput of JIT kernels on typical layer shapes: `cargo run -p kiln-runtime --example
//! conv_bench --release`. Prints GFLOP/s per layer (2 flops per multiply-add).

use kiln_ir::{ConvAttrs, DType, Graph, Op, Tensor, TensorType};
use kiln_runtime::{JitModel, JitOptions};
use std::time::Instant;

fn layer(name: &str, op: Op, x: &[usize], w: &[usize], flops: f64) {
    let mut g = Graph::new();
    let xv = g.add_input("x", TensorType::new(DType::F32, x.to_vec()));
    let wn: usize = w.iter().product();
    let wv =
        g.add_const("w", Tensor::from_vec(w.to_vec(), (0..wn).map(|i| (i % 13) as f32 * 0.01).collect::<Vec<_>>()));
    let tys = [g.ty(xv).clone(), g.ty(wv).clone()];
    let out = kiln_ir::infer_types(&op, &[&tys[0], &tys[1]]).expect("types");
    let y = g.add_node1(name, op, vec![xv, wv], "y", out[0].clone());
    g.outputs.push(y);
    let model = JitModel::compile(g, &JitOptions::default()).expect("compile");
    let input = Tensor::zeros(&TensorType::new(DType::F32, x.to_vec()));
    model.run(std::slice::from_ref(&input)).expect("run");
    let iters = 20;
    let t = Instant::now();
    for _ in 0..iters {
        model.run(std::slice::from_ref(&input)).expect("run");
    }
    let secs = t.elapsed().as_secs_f64() / iters as f64;
    println!("{name:>12}: {:8.3} ms  {:6.2} GFLOP/s", secs * 1e3, flops / secs / 1e9);
}

fn conv3(c: usize, hw: usize, stride: usize) {
    let o = hw / stride;
    let f = 2.0 * (c * c * 9 * o * o) as f64;
    layer(&format!("3x3 {c}@{hw}/{stride}"), conv(3, 1, stride), &[1, c, hw, hw], &[c, c, 3, 3], f);
}

fn conv(k: usize, group: usize, stride: usize) -> Op {
    Op::Conv(ConvAttrs {
        kernel: vec![k, k],
        strides: vec![stride; 2],
        dilations: vec![1, 1],
        pads: vec![k / 2; 4],
        group,
    })
}

fn main() {
    let (c, hw) = (64, 56);
    let f3 = 2.0 * (c * c * 9 * hw * hw) as f64;
    layer("conv3x3", conv(3, 1, 1), &[1, c, hw, hw], &[c, c, 3, 3], f3);
    layer("conv1x1", conv(1, 1, 1), &[1, c, hw, hw], &[2 * c, c, 1, 1], 2.0 * (2 * c * c * hw * hw) as f64);
    layer("depthwise", conv(3, c, 1), &[1, c, hw, hw], &[c, 1, 3, 3], 2.0 * (c * 9 * hw * hw) as f64);
    conv3(128, 28, 1);
    conv3(256, 14, 1);
    conv3(512, 7, 1);
    conv3(128, 56, 2);
    layer("1x1 s2 512@28", conv(1, 1, 2), &[1, 512, 28, 28], &[1024, 512, 1, 1], 2.0 * (1024 * 512 * 14 * 14) as f64);
    layer("stem 7x7 s2", conv(7, 1, 2), &[1, 3, 224, 224], &[64, 3, 7, 7], 2.0 * (64 * 3 * 49 * 112 * 112) as f64);
    layer("matmul", Op::MatMul, &[256, 256], &[256, 256], 2.0 * 256f64.powi(3));
}
