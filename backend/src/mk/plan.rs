//! From a node's [`KernelSpec`] to a machine-code kernel: the [`GemmTask`] it computes, the
//! register tile, which constant inputs are passed prepacked, and the scratch it needs.
//!
//! Covered today: f32 `MatMul` (any batch broadcasting; B prepacked when it is a constant
//! without batch dims, else read in place) and `Gemm` (A not transposed; B prepacked when
//! constant, either orientation, else read in place when not transposed; C with beta and any
//! broadcast; alpha), each optionally as the base of `Op::Fused` with an epilogue program the
//! ISA's emitter supports and extra operands that are contiguous or broadcast along N. Anything
//! else returns `None` and keeps its Cranelift kernel.
//!
//! A plan is a pure function of the spec, which operands are constants and the ISA, so nodes
//! with equal specs share one kernel (the weights differ per node and are passed by pointer).

use super::pack::{PackedB, WeightLayout};
use super::task::{AMode, BSource, Base, Epilogue, GemmTask, Operand, Outer, Strides};
use super::tile::{self, Tile};
use super::{arm, x86, MicroIsa};
use crate::kernel::KernelSpec;
use kiln_ir::{DType, Op, Program};

/// A node's machine-code kernel; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MicroKernel {
    pub isa: MicroIsa,
    pub task: GemmTask,
    pub tile: Tile,
    /// Constant inputs passed prepacked: (input index, packing).
    pub packed: Vec<(usize, PackedB)>,
    /// Bytes of workspace scratch the kernel needs; when non-zero the kernel takes a pointer to
    /// it as its last parameter.
    pub scratch: usize,
    /// Pointer parameters: the inputs, the outputs, then the scratch when there is one.
    pub params: usize,
}

impl MicroKernel {
    /// The machine code for calling convention `conv`.
    /// (`conv` is the x86 convention; AArch64 has one, AAPCS64.)
    pub fn assemble(&self, conv: x86::CallConv) -> Result<Vec<u8>, String> {
        match self.isa {
            MicroIsa::X86(level) => x86::gemm::assemble(level, conv, self.params, &self.task, self.tile),
            MicroIsa::Neon => arm::gemm::assemble(self.params, &self.task, self.tile),
        }
    }
    /// True when the ISA's generator builds this kernel. The x86 generator covers every task a
    /// plan makes; the NEON one covers the broadcast-mode tasks ([`arm::gemm::supports`]) and
    /// is tried once (its register allocation can run out on unusual epilogues), behind
    /// `catch_unwind` so a generator bug can only cost the node its micro-kernel.
    fn buildable(&self) -> bool {
        match self.isa {
            MicroIsa::X86(_) => true,
            MicroIsa::Neon => {
                arm::gemm::supports(&self.task)
                    && std::panic::catch_unwind(|| self.assemble(x86::CallConv::SystemV).is_ok()).unwrap_or(false)
            }
        }
    }
}

/// The plan of `spec` on `isa` (`constant[i]`: input `i` is a graph constant), or `None` (also
/// when the ISA's generator does not build it: the node then keeps its Cranelift kernel).
pub fn plan(spec: &KernelSpec, constant: &[bool], isa: Option<MicroIsa>) -> Option<MicroKernel> {
    plan_any(spec, constant, isa?).filter(MicroKernel::buildable)
}

