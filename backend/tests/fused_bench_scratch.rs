//! Scratch timing (deleted after measuring).
mod common;

use common::*;
use cranelift_codegen::ir::InstBuilder;
use cranelift_codegen::ir::MemFlagsData;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Linkage, Module};
use kiln_backend::kernel::define_kernel;
use kiln_ir::{BinaryOp, ConvAttrs, DType, Op, Operand, Program, Step, TensorType, UnaryOp};
use std::time::Instant;

fn time_op(op: &Op, inputs: &[TensorType]) -> f64 {
    let spec = spec_for(op, inputs).unwrap();
    let isa = host_isa(IsaFlavor::Host).unwrap();
    let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
    let n = spec.inputs.len() + spec.outputs.len();
    let kernel = define_kernel(&mut module, &spec, "kernel", Linkage::Local).unwrap();
    let tramp = define_ptr_function(&mut module, "tramp", 1, |b, module, params| {
        let ptr = module.target_config().pointer_type();
        let vals: Vec<_> = (0..n).map(|i| b.ins().load(ptr, MemFlagsData::trusted(), params[0], i as i32 * 8)).collect();
        let callee = module.declare_func_in_func(kernel, b.func);
        b.ins().call(callee, &vals);
    })
    .unwrap();
    module.finalize_definitions().unwrap();
    let code = module.get_finalized_function(tramp);
    let mut r = rng(1);
    let mut bufs: Vec<Vec<f32>> = spec
        .inputs
        .iter()
        .chain(&spec.outputs)
        .map(|t| random_f32(&mut r, &t.shape, -1.0, 1.0).to_f64_vec().iter().map(|&v| v as f32).chain([0.0; 16]).collect())
        .collect();
    let args: Vec<*mut u8> = bufs.iter_mut().map(|b| b.as_mut_ptr() as *mut u8).collect();
    let f: extern "C" fn(*const *mut u8) = unsafe { std::mem::transmute(code) };
    for _ in 0..5 {
        f(args.as_ptr());
    }
    let mut best = f64::MAX;
    for _ in 0..7 {
        let iters = 30;
        let t0 = Instant::now();
        for _ in 0..iters {
            f(args.as_ptr());
        }
        best = best.min(t0.elapsed().as_secs_f64() / iters as f64);
    }
    best * 1e6
}

fn fused(base: Op, bi: usize, steps: Vec<Step>) -> Op {
    Op::Fused { base: Box::new(base), base_inputs: bi, epilogue: Program { steps } }
}

#[test]
fn bench() {
    let f = |s: &[usize]| TensorType::new(DType::F32, s.to_vec());
    let relu = vec![Step::Unary(UnaryOp::Relu, Operand::Arg(0))];
    let bn_relu = vec![
        Step::Binary(BinaryOp::Mul, Operand::Arg(0), Operand::Arg(1)),
        Step::Binary(BinaryOp::Add, Operand::Reg(0), Operand::Arg(2)),
        Step::Unary(UnaryOp::Relu, Operand::Reg(1)),
    ];
    let res_relu = vec![Step::Binary(BinaryOp::Add, Operand::Arg(0), Operand::Arg(1)), Step::Unary(UnaryOp::Relu, Operand::Reg(0))];
    let silu = vec![Step::Unary(UnaryOp::Sigmoid, Operand::Arg(0)), Step::Binary(BinaryOp::Mul, Operand::Arg(0), Operand::Reg(0))];
    let conv = |k: usize, g: usize| Op::Conv(ConvAttrs { kernel: vec![k, k], strides: vec![1, 1], dilations: vec![1, 1], pads: vec![k / 2; 4], group: g });
    for (name, c, m, k, g, hw) in [("dense3x3", 32, 32, 3, 1, 56), ("depthwise3x3", 64, 64, 3, 64, 56), ("pointwise", 64, 64, 1, 1, 56), ("direct3x3", 64, 16, 3, 1, 600)] {
        let x = f(&[1, c, hw, hw]);
        let w = f(&[m, c / g, k, k]);
        let b = f(&[m]);
        let out = f(&[1, m, hw, hw]);
        let pc = f(&[m, 1, 1]);
        let base = vec![x.clone(), w.clone(), b.clone()];
        let plain = time_op(&conv(k, g), &base);
        let separate_relu = time_op(&Op::Unary(UnaryOp::Relu), &[out.clone()]);
        let t_relu = time_op(&fused(conv(k, g), 3, relu.clone()), &base);
        let t_bn = time_op(&fused(conv(k, g), 3, bn_relu.clone()), &[x.clone(), w.clone(), b.clone(), pc.clone(), pc.clone()]);
        let t_res = time_op(&fused(conv(k, g), 3, res_relu.clone()), &[x.clone(), w.clone(), b.clone(), out.clone()]);
        let t_silu = time_op(&fused(conv(k, g), 3, silu.clone()), &base);
        println!(
            "{name:13} plain {plain:8.1} us | +relu fused {t_relu:8.1} ({:+.1}%) | separate relu kernel {separate_relu:7.1} | +bn+relu {t_bn:8.1} ({:+.1}%) | +residual+relu {t_res:8.1} ({:+.1}%) | +silu {t_silu:8.1} ({:+.1}%)",
            (t_relu / plain - 1.0) * 100.0,
            (t_bn / plain - 1.0) * 100.0,
            (t_res / plain - 1.0) * 100.0,
            (t_silu / plain - 1.0) * 100.0
        );
    }
    let gemm = Op::Gemm { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: false };
    let base = vec![f(&[256, 256]), f(&[256, 256]), f(&[256])];
    let plain = time_op(&gemm, &base);
    let t_relu = time_op(&fused(gemm.clone(), 3, relu), &base);
    let mut with_res = base.clone();
    with_res.push(f(&[256, 256]));
    let t_res = time_op(&fused(gemm, 3, res_relu), &with_res);
    println!("gemm256       plain {plain:8.1} us | +relu fused {t_relu:8.1} ({:+.1}%) | +residual+relu {t_res:8.1} ({:+.1}%)", (t_relu / plain - 1.0) * 100.0, (t_res / plain - 1.0) * 100.0);
}
