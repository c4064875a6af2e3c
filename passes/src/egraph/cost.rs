//! The analytic cost model the extractor minimises: estimated microseconds per e-node.
//!
//! `time = FLOPs / throughput(op kind) + bytes read and written / bandwidth + kernel overhead`.
//! - Throughputs differ per op kind because kiln's kernels do: dense conv, 1x1 conv and GEMM,
//!   depthwise conv, batched MatMul and elementwise math each have their own number.
//!   Transcendental functions (exp, tanh, erf, log, sin...) count [`CostModel::transcendental`]
//!   FLOPs per element, cheap ones (sqrt, reciprocal, division, hard-swish) a few.
//! - Bytes are every input plus every output, once: that is the whole point of fusion. An
//!   `Op::Elementwise` chain or an `Op::Fused` conv+epilogue pays its FLOPs plus only the bytes of
//!   its real inputs and its output, while the unfused chain pays each intermediate twice (written,
//!   read back) plus one kernel overhead per node.
//! - `Reshape` is an alias in the memory plan: it costs [`CostModel::alias`] (tiny but non-zero,
//!   so one reshape beats two). `Identity` is a real copy. Inputs, constants and `Project` cost 0.
//! - A node whose class has no types (it cannot occur in a valid graph) costs infinity.
//!
//! Calibration: the numbers in [`CostModel::default`] come from `kiln calibrate` (kiln's own
//! kernels, one-node graphs, median of 15 runs) on the development machine (x86-64 Zen 4, 2 cores
//! shared, 128-bit Cranelift vectors), 2026-11-24:
//!
//! | probe | median | rate |
//! |---|---|---|
//! | conv 3x3, 64->64 ch, 56x56 | 6787 us | 34.1 GFLOP/s |
//! | conv 1x1, 256->64 ch, 56x56 | 2891 us | 35.6 GFLOP/s |
//! | depthwise 3x3, 144 ch, 56x56 | 1214 us | 6.7 GFLOP/s |
//! | matmul 256^3 | 877 us | 38.2 GFLOP/s |
//! | add, 1M elements | 231 us | 54 GB/s |
//! | relu, 1M elements | 140 us | 7.5 Gelem/s, 60 GB/s |
//! | sigmoid, 1M elements | 1754 us | 0.6 Gelem/s = 12.5 FLOP-equivalents at 7.5 GFLOP/s |
//! | one-element kernel call | 0.22 us | |
//!
//! Epilogues with transcendental steps were measured inside the conv kernels (backend
//! `tests/fused.rs` scratch bench, 56x56): SiLU added 14% to a dense 3x3 conv (1.2 ns/element),
//! 67% to a 1x1 conv (2.3 ns/element), 133% to a depthwise conv (2 ns/element), against
//! 1.75 ns/element standalone. End to end, YOLOv8n with SiLU fused into every conv ran slower
//! than with separate SiLU kernels, so [`CostModel::epilogue_transcendental`] makes a fused
//! transcendental cost several times its standalone price: the extraction then fuses cheap
//! epilogues (bias, BN, ReLU, Clip, residual add) and keeps SiLU-like ones as one separate
//! elementwise kernel. Rerun `kiln calibrate` after changing a kernel family.

use super::analysis::EGraph;
use super::lang::TensorLang;
use egg::Id;
use kiln_ir::{BinaryOp, ConvAttrs, Op, Program, ResizeMode, Step, TensorType, UnaryOp};

/// Throughputs of the target's machine-code micro-kernels (FLOP/s), which the channels-last
/// convolutions and the f32 MatMul/Gemm run on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MicroRates {
    /// KxK and grouped convolutions (implicit GEMM over the padded NHWC image).
    pub conv: f64,
    /// 1x1 convolutions (a GEMM over the pixels).
    pub conv_1x1: f64,
    /// MatMul and Gemm.
    pub gemm: f64,
    /// Depthwise convolutions (vectors of channels; bound by L1 loads, 1 per FMA).
    pub depthwise: f64,
    /// Effective bandwidth of the channels-last Winograd transforms (bytes/s): full-width
    /// vectors along the channels, contiguous rows.
    pub transform_bandwidth: f64,
    /// f32 lanes per vector: columns are computed a vector at a time, so a GEMM with `n`
    /// columns runs at `n / round_up(n, lanes)` of its rate.
    pub lanes: usize,
}