fn plan_any(spec: &KernelSpec, constant: &[bool], isa: MicroIsa) -> Option<MicroKernel> {
    if spec.outputs.len() != 1 || spec.inputs.iter().chain(&spec.outputs).any(|t| t.dtype != DType::F32) {
        return None;
    }
    if spec.inputs.iter().chain(&spec.outputs).any(|t| t.numel() == 0 || t.byte_size() >= 1 << 31) {
        return None;
    }
    let (base, base_inputs, program) = match &spec.op {
        Op::Fused { base, base_inputs, epilogue } => (&**base, *base_inputs, Some(epilogue)),
        op => (op, spec.inputs.len(), None),
    };
    if let Some(p) = program {
        if !program_supported(isa, p) {
            return None;
        }
    }
    let lanes = isa.lanes();
    if let Op::ChannelsLast(inner) = base {
        return match &**inner {
            Op::Conv(attrs) => super::conv::plan(spec, constant, base_inputs, program, attrs, isa),
            Op::Pool(attrs) if program.is_none() => super::pool::plan(spec, attrs, isa),
            Op::WinogradInput { pads, out_hw, tile } if program.is_none() => {
                super::winograd::plan_input(spec, pads, *out_hw, *tile, isa)
            }
            Op::WinogradOutput { out_shape, tile } => {
                super::winograd::plan_output(spec, base_inputs, program, *out_shape, *tile, isa)
            }
            _ => None,
        };
    }
    let (mut task, packing) = match base {
        Op::MatMul => matmul(spec, constant, base_inputs)?,
        Op::Gemm { alpha, beta, trans_a: false, trans_b } => {
            gemm(spec, constant, base_inputs, alpha.get(), beta.get(), *trans_b)?
        }
        _ => return None,
    };
    if let Some(p) = program {
        task.epilogue.program = Some(p.clone());
        task.epilogue.extras = extras(spec, base_inputs, &task)?;
    }
    let tile = tile::choose(&task, &isa.register_file());
    let packed = packing
        .map(|(input, layout, k, n, groups)| {
            let p = PackedB { layout, k, n, groups, nr: tile.nv * lanes, lanes };
            if groups > 1 {
                // The outer loops step B in whole packed matrices (see `matmul`).
                task.outer.iter_mut().for_each(|o| o.b *= p.group_bytes());
            }
            vec![(input, p)]
        })
        .unwrap_or_default();
    let params = spec.inputs.len() + spec.outputs.len();
    Some(MicroKernel { isa, task, tile, packed, scratch: 0, params })
}

pub(super) fn program_supported(isa: MicroIsa, p: &Program) -> bool {
    match isa {
        MicroIsa::X86(_) => x86::program::supported(p),
        MicroIsa::Neon => arm::program::supported(p),
    }
}

/// A constant B to pack: (input index, layout, K, N, matrices).
type Packing = Option<(usize, WeightLayout, usize, usize, usize)>;

pub(super) fn param(param: usize) -> Base {
    Base { param, offset: 0 }
}

/// Element strides of `shape` broadcast to `out` (numpy rules; 0 on broadcast axes).
pub(super) fn broadcast_strides(shape: &[usize], out: &[usize]) -> Option<Vec<i64>> {
    if shape.len() > out.len() {
        return None;
    }
    let dense = kiln_ir::strides_of(shape);
    let skip = out.len() - shape.len();
    (0..out.len())
        .map(|k| {
            if k < skip {
                return Some(0);
            }
            let (d, o) = (shape[k - skip], out[k]);
            match (d == o, d == 1) {
                (_, true) => Some(0),
                (true, false) => Some(dense[k - skip] as i64),
                _ => None,
            }
        })
        .collect()
}

/// A plain GEMM task over rows `[1, m]`: A rows `lda` elements apart, C dense `[m, n]`.
fn gemm_task(a: usize, b: usize, c: usize, m: usize, n: usize, k: usize, b_source: BSource) -> GemmTask {
    GemmTask {
        outer: Vec::new(),
        pad: None,
        clip: None,
        rows: [1, m],
        a: param(a),
        a_rows: [0, 4 * k as i64],
        a_mode: AMode::Broadcast,
        taps: [(1, 0), (1, 0)],
        depth: k,
        b: param(b),
        b_source,
        n,
        c: param(c),
        c_rows: [0, 4 * n as i64],
        epilogue: Epilogue::none(),
    }
}

fn matmul(spec: &KernelSpec, constant: &[bool], base_inputs: usize) -> Option<(GemmTask, Packing)> {
    if base_inputs != 2 {
        return None;
    }
    let (sa, sb, so) = (&spec.inputs[0].shape, &spec.inputs[1].shape, &spec.outputs[0].shape);
    let (m, k, n) = (sa[sa.len() - 2], sa[sa.len() - 1], sb[sb.len() - 1]);
    let batch = &so[..so.len() - 2];
    let scaled = |v: Vec<i64>, matrix: usize| v.into_iter().map(|s| s * matrix as i64).collect::<Vec<_>>();
    let a_bs = scaled(broadcast_strides(&sa[..sa.len() - 2], batch)?, m * k);
    let b_bs = scaled(broadcast_strides(&sb[..sb.len() - 2], batch)?, k * n);
    let b_flat = b_bs.iter().all(|&s| s == 0);
    // A constant B with batch dims of its own (Winograd's [a*a, C, M]) is packed matrix by
    // matrix; the outer loops then step it in packed matrices (fixed up once the tile is known).
    let b_dense = !b_flat && b_bs == dense_batch(batch, k * n);
    let packed = (b_flat || b_dense) && constant.get(1) == Some(&true);
    let source = if packed { BSource::Packed } else { BSource::Strided { row: 4 * n as i64 } };
    let batches: usize = batch.iter().product();
    let a_dense = a_bs == dense_batch(batch, m * k);
    let out = spec.inputs.len();
    let mut task = if b_flat && a_dense {
        // Fold the batch into the rows: A is [batches * m, k], C [batches * m, n].
        gemm_task(0, 1, out, batches * m, n, k, source)
    } else {
        let mut t = gemm_task(0, 1, out, m, n, k, source);
        let c_bs = dense_batch(batch, m * n);
        let b_step = |i: usize| if packed { b_bs[i] / (k * n) as i64 } else { 4 * b_bs[i] };
        t.outer =
            (0..batch.len()).map(|i| Outer { count: batch[i], a: 4 * a_bs[i], b: b_step(i), c: 4 * c_bs[i] }).collect();
        t
    };
    task.outer.retain(|o| o.count > 1);
    let groups = if b_flat { 1 } else { batches };
    let packing = packed.then_some((1, WeightLayout::Kn, k, n, groups));
    Some((task, packing))
}

