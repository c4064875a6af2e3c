//! Micro-kernels cut into parts for threads (`kiln_backend::mk::split`), every kernel cut as
//! finely as its tiles allow ([`SplitPolicy::always`]) at 2, 3 and 4 threads: GEMMs over odd
//! rows, KxK convolutions with pads (each part copies its own window of the padded image),
//! depthwise convolutions and pooling with border taps (`Clip` origins), fused epilogues with
//! operands moving along the rows, the Winograd transforms (output cropping per part), and
//! GEMMs of one tile of rows cut over column panels (with a bias moving along the columns), and
//! elementwise Cranelift kernels cut over aligned chunks of elements (`kiln_backend::flat_split`).
//!
//! Each graph runs through the parallel entry with a descriptor whose `run` calls the tasks in
//! reverse order on the calling thread, and with one that runs them on scoped threads, with
//! guard bytes around every buffer and a poisoned workspace; outputs must match the reference
//! evaluator and be the same bits as the whole kernels' (compiled at one thread).

mod common;

use common::graph::{assert_matches_reference, run_graph};
use common::{random_tensor, rng, GUARD, GUARD_BYTE, POISON_BYTE};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::default_libcall_names;
use kiln_backend::mk::split::SplitPolicy;
use kiln_ir::UnaryOp;
use kiln_ir::{BinaryOp, ConvAttrs, DType, Graph, Op, Operand, PoolAttrs, PoolKind, Program, Step, Tensor, TensorType};

fn levels() -> Vec<Vec<&'static str>> {
    let mut v = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            v.push(vec![]);
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            v.push(vec!["-avx512f"]);
        }
    }
    v
}

/// The descriptor layout of `kiln_backend::entry`.
#[repr(C)]
struct Descriptor {
    threads: u32,
    pool: *const u8,
    run: unsafe extern "C" fn(*const u8, u32, unsafe extern "C" fn(*mut u8, u32), *mut u8),
}

/// Runs the tasks last to first on this thread (parts must not depend on their order).
unsafe extern "C" fn run_reversed(_pool: *const u8, n: u32, task: unsafe extern "C" fn(*mut u8, u32), ctx: *mut u8) {
    // SAFETY: the entry's contract: each index once, any order, any thread.
    (0..n).rev().for_each(|i| unsafe { task(ctx, i) });
}

/// Runs every task on a thread of its own.
unsafe extern "C" fn run_on_threads(_pool: *const u8, n: u32, task: unsafe extern "C" fn(*mut u8, u32), ctx: *mut u8) {
    let ctx = ctx as usize;
    std::thread::scope(|s| {
        for i in 0..n {
            // SAFETY: as above; `ctx` outlives the scope.
            s.spawn(move || unsafe { task(ctx as *mut u8, i) });
        }
    });
}

/// A buffer with guard bytes after `len` bytes, 64-byte aligned.
struct Guarded {
    words: Vec<[u8; 64]>,
    len: usize,
}

impl Guarded {
    fn new(content: &[u8], fill: u8, len: usize) -> Guarded {
        let mut g = Guarded { words: vec![[fill; 64]; (len + GUARD).div_ceil(64)], len };
        let bytes = g.bytes_mut();
        bytes[..content.len()].copy_from_slice(content);
        bytes[len..len + GUARD].fill(GUARD_BYTE);
        g
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: the array storage viewed as bytes.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr() as *mut u8, self.words.len() * 64) }
    }
    fn bytes(&self) -> &[u8] {
        // SAFETY: as above, shared.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr() as *const u8, self.words.len() * 64) }
    }
    fn intact(&self) -> bool {
        self.bytes()[self.len..self.len + GUARD].iter().all(|&b| b == GUARD_BYTE)
    }
}

