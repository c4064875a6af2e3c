//! Cutting an elementwise Cranelift kernel into parts for threads: a kernel whose inputs and
//! output all have the output's shape (no broadcasting) computes element `e` of the output
//! from element `e` of each input, so the flat range of elements splits into chunks, each run
//! by the same kernel on a 1-D type of the chunk's length with every pointer moved to the
//! chunk's first element (`crate::entry`'s per-part offsets).
//!
//! Chunks start at multiples of [`ALIGN`] elements, so every element falls in a part's vector
//! loop exactly when it falls in the whole kernel's (the tail stays the tail): the parts compute
//! the same bits as the whole kernel. The micro-kernels are cut by `crate::mk::split`; other
//! Cranelift kernels (transposes, concatenations, reductions, softmax...) stay whole.

use crate::kernel::KernelSpec;
use kiln_ir::{Op, TensorType};

/// Chunk starts are multiples of this many elements (a multiple of every vector loop's step).
pub const ALIGN: usize = 64;
/// Elements below which a part is not worth a fork-join (~2-5 us of work).
pub const MIN_ELEMENTS_PER_PART: usize = 1 << 14;

/// One part: the kernel on the chunk, and the chunk's first element.
#[derive(Clone, Debug)]
pub struct FlatPart {
    pub spec: KernelSpec,
    pub first: usize,
}

/// The parts of `spec` for `threads` threads (empty: not cut), at most `max_parts`.
pub fn split(spec: &KernelSpec, threads: usize, max_parts: usize, min_elements: usize) -> Vec<FlatPart> {
    let Some(out) = spec.outputs.first() else { return Vec::new() };
    let n = out.numel();
    let elementwise = matches!(spec.op, Op::Unary(_) | Op::Binary(_) | Op::Where | Op::Cast { .. });
    let same_shapes = spec.outputs.len() == 1 && spec.inputs.iter().all(|t| t.shape == out.shape);
    let byte_sized = spec.inputs.iter().chain(&spec.outputs).all(|t| element_bytes(t).is_some());
    if threads < 2 || !elementwise || !same_shapes || !byte_sized {
        return Vec::new();
    }
    let blocks = n.div_ceil(ALIGN);
    let want = max_parts.min(n / min_elements.max(1)).min(blocks);
    let parts = if want >= threads { want / threads * threads } else { want };
    if parts < 2 {
        return Vec::new();
    }
    (0..parts)
        .map(|p| {
            let (first, end) = (p * blocks / parts * ALIGN, ((p + 1) * blocks / parts * ALIGN).min(n));
            let flat = |t: &TensorType| TensorType::new(t.dtype, vec![end - first]);
            let spec = KernelSpec {
                node: spec.node.clone(),
                op: spec.op.clone(),
                inputs: spec.inputs.iter().map(flat).collect(),
                outputs: spec.outputs.iter().map(flat).collect(),
            };
            FlatPart { spec, first }
        })
        .collect()
}

/// Bytes per element of `t` when whole (kiln passes sub-byte types one element per byte).
pub fn element_bytes(t: &TensorType) -> Option<usize> {
    let n = t.numel();
    (n > 0 && t.byte_size() % n == 0).then(|| t.byte_size() / n)
}

/// Each part's byte offsets of the kernel's arguments (inputs, then the output).
pub fn offsets(spec: &KernelSpec, parts: &[FlatPart]) -> Vec<Vec<i64>> {
    let sizes: Vec<usize> = spec.inputs.iter().chain(&spec.outputs).map(|t| element_bytes(t).unwrap_or(0)).collect();
    parts.iter().map(|p| sizes.iter().map(|&s| (p.first * s) as i64).collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_ir::{BinaryOp, DType};

    fn add(shape: &[usize], other: &[usize]) -> KernelSpec {
        let t = |s: &[usize]| TensorType::new(DType::F32, s.to_vec());
        KernelSpec {
            node: "n".into(),
            op: Op::Binary(BinaryOp::Add),
            inputs: vec![t(shape), t(other)],
            outputs: vec![t(shape)],
        }
    }

    #[test]
    fn same_shape_elementwise_kernels_are_cut_on_aligned_chunks() {
        let spec = add(&[3, 100, 333], &[3, 100, 333]);
        let parts = split(&spec, 2, 4, 1 << 10);
        assert_eq!(parts.len(), 4);
        assert!(parts.iter().all(|p| p.first % ALIGN == 0));
        let total: usize = parts.iter().map(|p| p.spec.outputs[0].numel()).sum();
        assert_eq!(total, 3 * 100 * 333);
        assert_eq!(offsets(&spec, &parts)[1], vec![4 * parts[1].first as i64; 3]);
    }

    #[test]
    fn broadcasts_small_kernels_and_one_thread_stay_whole() {
        assert!(split(&add(&[3, 100, 333], &[333]), 2, 4, 1).is_empty());
        assert!(split(&add(&[3, 5], &[3, 5]), 2, 4, 1 << 10).is_empty());
        assert!(split(&add(&[3, 100, 333], &[3, 100, 333]), 1, 4, 1).is_empty());
    }
}