/// Dense element strides of the batch dims `batch` over matrices of `matrix` elements.
fn dense_batch(batch: &[usize], matrix: usize) -> Vec<i64> {
    let mut s = matrix as i64;
    let mut out = vec![0; batch.len()];
    for i in (0..batch.len()).rev() {
        out[i] = if batch[i] == 1 { 0 } else { s };
        s *= batch[i] as i64;
    }
    out
}

fn gemm(
    spec: &KernelSpec,
    constant: &[bool],
    base_inputs: usize,
    alpha: f32,
    beta: f32,
    trans_b: bool,
) -> Option<(GemmTask, Packing)> {
    if !(2..=3).contains(&base_inputs) {
        return None;
    }
    let (sa, sb) = (&spec.inputs[0].shape, &spec.inputs[1].shape);
    if sa.len() != 2 || sb.len() != 2 {
        return None;
    }
    let (m, k) = (sa[0], sa[1]);
    let n = if trans_b { sb[0] } else { sb[1] };
    let packed = constant.get(1) == Some(&true);
    let source = match (packed, trans_b) {
        (true, _) => BSource::Packed,
        (false, false) => BSource::Strided { row: 4 * n as i64 },
        (false, true) => return None,
    };
    let mut task = gemm_task(0, 1, spec.inputs.len(), m, n, k, source);
    task.epilogue.alpha = alpha.into();
    if base_inputs == 3 && beta != 0.0 {
        let s = broadcast_strides(&spec.inputs[2].shape, &[m, n])?;
        if s[1] > 1 {
            return None;
        }
        let strides = Strides { outer: Vec::new(), rows: [0, 4 * s[0]], col: 4 * s[1] };
        task.epilogue.addend = Some((Operand { base: param(2), strides }, beta.into()));
    }
    let layout = if trans_b { WeightLayout::Nk } else { WeightLayout::Kn };
    Some((task, packed.then_some((1, layout, k, n, 1))))
}

/// The epilogue's extra operands (inputs `base_inputs..`) as strides over the task's loops, or
/// `None` when one is not contiguous or broadcast along N, or not linear in the task's rows.
fn extras(spec: &KernelSpec, base_inputs: usize, task: &GemmTask) -> Option<Vec<Operand>> {
    let out = &spec.outputs[0].shape;
    let (m, rank) = (out[out.len() - 2], out.len());
    spec.inputs[base_inputs..]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let s = broadcast_strides(&t.shape, out)?;
            if s[rank - 1] > 1 {
                return None;
            }
            let (batch, row) = (&s[..rank - 2], s[rank - 2]);
            let outer: Vec<i64> = if task.outer.is_empty() {
                // Rows are (batch..., m) flattened: the operand must step uniformly along them.
                let dims = &out[..rank - 2];
                let linear = (0..batch.len()).all(|d| {
                    let rows_after: usize = dims[d + 1..].iter().product::<usize>() * m;
                    dims[d] == 1 || batch[d] == row * rows_after as i64
                });
                if !linear {
                    return None;
                }
                Vec::new()
            } else {
                batch.iter().zip(&out[..rank - 2]).filter(|(_, &d)| d > 1).map(|(&s, _)| 4 * s).collect()
            };
            let strides = Strides { outer, rows: [0, 4 * row], col: 4 * s[rank - 1] };
            Some(Operand { base: param(base_inputs + i), strides })
        })
        .collect()
}