impl MicroRates {
    /// The fraction of the vector lanes a kernel with `n` columns (GEMM N, conv output
    /// channels) fills.
    pub fn lane_use(&self, n: usize) -> f64 {
        let lanes = self.lanes.max(1);
        n.max(1) as f64 / (n.max(1).div_ceil(lanes) * lanes) as f64
    }
}

impl MicroRates {
    /// The rates at `vector_bits`: 512 (AVX-512) and 256 (AVX2) from `kiln calibrate` and
    /// `examples/mk_tiles` on the development machine (an Emerald Rapids core: 175 and 94
    /// GFLOP/s peaks, the kernels at 85-95% and ~80%); 128 (NEON) is not measured here and is
    /// set at twice Cranelift's 128-bit kernels (AArch64 cores issue 2-4 128-bit FMAs a cycle,
    /// the micro-kernels keep them fed where Cranelift's reach about 40%).
    pub fn at(vector_bits: u32) -> MicroRates {
        let (conv, conv_1x1, gemm, depthwise) = match vector_bits {
            512.. => (150e9, 140e9, 150e9, 60e9),
            256..=511 => (75e9, 70e9, 75e9, 40e9),
            _ => (70e9, 65e9, 70e9, 30e9),
        };
        MicroRates { conv, conv_1x1, gemm, depthwise, transform_bandwidth: 30e9, lanes: vector_bits as usize / 32 }
    }
}

/// Weights above this size are streamed from memory, not cache (see
/// [`CostModel::weight_bandwidth`]).
pub const LARGE_WEIGHT_BYTES: usize = 1 << 20;

/// Throughputs and overheads; see the module docs. Rates are per second, times in microseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct CostModel {
    /// Dense convolution (kernel larger than 1x1, group 1 or grouped): FLOP/s.
    pub conv: f64,
    /// 1x1 convolution, group 1: FLOP/s.
    pub conv_1x1: f64,
    /// Depthwise convolution (one input channel per group): FLOP/s.
    pub depthwise: f64,
    /// Gemm: FLOP/s.
    pub gemm: f64,
    /// MatMul: FLOP/s.
    pub matmul: f64,
    /// Elementwise arithmetic, reductions, pooling: FLOP/s.
    pub elementwise: f64,
    /// FLOPs charged per element of a transcendental function.
    pub transcendental: f64,
    /// Factor on the transcendental FLOPs of a step inside a conv/gemm epilogue: the polynomial
    /// competes with the base kernel's accumulators for the 16 vector registers, so it runs
    /// slower there than in a standalone elementwise loop.
    pub epilogue_transcendental: f64,
    /// Memory bandwidth: bytes/s.
    pub bandwidth: f64,
    /// Effective bandwidth of the Winograd transforms (bytes/s): strided tile gathers, and the
    /// transform-domain tensor is 4x the activations and rarely fits in L2.
    pub transform_bandwidth: f64,
    /// Fixed cost of one kernel call: microseconds.
    pub kernel_overhead: f64,
    /// Cost of an alias (`Reshape`): microseconds.
    pub alias: f64,
    /// Bandwidth of streaming weights larger than [`LARGE_WEIGHT_BYTES`] (bytes/s): measured
    /// 10-15 GB/s by `examples/mk_tiles` (a 7x7x512 conv with 4 distinct weight sets).
    pub weight_bandwidth: f64,
    /// Effective bandwidth of a layout reorder (`Transpose` of a 4-D tensor): bytes/s. Strided
    /// on one side, it runs well below the streaming bandwidth.
    pub transpose_bandwidth: f64,
    /// The target's micro-kernels; `None`: it has none, so channels-last ops cost infinity and
    /// MatMul/Gemm run at the Cranelift rates above.
    pub micro: Option<MicroRates>,
}

impl Default for CostModel {
    fn default() -> Self {
        CostModel {
            conv: 34e9,
            conv_1x1: 35e9,
            depthwise: 7e9,
            gemm: 35e9,
            matmul: 38e9,
            elementwise: 7.5e9,
            transcendental: 12.0,
            epilogue_transcendental: 4.0,
            bandwidth: 55e9,
            transform_bandwidth: 8e9,
            kernel_overhead: 0.22,
            alias: 1e-3,
            transpose_bandwidth: 12e9,
            weight_bandwidth: 15e9,
            micro: None,
        }
    }
}