/// Compiles `graph` cut for `threads` and runs its parallel entry with `run`; the outputs and
/// the number of kernels cut.
fn run_split(graph: &Graph, inputs: &[Tensor], edits: &[&str], threads: usize, run: usize) -> (Vec<Tensor>, usize) {
    let edits: Vec<String> = edits.iter().map(|s| s.to_string()).collect();
    let isa = kiln_backend::isa::host_isa_with(&edits).expect("host ISA");
    let caps = kiln_backend::TargetCaps::of(&*isa);
    let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
    let legal = kiln_backend::legalize(graph, caps).expect("legalize");
    let g = legal.as_ref().unwrap_or(graph);
    let plan = kiln_passes::plan_memory(g);
    let policy = SplitPolicy::always(threads);
    let compiled = kiln_backend::compile::compile_graph_split(&mut module, g, &plan, "t_", "t_entry", &policy, false)
        .expect("compile");
    module.finalize_definitions().expect("finalize");
    let entry = module.get_finalized_function(compiled.parallel_entry);
    let runs = [run_reversed as unsafe extern "C" fn(_, _, _, _), run_on_threads];
    let descriptor = Descriptor { threads: threads as u32, pool: std::ptr::null(), run: runs[run] };
    let mut ins: Vec<Guarded> = inputs.iter().map(|t| Guarded::new(&t.to_le_bytes(), 0, t.ty().byte_size())).collect();
    let types: Vec<TensorType> = g.outputs.iter().map(|&v| g.ty(v).clone()).collect();
    let mut outs: Vec<Guarded> = types.iter().map(|t| Guarded::new(&[], POISON_BYTE, t.byte_size())).collect();
    let mut ws = Guarded::new(&[], POISON_BYTE, compiled.workspace_size);
    let in_ptrs: Vec<*const u8> = ins.iter_mut().map(|b| b.bytes_mut().as_ptr()).collect();
    let out_ptrs: Vec<*mut u8> = outs.iter_mut().map(|b| b.bytes_mut().as_mut_ptr()).collect();
    type Entry = unsafe extern "C" fn(*const *const u8, *const *mut u8, *mut u8, *const Descriptor) -> i32;
    // SAFETY: the parallel entry has this signature; buffers are sized from the graph and plan.
    let status = unsafe {
        let f: Entry = std::mem::transmute(entry);
        f(in_ptrs.as_ptr(), out_ptrs.as_ptr(), ws.bytes_mut().as_mut_ptr(), &descriptor)
    };
    assert_eq!(status, 0);
    assert!(ins.iter().all(Guarded::intact), "wrote past an input");
    assert!(ws.intact(), "wrote past the workspace");
    assert!(outs.iter().all(Guarded::intact), "wrote past an output");
    let outputs = types
        .iter()
        .zip(&outs)
        .map(|(t, b)| Tensor::from_le_bytes(t.dtype, t.shape.clone(), &b.bytes()[..b.len]).expect("output"))
        .collect();
    // SAFETY: the code is not used after this point.
    unsafe { module.free_memory() };
    (outputs, compiled.split_kernels)
}

/// Checks `graph` cut at 2, 3 and 4 threads, both ways of running the tasks, against the
/// reference and against the whole kernels bit for bit (`micro` micro-kernels at least);
/// returns how many kernels were cut over all runs (a kernel whose rows fit one tile is not).
fn check(graph: &Graph, inputs: &[Tensor], micro: usize, tol: (f64, f64)) -> usize {
    let mut cut = 0;
    for edits in levels() {
        let whole = run_graph(graph, inputs, &edits).unwrap_or_else(|e| panic!("{edits:?}: {e}"));
        assert!(whole.micro_kernels >= micro, "{edits:?}: {} micro-kernels", whole.micro_kernels);
        for threads in [2, 3, 4] {
            for run in [0, 1] {
                let label = format!("{edits:?} at {threads} threads, run {run}");
                let (outs, split) = run_split(graph, inputs, &edits, threads, run);
                cut += split;
                assert_matches_reference(graph, inputs, &outs, &label, tol);
                for (k, (w, o)) in whole.outputs.iter().zip(&outs).enumerate() {
                    assert!(w.to_le_bytes() == o.to_le_bytes(), "{label}: output {k} differs from the whole kernel's");
                }
            }
        }
    }
    cut
}

fn nhwc(op: Op) -> Op {
    Op::ChannelsLast(Box::new(op))
}

fn ty(op: &Op, ins: &[TensorType]) -> TensorType {
    let refs: Vec<&TensorType> = ins.iter().collect();
    kiln_ir::infer_types(op, &refs).unwrap_or_else(|e| panic!("{op:?}: {e}")).remove(0)
}

/// `y = op(x, consts...)` with `x` the one graph input.
fn single(op: Op, x: Tensor, consts: Vec<Tensor>) -> (Graph, Vec<Tensor>) {
    let mut g = Graph::new();
    let mut ins = vec![g.add_input("x", x.ty())];
    let mut types = vec![x.ty()];
    for (i, c) in consts.into_iter().enumerate() {
        types.push(c.ty());
        ins.push(g.add_const(format!("c{i}"), c));
    }
    let out = ty(&op, &types);
    let y = g.add_node1("n", op, ins, "y", out);
    g.outputs.push(y);
    (g, vec![x])
}

fn conv(k: usize, stride: usize, pads: [usize; 4], dilation: usize, group: usize) -> ConvAttrs {
    ConvAttrs {
        kernel: vec![k, k],
        strides: vec![stride, stride],
        dilations: vec![dilation, dilation],
        pads: pads.to_vec(),
        group,
    }
}

