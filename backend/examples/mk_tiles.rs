//! Times the machine-code GEMM micro-kernel at one shape for several register tiles, interleaved
//! (round-robin, best of N), so tiles compare fairly on a noisy machine:
//!
//! ```text
//! cargo run --release -p kiln-backend --example mk_tiles -- M N K [avx2]
//! cargo run --release -p kiln-backend --example mk_tiles -- conv OH OW C M   # 3x3, pad 1
//! ```
//!
//! Prints GFLOP/s per tile, the cost model's choice marked. A developer tool for tuning
//! `kiln_backend::mk::tile`, not part of the product.

use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module};
use kiln_backend::mk::task::{AMode, BSource, Base, Epilogue, GemmTask};
use kiln_backend::mk::tile::{choose, Tile};
use kiln_backend::mk::x86::{CallConv, Level};
use kiln_backend::mk::MicroIsa;
use std::time::Instant;

fn gemm_task(m: usize, n: usize, k: usize) -> GemmTask {
    let p = |param| Base { param, offset: 0 };
    GemmTask {
        outer: vec![],
        pad: None,
        clip: None,
        rows: [1, m],
        a: p(0),
        a_rows: [0, 4 * k as i64],
        a_mode: AMode::Broadcast,
        taps: [(1, 0), (1, 0)],
        depth: k,
        b: p(1),
        b_source: BSource::Packed,
        n,
        c: p(2),
        c_rows: [0, 4 * n as i64],
        epilogue: Epilogue::none(),
    }
}

/// A 3x3, stride-1 conv over an already padded `(oh+2) x (ow+2) x c` image.
fn conv_task(oh: usize, ow: usize, c: usize, m: usize) -> GemmTask {
    let p = |param| Base { param, offset: 0 };
    let wp = (ow + 2) as i64;
    let c4 = 4 * c as i64;
    GemmTask {
        outer: vec![],
        pad: None,
        clip: None,
        rows: [oh, ow],
        a: p(0),
        a_rows: [wp * c4, c4],
        a_mode: AMode::Broadcast,
        taps: [(3, wp * c4), (1, 0)],
        depth: 3 * c,
        b: p(1),
        b_source: BSource::Packed,
        n: m,
        c: p(2),
        c_rows: [4 * (ow * m) as i64, 4 * m as i64],
        epilogue: Epilogue::none(),
    }
}

type Kernel = extern "C" fn(*const f32, *const f32, *mut f32);

fn compile(module: &mut JITModule, level: Level, task: &GemmTask, tile: Tile, i: usize) -> Kernel {
    let code = kiln_backend::mk::x86::gemm::assemble(level, CallConv::SystemV, 3, task, tile).expect("assemble");
    if let Ok(dir) = std::env::var("MK_DUMP") {
        let _ = std::fs::write(format!("{dir}/k{i}.bin"), &code);
    }
    let mut sig = module.make_signature();
    for _ in 0..3 {
        sig.params.push(cranelift_codegen::ir::AbiParam::new(cranelift_codegen::ir::types::I64));
    }
    let id = module.declare_function(&format!("k{i}"), Linkage::Local, &sig).expect("declare");
    module.define_function_bytes(id, 64, &code, &[]).expect("define");
    module.finalize_definitions().expect("finalize");
    // SAFETY: the kernel takes three pointers (A, packed B, C), System V.
    unsafe { std::mem::transmute::<*const u8, Kernel>(module.get_finalized_function(id)) }
}

