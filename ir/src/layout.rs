//! Channels-last (NHWC) forms of the ops whose kernels care about layout: `Op::ChannelsLast`.
//!
//! The IR's tensors are plain dense arrays; a layout is just a dimension order. So an NHWC
//! region is written with the IR's own ops: `Transpose` moves a tensor between NCHW and NHWC
//! (`[0, 2, .., r-1, 1]` and back), elementwise ops, concatenation, resizing and reductions work
//! on NHWC tensors as they are (with permuted axes and transposed constants), and only the ops
//! whose semantics name the channel axis need a channels-last form:
//! `ChannelsLast(Conv)` and `ChannelsLast(Pool)`: their first input and their output have the
//! channel axis last (`[N, spatial.., C]`); the other operands keep their ONNX layouts (conv
//! weights stay `[M, C/group, k..]`: the backend prepacks them anyway). Winograd's three ops
//! have channels-last forms too, so a Winograd conv stays inside an NHWC region with channels
//! as the innermost (vector) axis everywhere: `ChannelsLast(WinogradInput)` takes NHWC and
//! gives `V: [a*a, T, C]`, `ChannelsLast(WinogradWeights)` gives `U: [a*a, C, M]`, so the
//! batched `MatMul(V, U)` is `[a*a, T, M]`, and `ChannelsLast(WinogradOutput)` takes that and
//! gives NHWC (see `crate::winograd` for the canonical forms).
//!
//! Why NHWC rather than channel-blocked NCHWc: NHWC needs no channel padding (a 24-channel
//! layer stays 24 channels; the micro-kernels mask the last vector), its reorder is the IR's own
//! Transpose so reorder pairs cancel with the existing transpose algebra, and the same GEMM
//! micro-kernel serves 1x1 convolutions (a plain GEMM over pixels), KxK convolutions (implicit
//! GEMM over the padded image) and MatMul, at any vector width: AVX-512, AVX2 and NEON alike.
//! XNNPACK and TFLite run NHWC for the same reasons; oneDNN's brgemm reaches nChw16c speed on
//! NHWC too.
//!
//! Semantics (the reference evaluator's definition): `ChannelsLast(op)(x, rest..) =
//! out_perm(op(in_perm(x), rest..))` with the permutations of [`forms`]: for conv and pool
//! `to_nhwc(op(to_nchw(x), rest..))`.

use crate::dtype::TensorType;
use crate::op::Op;
use crate::tensor::Tensor;

/// The permutation taking `[N, C, spatial..]` to `[N, spatial.., C]` for rank `rank`.
pub fn to_channels_last(rank: usize) -> Vec<usize> {
    let mut p = vec![0];
    p.extend(2..rank);
    if rank > 1 {
        p.push(1);
    }
    p
}

/// The permutation taking `[N, spatial.., C]` back to `[N, C, spatial..]`.
pub fn to_channels_first(rank: usize) -> Vec<usize> {
    let mut p = vec![0];
    if rank > 1 {
        p.push(rank - 1);
    }
    p.extend(1..rank.saturating_sub(1));
    p
}

/// `shape` permuted by `perm` (`out[i] = shape[perm[i]]`).
pub fn permute<T: Copy>(shape: &[T], perm: &[usize]) -> Vec<T> {
    perm.iter().map(|&p| shape[p]).collect()
}

/// True for the ops `ChannelsLast` accepts: 1-D and 2-D convolution and pooling, and the three
/// Winograd ops.
pub fn has_channels_last_form(op: &Op) -> bool {
    matches!(
        op,
        Op::Conv(_) | Op::Pool(_) | Op::WinogradInput { .. } | Op::WinogradOutput { .. } | Op::WinogradWeights { .. }
    )
}

/// The permutations defining `ChannelsLast(inner)` (see the module docs): the one taking its
/// first input (of rank `in_rank`) to the canonical op's, if it has one, and the one taking the
/// canonical op's result (of rank `out_rank`) to its own.
pub fn forms(inner: &Op, in_rank: usize, out_rank: usize) -> (Option<Vec<usize>>, Vec<usize>) {
    match inner {
        Op::WinogradInput { .. } => (Some(to_channels_first(in_rank)), vec![0, 2, 1]),
        Op::WinogradOutput { .. } => (Some(vec![0, 2, 1]), to_channels_last(out_rank)),
        Op::WinogradWeights { .. } => (None, vec![0, 2, 1]),
        _ => (Some(to_channels_first(in_rank)), to_channels_last(out_rank)),
    }
}

/// The inverse permutation.
pub fn inverse(perm: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    inv
}

/// Output types of `ChannelsLast(inner)` on `inputs`.
pub fn infer(inner: &Op, inputs: &[&TensorType]) -> Result<Vec<TensorType>, String> {
    if !has_channels_last_form(inner) {
        return Err(format!("{} has no channels-last form (conv, pool and the Winograd ops only)", inner.name()));
    }
    let x = inputs.first().ok_or("channels-last op without inputs")?;
    let rank = x.shape.len();
    let expected = match inner {
        Op::Conv(_) | Op::Pool(_) => 3..=4,
        Op::WinogradWeights { .. } | Op::WinogradInput { .. } => 4..=4,
        _ => 3..=3,
    };
    if !expected.contains(&rank) {
        return Err(format!("channels-last {} input {x} has the wrong rank", inner.name()));
    }
    let (in_perm, _) = forms(inner, rank, 0);
    let first = match &in_perm {
        Some(p) => TensorType::new(x.dtype, permute(&x.shape, p)),
        None => (*x).clone(),
    };
    let mut ins: Vec<&TensorType> = vec![&first];
    ins.extend(&inputs[1..]);
    let out = crate::infer::infer_types(inner, &ins)?;
    Ok(out
        .into_iter()
        .map(|t| {
            let (_, out_perm) = forms(inner, rank, t.shape.len());
            TensorType::new(t.dtype, permute(&t.shape, &out_perm))
        })
        .collect())
}

/// Evaluates `ChannelsLast(inner)` on `inputs` (see the module docs).
pub fn eval(inner: &Op, inputs: &[&Tensor]) -> Result<Vec<Tensor>, String> {
    let x = inputs.first().ok_or("channels-last op without inputs")?;
    let rank = x.shape().len();
    let first = match forms(inner, rank, 0).0 {
        Some(p) => transposed(x, &p)?,
        None => (*x).clone(),
    };
    let mut ins: Vec<&Tensor> = vec![&first];
    ins.extend(&inputs[1..]);
    let out = crate::eval::eval_op(inner, &ins)?;
    out.iter().map(|t| transposed(t, &forms(inner, rank, t.shape().len()).1)).collect()
}

fn transposed(x: &Tensor, perm: &[usize]) -> Result<Tensor, String> {
    let shape = permute(x.shape(), perm);
    crate::eval::movement::transpose(x, perm, &shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_invert_each_other() {
        for rank in 1..6 {
            let (l, f) = (to_channels_last(rank), to_channels_first(rank));
            let round: Vec<usize> = permute(&permute(&(0..rank).collect::<Vec<_>>(), &l), &f);
            assert_eq!(round, (0..rank).collect::<Vec<_>>(), "rank {rank}");
        }
        assert_eq!(to_channels_last(4), vec![0, 2, 3, 1]);
        assert_eq!(to_channels_first(4), vec![0, 3, 1, 2]);
    }
}