#[test]
fn gemm_rows_split_at_every_odd_size() {
    let mut r = rng(1);
    let mut total = 0;
    // Rows that fit one tile are cut over column panels (1 x 100 x 333: a batch-1 fc layer).
    for &(m, k, n) in &[(1, 3, 5), (3, 17, 33), (17, 5, 17), (33, 33, 1), (61, 7, 40), (1, 100, 333), (2, 9, 77)] {
        let a = random_tensor(&mut r, DType::F32, &[m, k]);
        let b = random_tensor(&mut r, DType::F32, &[k, n]);
        let (g, ins) = single(Op::MatMul, a, vec![b]);
        let cut = check(&g, &ins, 1, (1e-4, 1e-4));
        total += cut;
    }
    assert!(total > 0, "nothing was cut");
}

#[test]
fn fused_residual_operands_move_with_the_rows() {
    let mut r = rng(2);
    let (m, k, n) = (29, 9, 33);
    let a = random_tensor(&mut r, DType::F32, &[m, k]);
    let b = random_tensor(&mut r, DType::F32, &[k, n]);
    let res = random_tensor(&mut r, DType::F32, &[m, n]);
    let bias = random_tensor(&mut r, DType::F32, &[n]);
    let program = Program {
        steps: vec![
            Step::Binary(BinaryOp::Add, Operand::Arg(0), Operand::Arg(1)),
            Step::Binary(BinaryOp::Add, Operand::Reg(0), Operand::Arg(2)),
            Step::Unary(UnaryOp::Relu, Operand::Reg(1)),
        ],
    };
    let mut g = Graph::new();
    let av = g.add_input("a", a.ty());
    let rv = g.add_input("res", res.ty());
    let bv = g.add_const("b", b);
    let cv = g.add_const("bias", bias);
    let op = Op::Fused { base: Box::new(Op::MatMul), base_inputs: 2, epilogue: program };
    let y = g.add_node1("n", op, vec![av, bv, rv, cv], "y", TensorType::new(DType::F32, vec![m, n]));
    g.outputs.push(y);
    assert!(check(&g, &[a, res], 1, (1e-4, 1e-4)) > 0, "nothing was cut");
}

#[test]
fn column_parts_move_bias_and_residual_along_the_columns() {
    let mut r = rng(6);
    let (m, k, n) = (1, 64, 301);
    let a = random_tensor(&mut r, DType::F32, &[m, k]);
    let b = random_tensor(&mut r, DType::F32, &[k, n]);
    let res = random_tensor(&mut r, DType::F32, &[m, n]);
    let bias = random_tensor(&mut r, DType::F32, &[n]);
    let program = Program {
        steps: vec![
            Step::Binary(BinaryOp::Add, Operand::Arg(0), Operand::Arg(1)),
            Step::Binary(BinaryOp::Add, Operand::Reg(0), Operand::Arg(2)),
        ],
    };
    let mut g = Graph::new();
    let av = g.add_input("a", a.ty());
    let rv = g.add_input("res", res.ty());
    let bv = g.add_const("b", b);
    let cv = g.add_const("bias", bias);
    let op = Op::Fused { base: Box::new(Op::MatMul), base_inputs: 2, epilogue: program };
    let y = g.add_node1("n", op, vec![av, bv, rv, cv], "y", TensorType::new(DType::F32, vec![m, n]));
    g.outputs.push(y);
    assert!(check(&g, &[a, res], 1, (1e-4, 1e-4)) > 0, "nothing was cut");
}

#[test]
fn padded_convolutions_copy_their_own_windows() {
    let mut r = rng(3);
    let mut cut = 0;
    for &(h, w, c, m, k, stride, pad, dil) in &[
        (17, 13, 5, 33, 3, 1, 1, 1),
        (33, 17, 3, 17, 3, 2, 1, 1),
        (9, 11, 6, 10, 3, 1, 2, 2),
        (5, 5, 3, 5, 5, 1, 2, 1),
        (14, 7, 16, 24, 7, 2, 3, 1),
    ] {
        for n in [1, 2] {
            let x = random_tensor(&mut r, DType::F32, &[n, h, w, c]);
            let wt = random_tensor(&mut r, DType::F32, &[m, c, k, k]);
            let bias = random_tensor(&mut r, DType::F32, &[m]);
            let (g, ins) = single(nhwc(Op::Conv(conv(k, stride, [pad; 4], dil, 1))), x, vec![wt, bias]);
            cut += check(&g, &ins, 1, (1e-4, 2e-3));
        }
    }
    assert!(cut > 0, "nothing was cut");
}