/// The real plan of a 3x3 NHWC conv with bias and ReLU (pad copy, epilogue) timed as kiln runs it.
fn full_conv(hw: usize, c: usize, level: Level) {
    use kiln_ir::{ConvAttrs, DType, Op, Operand, Program, Step, TensorType, UnaryOp};
    let t = |s: &[usize]| TensorType::new(DType::F32, s.to_vec());
    let attrs =
        ConvAttrs { kernel: vec![3, 3], strides: vec![1, 1], dilations: vec![1, 1], pads: vec![1; 4], group: 1 };
    let relu = Program { steps: vec![Step::Unary(UnaryOp::Relu, Operand::Arg(0))] };
    let op = Op::Fused { base: Box::new(Op::ChannelsLast(Box::new(Op::Conv(attrs)))), base_inputs: 3, epilogue: relu };
    let spec = kiln_backend::KernelSpec {
        node: "conv".into(),
        op,
        inputs: vec![t(&[1, hw, hw, c]), t(&[c, c, 3, 3]), t(&[c])],
        outputs: vec![t(&[1, hw, hw, c])],
    };
    let mk = kiln_backend::mk::plan(&spec, &[false, true, true], Some(MicroIsa::X86(level))).expect("plan");
    println!("tile {:?}, scratch {} bytes, params {}", mk.tile, mk.scratch, mk.params);
    let code = mk.assemble(CallConv::SystemV).expect("assemble");
    let isa = kiln_backend::host_isa().expect("host isa");
    let mut module = JITModule::new(JITBuilder::with_isa(isa, cranelift_module::default_libcall_names()));
    let mut sig = module.make_signature();
    for _ in 0..mk.params {
        sig.params.push(cranelift_codegen::ir::AbiParam::new(cranelift_codegen::ir::types::I64));
    }
    let id = module.declare_function("k", Linkage::Local, &sig).expect("declare");
    module.define_function_bytes(id, 64, &code, &[]).expect("define");
    module.finalize_definitions().expect("finalize");
    type K5 = extern "C" fn(*const f32, *const f32, *const f32, *mut f32, *mut f32);
    // SAFETY: five pointer parameters: x, packed w, b, y, scratch.
    let k: K5 = unsafe { std::mem::transmute(module.get_finalized_function(id)) };
    let x = vec![0.5f32; hw * hw * c];
    let copies = std::env::var("MK_COPIES").ok().and_then(|s| s.parse().ok()).unwrap_or(4usize);
    let ws: Vec<Vec<f32>> = (0..copies).map(|_| vec![0.01f32; mk.packed[0].1.len()]).collect();
    let b = vec![0.1f32; c];
    let mut y = vec![0f32; hw * hw * c];
    let mut scratch = vec![0f32; mk.scratch / 4 + 16];
    let flops = 2.0 * mk.task.macs() as f64;
    let mut best = f64::INFINITY;
    for _ in 0..50 {
        let t = Instant::now();
        for w in &ws {
            k(x.as_ptr(), w.as_ptr(), b.as_ptr(), y.as_mut_ptr(), scratch.as_mut_ptr());
        }
        best = best.min(t.elapsed().as_secs_f64() / ws.len() as f64);
    }
    println!("full conv {hw}x{hw}x{c}: {:.3} ms, {:.1} GFLOP/s", best * 1e3, flops / best / 1e9);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("full") {
        let level = if args.iter().any(|a| a == "avx2") { Level::Avx2 } else { Level::Avx512 };
        let num = |i: usize| args.get(i).and_then(|s| s.parse::<usize>().ok()).unwrap_or(7);
        return full_conv(num(1), num(2), level);
    }
    let num = |i: usize| args.get(i).and_then(|s| s.parse::<usize>().ok()).unwrap_or(64);
    let avx2 = args.iter().any(|a| a == "avx2");
    let level = if avx2 { Level::Avx2 } else { Level::Avx512 };
    let (task, a_len) = if args.first().map(String::as_str) == Some("conv") {
        let (oh, ow, c, m) = (num(1), num(2), num(3), num(4));
        (conv_task(oh, ow, c, m), (oh + 2) * (ow + 2) * c + 64)
    } else {
        let (m, n, k) = (num(0), num(1), num(2));
        (gemm_task(m, n, k), m * k)
    };
    let rf = MicroIsa::X86(level).register_file();
    let chosen = choose(&task, &rf);
    let lanes = rf.lanes;
    let mut tiles: Vec<Tile> = vec![chosen];
    for nv in 1..=4usize {
        for mr in [4usize, 5, 6, 7, 8, 10, 12, 14, 16, 24, 28] {
            let regs = mr * nv + nv + if avx2 { 2 } else { 2 };
            if regs <= rf.vregs && task.rows[1] >= mr && nv * lanes <= task.n.div_ceil(lanes) * lanes {
                let t = Tile { th: 1, tw: mr, nv };
                if !tiles.contains(&t) {
                    tiles.push(t);
                }
            }
        }
    }
    let isa = kiln_backend::host_isa().expect("host isa");
    let mut module = JITModule::new(JITBuilder::with_isa(isa, cranelift_module::default_libcall_names()));
    let kernels: Vec<Kernel> =
        tiles.iter().enumerate().map(|(i, &t)| compile(&mut module, level, &task, t, i)).collect();
    let a = vec![0.5f32; a_len];
    let b = vec![0.25f32; task.k() * task.n.div_ceil(lanes) * lanes];
    let mut c = vec![0f32; task.m() * task.n];
    let flops = 2.0 * task.macs() as f64;
    let mut best = vec![f64::INFINITY; tiles.len()];
    let reps = (2e9 / flops).clamp(1.0, 200.0) as usize;
    for _round in 0..15 {
        for (i, k) in kernels.iter().enumerate() {
            let t = Instant::now();
            for _ in 0..reps {
                k(a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
            }
            best[i] = best[i].min(t.elapsed().as_secs_f64() / reps as f64);
        }
    }
    for (i, t) in tiles.iter().enumerate() {
        let mark = if i == 0 { "  <- chosen" } else { "" };
        println!("{:?} {:>8.1} GFLOP/s{mark}", t, flops / best[i] / 1e9);
    }
}