impl CostModel {
    /// The model of a target whose micro-kernels have `vector_bits`-wide vectors, or none.
    pub fn for_target(vector_bits: Option<u32>) -> CostModel {
        let base = CostModel::default();
        match vector_bits {
            // The micro-kernels apply transcendental epilogues (SiLU, GELU, sigmoid) to the
            // accumulators in registers (or from L1 when registers run short): no penalty.
            Some(bits) => CostModel { micro: Some(MicroRates::at(bits)), epilogue_transcendental: 1.0, ..base },
            None => base,
        }
    }

    /// Cost of e-node `node` of class `class`, with types from the analysis.
    pub fn enode_cost(&self, eg: &EGraph, class: Id, node: &TensorLang) -> f64 {
        let TensorLang::Op(key, children) = node else { return 0.0 };
        let outs = &eg[class].data.types;
        let ins: Option<Vec<&TensorType>> = children.iter().map(|&c| eg[c].data.ty()).collect();
        match ins {
            Some(ins) if !outs.is_empty() => self.op_cost(key.op(), &ins, outs) + self.weight_stream_time(eg, children),
            _ => f64::INFINITY,
        }
    }

    /// The extra time of streaming large weights (constants, or compile-time transforms of
    /// them, beyond [`LARGE_WEIGHT_BYTES`]) from memory at [`CostModel::weight_bandwidth`]
    /// instead of the cache bandwidth `bytes_time` assumes: what makes Winograd's 4x larger
    /// weights lose on the small, deep layers of a network at batch 1.
    fn weight_stream_time(&self, eg: &EGraph, children: &[Id]) -> f64 {
        let weight = |c: Id| {
            let data = &eg[c].data;
            let compile_time = eg[c].nodes.iter().any(|n| n.op().is_some_and(Op::is_compile_time));
            let bytes = data.ty().map_or(0, |t| t.byte_size());
            (data.constant.is_some() || compile_time) && bytes > LARGE_WEIGHT_BYTES
        };
        let bytes: usize =
            children.iter().filter(|&&c| weight(c)).filter_map(|&c| eg[c].data.ty()).map(|t| t.byte_size()).sum();
        bytes as f64 * (1.0 / self.weight_bandwidth - 1.0 / self.bandwidth).max(0.0) * 1e6
    }

    /// Cost of `op` on inputs `ins` giving `outs`: microseconds.
    pub fn op_cost(&self, op: &Op, ins: &[&TensorType], outs: &[TensorType]) -> f64 {
        match op {
            Op::Reshape { .. } => return self.alias,
            // Evaluated once at compile time on constant weights (`Op::is_compile_time`).
            Op::WinogradWeights { .. } => return 0.0,
            op if op.is_compile_time() => return 0.0,
            Op::Identity => return self.bytes_time(ins, outs) + self.kernel_overhead,
            Op::WinogradInput { .. } | Op::WinogradOutput { .. } => return self.transform_time(op, ins, outs),
            Op::ChannelsLast(inner) if matches!(**inner, Op::WinogradInput { .. } | Op::WinogradOutput { .. }) => {
                return self.transform_time(op, ins, outs)
            }
            Op::Fused { base, base_inputs, epilogue } if is_winograd_output(base) => {
                // The transform's bytes at its own bandwidth (priced at the plain rate, a fused
                // output transform looked 7x cheaper than the unfused one and the extraction
                // added useless epilogues to get it), plus the epilogue's compute and operands.
                let (base_ins, extras) = ins.split_at((*base_inputs).min(ins.len()));
                let out = outs.first().map_or(0.0, |t| t.numel() as f64);
                let epilogue = out * self.epilogue_flops(epilogue) / self.elementwise * 1e6;
                return self.transform_time(base, base_ins, outs) + epilogue + self.bytes_time(extras, &[]);
            }
            _ => {}
        }
        let compute = self.compute_time(op, ins, outs);
        compute + self.bytes_time(ins, outs) + self.kernel_overhead
    }

    /// A Winograd transform `op`: its bytes at [`CostModel::transform_bandwidth`] (channels
    /// last: at the micro-kernels' [`MicroRates::transform_bandwidth`], infinite without them),
    /// plus a call.
    fn transform_time(&self, op: &Op, ins: &[&TensorType], outs: &[TensorType]) -> f64 {
        let bandwidth = match (op, self.micro) {
            (Op::ChannelsLast(_), Some(m)) => m.transform_bandwidth,
            (Op::ChannelsLast(_), None) => return f64::INFINITY,
            _ => self.transform_bandwidth,
        };
        self.bytes_time(ins, outs) * self.bandwidth / bandwidth + self.kernel_overhead
    }