#[test]
fn depthwise_and_pooling_border_taps_keep_their_positions() {
    let mut r = rng(4);
    let mut cut = 0;
    for &(h, w, c, k, stride, pads) in &[
        (17, 9, 33, 3, 1, [1; 4]),
        (9, 17, 17, 3, 2, [0, 1, 2, 0]),
        (30, 31, 16, 5, 2, [2; 4]),
        (5, 3, 3, 3, 1, [1; 4]),
    ] {
        let x = random_tensor(&mut r, DType::F32, &[1, h, w, c]);
        let wt = random_tensor(&mut r, DType::F32, &[c, 1, k, k]);
        let (g, ins) = single(nhwc(Op::Conv(conv(k, stride, pads, 1, c))), x.clone(), vec![wt]);
        cut += check(&g, &ins, 1, (1e-4, 1e-4));
        let attrs = PoolAttrs {
            kind: PoolKind::Max,
            kernel: vec![k, k],
            strides: vec![stride, stride],
            dilations: vec![1, 1],
            pads: pads.to_vec(),
            ceil_mode: false,
        };
        let (g, ins) = single(nhwc(Op::Pool(attrs)), x, vec![]);
        cut += check(&g, &ins, 1, (0.0, 0.0));
    }
    assert!(cut > 0, "nothing was cut");
}

#[test]
fn winograd_transforms_crop_per_part() {
    let mut r = rng(5);
    let mut cut = 0;
    for tile in [2, 4] {
        for &(h, w, c, m) in &[(5, 5, 3, 5), (14, 14, 17, 33), (9, 7, 16, 24)] {
            let attrs = conv(3, 1, [1; 4], 1, 1);
            let xt = TensorType::new(DType::F32, vec![1, c, h, w]);
            let wt = TensorType::new(DType::F32, vec![m, c, 3, 3]);
            let (input, output) = kiln_ir::winograd::winograd_ops(&attrs, &xt, &wt, tile).expect("winograd");
            let x = random_tensor(&mut r, DType::F32, &[1, h, w, c]);
            let weights = random_tensor(&mut r, DType::F32, &[m, c, 3, 3]);
            let u = kiln_ir::eval_op(&nhwc(Op::WinogradWeights { tile }), &[&weights]).expect("U").remove(0);
            let bias = random_tensor(&mut r, DType::F32, &[m]);
            let mut g = Graph::new();
            let xv = g.add_input("x", x.ty());
            let wi = nhwc(input);
            let v_ty = ty(&wi, &[x.ty()]);
            let v = g.add_node1("wi", wi, vec![xv], "v", v_ty.clone());
            let uv = g.add_const("u", u.clone());
            let mt_ty = ty(&Op::MatMul, &[v_ty, u.ty()]);
            let mt = g.add_node1("mm", Op::MatMul, vec![v, uv], "mt", mt_ty.clone());
            let bv = g.add_const("b", bias.clone());
            let wo = nhwc(output);
            let y_ty = ty(&wo, &[mt_ty, bias.ty()]);
            let y = g.add_node1("wo", wo, vec![mt, bv], "y", y_ty);
            g.outputs.push(y);
            cut += check(&g, &[x], 3, (1e-3, 1e-3));
        }
    }
    assert!(cut > 0, "nothing was cut");
}

#[test]
fn elementwise_cranelift_kernels_are_cut_on_aligned_chunks() {
    let mut r = rng(7);
    let mut cut = 0;
    for shape in [vec![3, 37, 41], vec![1, 65], vec![2, 5, 7, 11]] {
        let a = random_tensor(&mut r, DType::F32, &shape);
        let b = random_tensor(&mut r, DType::F32, &shape);
        for op in [Op::Unary(UnaryOp::Sigmoid), Op::Binary(BinaryOp::Add), Op::Binary(BinaryOp::Greater)] {
            let mut g = Graph::new();
            let av = g.add_input("a", a.ty());
            let mut ins = vec![av];
            let mut inputs = vec![a.clone()];
            if matches!(op, Op::Binary(_)) {
                ins.push(g.add_input("b", b.ty()));
                inputs.push(b.clone());
            }
            let types: Vec<TensorType> = inputs.iter().map(Tensor::ty).collect();
            let out = ty(&op, &types);
            let y = g.add_node1("n", op, ins, "y", out);
            g.outputs.push(y);
            cut += check(&g, &inputs, 0, (1e-6, 1e-6));
        }
    }
    assert!(cut > 0, "nothing was cut");
}