    /// Bytes of all inputs and outputs over the bandwidth: microseconds.
    fn bytes_time(&self, ins: &[&TensorType], outs: &[TensorType]) -> f64 {
        let bytes: usize =
            ins.iter().map(|t| t.byte_size()).sum::<usize>() + outs.iter().map(|t| t.byte_size()).sum::<usize>();
        bytes as f64 / self.bandwidth * 1e6
    }

    /// FLOPs over the op kind's throughput: microseconds.
    fn compute_time(&self, op: &Op, ins: &[&TensorType], outs: &[TensorType]) -> f64 {
        let out = outs.first().map_or(0.0, |t| t.numel() as f64);
        let input = ins.first().map_or(0.0, |t| t.numel() as f64);
        let us = |flops: f64, rate: f64| flops / rate * 1e6;
        match op {
            Op::Conv(a) => us(conv_flops(a, ins, out), self.conv_rate(a, ins)),
            Op::ChannelsLast(inner) => self.channels_last_time(inner, ins, outs),
            Op::Gemm { .. } => us(gemm_flops(op, ins, out), self.gemm_rate(self.gemm, outs)),
            Op::MatMul => us(gemm_flops(op, ins, out), self.gemm_rate(self.matmul, outs)),
            Op::Transpose { .. } => {
                let bytes = ins.iter().map(|t| t.byte_size()).sum::<usize>() as f64;
                bytes * 2.0 * (1.0 / self.transpose_bandwidth - 1.0 / self.bandwidth).max(0.0) * 1e6
            }
            Op::Fused { base, base_inputs, epilogue } => {
                let base_ins = &ins[..(*base_inputs).min(ins.len())];
                let base_time = self.compute_time(base, base_ins, outs);
                base_time + us(out * self.epilogue_flops(epilogue), self.elementwise)
            }
            _ => us(self.simple_flops(op, input, out), self.elementwise),
        }
    }

    /// A channels-last op: its NCHW op's FLOPs at the micro-kernel rate (convolutions), or at
    /// the elementwise rate (pooling); infinite without micro-kernels.
    fn channels_last_time(&self, inner: &Op, ins: &[&TensorType], outs: &[TensorType]) -> f64 {
        let Some(micro) = self.micro else { return f64::INFINITY };
        let out = outs.first().map_or(0.0, |t| t.numel() as f64);
        match inner {
            Op::Conv(a) => {
                let cin = ins.first().and_then(|t| t.shape.last()).copied().unwrap_or(1);
                let flops = conv_flops_c(a, cin, ins.len() > 2, out);
                let depthwise = a.group > 1 && a.group == cin;
                let rate = match (depthwise, a.kernel.iter().all(|&k| k == 1)) {
                    (true, _) => micro.depthwise,
                    (false, true) => micro.conv_1x1,
                    (false, false) => micro.conv,
                };
                let m = outs.first().and_then(|t| t.shape.last()).copied().unwrap_or(1) / a.group.max(1);
                let rate = rate * if depthwise { 1.0 } else { micro.lane_use(m) };
                flops / rate * 1e6
            }
            // Pooling: the depthwise kernel's loop with max/add instead of the multiply-add.
            other => {
                self.simple_flops(other, ins.first().map_or(0.0, |t| t.numel() as f64), out) / micro.depthwise * 1e6
            }
        }
    }

    /// The rate of a GEMM whose output is `outs[0]` (`[.., M, N]`): the micro-kernels' rate
    /// times their lane use and their row use (a register tile is ~12 rows high; fewer rows,
    /// e.g. a Winograd product with 4 tiles, leave it mostly empty), or `cranelift` without them.
    fn gemm_rate(&self, cranelift: f64, outs: &[TensorType]) -> f64 {
        let shape = outs.first().map(|t| t.shape.as_slice()).unwrap_or(&[]);
        let n = shape.last().copied().unwrap_or(1);
        let m = shape.len().checked_sub(2).and_then(|i| shape.get(i)).copied().unwrap_or(1);
        let rows = (m as f64 / 12.0).clamp(0.3, 1.0);
        self.micro.map_or(cranelift, |r| r.gemm * r.lane_use(n) * rows)
    }

    fn conv_rate(&self, a: &ConvAttrs, ins: &[&TensorType]) -> f64 {
        let cin = ins.first().and_then(|t| t.shape.get(1)).copied().unwrap_or(1);
        if a.group > 1 && a.group == cin {
            self.depthwise
        } else if a.group == 1 && a.kernel.iter().all(|&k| k == 1) {
            self.conv_1x1
        } else {
            self.conv
        }
    }

    /// FLOPs of ops that run at the elementwise rate.
    fn simple_flops(&self, op: &Op, input: f64, out: f64) -> f64 {
        match op {
            Op::Unary(u) => out * self.unary_flops(*u),
            Op::Binary(b) => out * self.binary_flops(*b),
            Op::Elementwise(p) => out * self.program_flops(p),
            Op::Where | Op::Cast { .. } => out,
            Op::BatchNorm { .. } => 2.0 * out,
            Op::Pool(a) => out * a.kernel.iter().product::<usize>() as f64,
            Op::Lrn { size, .. } => input * (2.0 * *size as f64 + self.transcendental),
            Op::Softmax { .. } | Op::LogSoftmax { .. } => input * (3.0 + self.transcendental),
            Op::Reduce { .. } | Op::ArgMax { .. } | Op::ArgMin { .. } => input,
            Op::Resize(a) => out * resize_flops(a.mode),
            _ => 0.0,
        }
    }

    /// FLOPs per element of a fused program.
    pub fn program_flops(&self, p: &Program) -> f64 {
        p.steps
            .iter()
            .map(|s| match *s {
                Step::Unary(u, _) => self.unary_flops(u),
                Step::Binary(b, _, _) => self.binary_flops(b),
            })
            .sum()
    }

    /// FLOPs per element of a program run as a conv/gemm epilogue (see
    /// [`CostModel::epilogue_transcendental`]).
    pub fn epilogue_flops(&self, p: &Program) -> f64 {
        p.steps
            .iter()
            .map(|s| match *s {
                Step::Unary(u, _) if self.unary_flops(u) >= self.transcendental => {
                    self.unary_flops(u) * self.epilogue_transcendental
                }
                Step::Unary(u, _) => self.unary_flops(u),
                Step::Binary(b, _, _) => self.binary_flops(b),
            })
            .sum()
    }

    /// FLOPs per element of a unary function.
    pub fn unary_flops(&self, u: UnaryOp) -> f64 {
        use UnaryOp::*;
        match u {
            Sigmoid | Tanh | Erf | Exp | Log | Softplus | Elu { .. } | Sin | Cos => self.transcendental,
            Sqrt | Reciprocal | HardSwish | HardSigmoid { .. } | Softsign => 4.0,
            _ => 1.0,
        }
    }

    /// FLOPs per element of a binary function.
    pub fn binary_flops(&self, b: BinaryOp) -> f64 {
        match b {
            BinaryOp::Pow => self.transcendental,
            BinaryOp::Div => 4.0,
            _ => 1.0,
        }
    }
}

/// True for a Winograd output transform, plain or channels-last.
fn is_winograd_output(op: &Op) -> bool {
    match op {
        Op::ChannelsLast(inner) => matches!(**inner, Op::WinogradOutput { .. }),
        _ => matches!(op, Op::WinogradOutput { .. }),
    }
}

/// `2 * out * (C/group) * prod(kernel)`, plus one add per output with a bias.
fn conv_flops(a: &ConvAttrs, ins: &[&TensorType], out: f64) -> f64 {
    let cin = ins.first().and_then(|t| t.shape.get(1)).copied().unwrap_or(1);
    conv_flops_c(a, cin, ins.len() > 2, out)
}

/// [`conv_flops`] for `cin` input channels.
fn conv_flops_c(a: &ConvAttrs, cin: usize, bias: bool, out: f64) -> f64 {
    let per_out = cin as f64 / a.group.max(1) as f64 * a.kernel.iter().product::<usize>() as f64;
    2.0 * out * per_out + if bias { out } else { 0.0 }
}

/// `2 * out * K` for Gemm/MatMul (K the reduced dimension), plus one add per output for `c`.
fn gemm_flops(op: &Op, ins: &[&TensorType], out: f64) -> f64 {
    let a = ins.first().map(|t| t.shape.as_slice()).unwrap_or(&[]);
    let k = match op {
        Op::Gemm { trans_a: true, .. } => a.first(),
        _ => a.last(),
    };
    let k = k.copied().unwrap_or(1) as f64;
    2.0 * out * k + if ins.len() > 2 { out } else { 0.0 }
}

fn resize_flops(mode: ResizeMode) -> f64 {
    match mode {
        ResizeMode::Nearest(_) => 1.0,
        ResizeMode::Linear => 8.0,
        ResizeMode::Cubic => 32.0,
    }
}
