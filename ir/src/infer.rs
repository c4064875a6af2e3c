//! Output types of every op from its input types (shape and dtype inference).
//!
//! The frontend calls [`infer_types`] to type every node it creates and the verifier calls it
//! to check that stored types agree, so it is the single statement of what each op accepts.
//! It checks input count, dtypes, ranks and attribute lengths before computing shapes, and all
//! size arithmetic is checked (`checked_*` on `usize`, `i128` for signed pads/steps) so that no
//! input, however large, can panic. Messages name the operand or attribute that is wrong; the
//! caller adds the node and op names.
//!
//! The dtypes accepted per op follow ONNX (opset 13+), restricted to kiln's [`DType`]s.

use crate::dtype::{DType, TensorType};
use crate::op::*;
use crate::tensor::broadcast_shapes;

type Res<T> = Result<T, String>;

/// The output types of `op` applied to inputs of types `inputs`, or a message saying which
/// shape, dtype or attribute does not fit (the caller adds node and op names).
pub fn infer_types(op: &Op, inputs: &[&TensorType]) -> Result<Vec<TensorType>, String> {
    for (i, t) in inputs.iter().enumerate() {
        checked_numel(&t.shape).ok_or_else(|| format!("input {i}: element count of {t} overflows"))?;
    }
    let out = match op {
        Op::Unary(u) => vec![unary(*u, inputs)?],
        Op::Binary(b) => vec![binary(*b, inputs)?],
        Op::Where => vec![where_(inputs)?],
        Op::Cast { to } => vec![TensorType::new(*to, one(inputs)?.shape.clone())],
        Op::BitCast { to } => vec![bit_cast(*to, inputs)?],
        Op::Identity => vec![one(inputs)?.clone()],
        Op::Conv(a) => vec![conv(a, inputs)?],
        Op::Gemm { trans_a, trans_b, .. } => vec![gemm(*trans_a, *trans_b, inputs)?],
        Op::MatMul => vec![matmul(inputs)?],
        Op::BatchNorm { .. } => vec![batch_norm(inputs)?],
        Op::Pool(a) => vec![pool(a, inputs)?],
        Op::Lrn { size, .. } => vec![lrn(*size, inputs)?],
        Op::Softmax { axis } | Op::LogSoftmax { axis } => vec![softmax(*axis, inputs)?],
        Op::Reduce { kind, axes, keepdims } => vec![reduce(*kind, axes, *keepdims, inputs)?],
        Op::ArgMax { axis, keepdims, .. } | Op::ArgMin { axis, keepdims, .. } => {
            vec![arg_reduce(*axis, *keepdims, inputs)?]
        }
        Op::Concat { axis } => vec![concat(*axis, inputs)?],
        Op::Split { axis, sizes } => split(*axis, sizes, inputs)?,
        Op::Slice { starts, steps, lens } => vec![slice(starts, steps, lens, inputs)?],
        Op::Reshape { shape } => vec![reshape(shape, inputs)?],
        Op::Transpose { perm } => vec![transpose(perm, inputs)?],
        Op::Gather { axis } => vec![gather(*axis, inputs)?],
        Op::Expand { shape } => vec![expand(shape, inputs)?],
        Op::Pad { mode, pads, .. } => vec![pad(*mode, pads, inputs)?],
        Op::Resize(a) => vec![resize(a, inputs)?],
        Op::WinogradInput { pads, out_hw, tile } => vec![winograd_input(pads, *out_hw, *tile, inputs)?],
        Op::WinogradOutput { out_shape, tile } => vec![winograd_output(out_shape, *tile, inputs)?],
        Op::WinogradWeights { tile } => vec![winograd_weights(*tile, inputs)?],
        Op::Elementwise(p) => vec![p.infer(inputs)?],
        Op::ChannelsLast(inner) => crate::layout::infer(inner, inputs)?,
        Op::Fused { base, base_inputs, epilogue } => {
            vec![crate::fused::infer_fused(base, *base_inputs, epilogue, inputs)?]
        }
        Op::NonZero | Op::Unique { .. } | Op::NonMaxSuppression { .. } => crate::dynamic::infer(op, inputs)?,
    };
    for (i, t) in out.iter().enumerate() {
        checked_numel(&t.shape).ok_or_else(|| format!("output {i}: element count of {t} overflows"))?;
    }
    Ok(out)
}

/// BitCast keeps the shape and needs the same element size (ONNX rejects other sizes too).
fn bit_cast(to: DType, inputs: &[&TensorType]) -> Res<TensorType> {
    let x = one(inputs)?;
    if x.dtype.size() != to.size() {
        return Err(format!(
            "input x ({x}) has {}-bit elements but `to` = {to} has {}-bit ones; BitCast needs equal sizes",
            8 * x.dtype.size(),
            8 * to.size()
        ));
    }
    Ok(TensorType::new(to, x.shape.clone()))
}

/// The product of `shape`, or `None` on overflow.
pub fn checked_numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// The output length of a sliding window along one axis (Conv and Pool).
///
/// `len = (in + pb + pe - (dil*(k-1)+1)) / stride + 1`, rounded down, or up with `ceil_mode`
/// (then one less when the last window would start inside the end padding). Errors when the
/// window does not fit in the padded input.
pub fn window_output_len(
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    pad_begin: usize,
    pad_end: usize,
    ceil_mode: bool,
) -> Res<usize> {
    let overflow = || "size arithmetic overflows".to_string();
    if kernel == 0 || stride == 0 || dilation == 0 {
        return Err("kernel, strides and dilations must be positive".into());
    }
    let window = dilation.checked_mul(kernel - 1).and_then(|w| w.checked_add(1)).ok_or_else(overflow)?;
    let padded = input.checked_add(pad_begin).and_then(|p| p.checked_add(pad_end)).ok_or_else(overflow)?;
    if padded < window {
        return Err(format!("window of extent {window} does not fit in padded input of length {padded}"));
    }
    let span = padded - window;
    if !ceil_mode {
        return Ok(span / stride + 1);
    }
    let mut len = span.div_ceil(stride) + 1;
    // The last window must start inside the input or the begin padding.
    if (len - 1).checked_mul(stride).is_none_or(|start| start >= input + pad_begin) {
        len -= 1;
    }
    Ok(len)
}

fn count(inputs: &[&TensorType], lo: usize, hi: usize) -> Res<()> {
    let n = inputs.len();
    if n < lo || n > hi {
        let want = if lo == hi { format!("{lo}") } else { format!("{lo} to {hi}") };
        return Err(format!("expected {want} inputs, got {n}"));
    }
    Ok(())
}

fn one<'a>(inputs: &[&'a TensorType]) -> Res<&'a TensorType> {
    count(inputs, 1, 1)?;
    Ok(inputs[0])
}

/// Types ops compute in: not bool, not the storage-only half and narrow types (the frontend
/// widens those).
fn is_numeric(d: DType) -> bool {
    d != DType::Bool && !d.is_storage_only()
}

fn require(ok: bool, what: &str, t: &TensorType, allowed: &str) -> Res<()> {
    if ok {
        Ok(())
    } else {
        Err(format!("{what} has dtype {}, expected {allowed}", t.dtype))
    }
}

fn same_dtype(a: &TensorType, an: &str, b: &TensorType, bn: &str) -> Res<()> {
    if a.dtype == b.dtype {
        Ok(())
    } else {
        Err(format!("{an} ({a}) and {bn} ({b}) must have the same dtype"))
    }
}

fn check_axis(axis: usize, rank: usize, attr: &str) -> Res<()> {
    if axis < rank {
        Ok(())
    } else {
        Err(format!("attribute `{attr}` = {axis} is out of range for rank {rank}"))
    }
}

/// Which dtypes a unary op accepts (ONNX type constraints, within kiln's dtypes).
pub fn unary_accepts(u: UnaryOp, d: DType) -> bool {
    match u {
        UnaryOp::Not => d == DType::Bool,
        UnaryOp::Neg | UnaryOp::Relu => d.is_float() || d.is_signed_int(),
        UnaryOp::Abs | UnaryOp::Sign | UnaryOp::Clip { .. } => is_numeric(d),
        _ => d.is_float(),
    }
}

/// Which operand dtypes a binary op accepts (both operands share it).
pub fn binary_accepts(b: BinaryOp, d: DType) -> bool {
    match b {
        BinaryOp::And | BinaryOp::Or | BinaryOp::Xor => d == DType::Bool || d.is_int(),
        BinaryOp::Equal => !d.is_storage_only(),
        BinaryOp::PRelu => d.is_float() || matches!(d, DType::I32 | DType::I64 | DType::U32 | DType::U64),
        BinaryOp::Pow => d.is_float() || matches!(d, DType::I32 | DType::I64),
        _ => is_numeric(d),
    }
}

fn unary(u: UnaryOp, inputs: &[&TensorType]) -> Res<TensorType> {
    let x = one(inputs)?;
    let allowed = match u {
        UnaryOp::Not => "bool",
        UnaryOp::Neg | UnaryOp::Relu => "a float or signed integer",
        UnaryOp::Abs | UnaryOp::Sign | UnaryOp::Clip { .. } => "a numeric type",
        _ => "f32 or f64",
    };
    require(unary_accepts(u, x.dtype), "input x", x, allowed)?;
    Ok(x.clone())
}

fn broadcast(a: &[usize], an: &str, b: &[usize], bn: &str) -> Res<Vec<usize>> {
    broadcast_shapes(a, b).ok_or_else(|| format!("shapes of {an} {a:?} and {bn} {b:?} do not broadcast"))
}

fn binary(b: BinaryOp, inputs: &[&TensorType]) -> Res<TensorType> {
    count(inputs, 2, 2)?;
    let (x, y) = (inputs[0], inputs[1]);
    same_dtype(x, "operand a", y, "operand b")?;
    require(binary_accepts(b, x.dtype), "operand a", x, "a dtype this op accepts")?;
    let shape = broadcast(&x.shape, "operand a", &y.shape, "operand b")?;
    let dtype = if b.is_comparison() { DType::Bool } else { x.dtype };
    Ok(TensorType::new(dtype, shape))
}

fn where_(inputs: &[&TensorType]) -> Res<TensorType> {
    count(inputs, 3, 3)?;
    let (c, x, y) = (inputs[0], inputs[1], inputs[2]);
    require(c.dtype == DType::Bool, "condition", c, "bool")?;
    same_dtype(x, "operand x", y, "operand y")?;
    let s = broadcast(&c.shape, "condition", &x.shape, "operand x")?;
    let s = broadcast(&s, "broadcast(condition, x)", &y.shape, "operand y")?;
    Ok(TensorType::new(x.dtype, s))
}

fn check_spatial_attr(name: &str, v: &[usize], n: usize) -> Res<()> {
    if v.len() != n {
        return Err(format!("attribute `{name}` has {} entries, expected {n}", v.len()));
    }
    if name != "pads" && v.contains(&0) {
        return Err(format!("attribute `{name}` = {v:?} must be positive"));
    }
    Ok(())
}

fn conv(a: &ConvAttrs, inputs: &[&TensorType]) -> Res<TensorType> {
    count(inputs, 2, 3)?;
    let (x, w) = (inputs[0], inputs[1]);
    require(x.dtype.is_float(), "input x", x, "f32 or f64")?;
    same_dtype(x, "input x", w, "weights w")?;
    if x.rank() < 3 {
        return Err(format!("input x ({x}) must have rank >= 3 (N, C, spatial..)"));
    }
    if w.rank() != x.rank() {
        return Err(format!("weights w ({w}) must have the rank of input x ({x})"));
    }
    let ns = x.rank() - 2;
    check_spatial_attr("kernel", &a.kernel, ns)?;
    check_spatial_attr("strides", &a.strides, ns)?;
    check_spatial_attr("dilations", &a.dilations, ns)?;
    check_spatial_attr("pads", &a.pads, 2 * ns)?;
    if a.kernel[..] != w.shape[2..] {
        return Err(format!(
            "attribute `kernel` {:?} differs from weights w spatial dims {:?}",
            a.kernel,
            &w.shape[2..]
        ));
    }
    let (c, m) = (x.shape[1], w.shape[0]);
    if a.group == 0 || c % a.group != 0 || m % a.group != 0 {
        return Err(format!("attribute `group` = {} must divide input channels {c} and output channels {m}", a.group));
    }
    if w.shape[1] != c / a.group {
        return Err(format!("weights w ({w}) dim 1 must be input channels / group = {}", c / a.group));
    }
    if let Some(b) = inputs.get(2) {
        same_dtype(x, "input x", b, "bias")?;
        if b.shape != [m] {
            return Err(format!("bias ({b}) must have shape [{m}]"));
        }
    }
    let mut shape = vec![x.shape[0], m];
    for i in 0..ns {
        let len = window_output_len(
            x.shape[2 + i],
            a.kernel[i],
            a.strides[i],
            a.dilations[i],
            a.pads[i],
            a.pads[ns + i],
            false,
        )
        .map_err(|e| format!("spatial axis {i}: {e}"))?;
        shape.push(len);
    }
    Ok(TensorType::new(x.dtype, shape))
}

fn gemm(trans_a: bool, trans_b: bool, inputs: &[&TensorType]) -> Res<TensorType> {
    count(inputs, 2, 3)?;
    let (a, b) = (inputs[0], inputs[1]);
    require(is_numeric(a.dtype), "operand a", a, "a numeric type")?;
    same_dtype(a, "operand a", b, "operand b")?;
    if a.rank() != 2 || b.rank() != 2 {
        return Err(format!("operands a ({a}) and b ({b}) must have rank 2"));
    }
    let (m, k) = if trans_a { (a.shape[1], a.shape[0]) } else { (a.shape[0], a.shape[1]) };
    let (kb, n) = if trans_b { (b.shape[1], b.shape[0]) } else { (b.shape[0], b.shape[1]) };
    if k != kb {
        return Err(format!(
            "inner dims differ: a ({a}, trans_a={trans_a}) gives K={k}, b ({b}, trans_b={trans_b}) gives K={kb}"
        ));
    }
    if let Some(c) = inputs.get(2) {
        same_dtype(a, "operand a", c, "operand c")?;
        if c.rank() > 2 || broadcast_shapes(&c.shape, &[m, n]).as_deref() != Some(&[m, n][..]) {
            return Err(format!("operand c ({c}) does not broadcast to [{m}, {n}]"));
        }
    }
    Ok(TensorType::new(a.dtype, vec![m, n]))
}

fn matmul(inputs: &[&TensorType]) -> Res<TensorType> {
    count(inputs, 2, 2)?;
    let (a, b) = (inputs[0], inputs[1]);
    require(is_numeric(a.dtype), "operand a", a, "a numeric type")?;
    same_dtype(a, "operand a", b, "operand b")?;
    if a.rank() < 2 || b.rank() < 2 {
        return Err(format!("operands a ({a}) and b ({b}) must have rank >= 2"));
    }
    let (ra, rb) = (a.rank(), b.rank());
    let (m, k, kb, n) = (a.shape[ra - 2], a.shape[ra - 1], b.shape[rb - 2], b.shape[rb - 1]);
    if k != kb {
        return Err(format!("inner dims differ: a ({a}) has K={k}, b ({b}) has K={kb}"));
    }
    let mut shape = broadcast(&a.shape[..ra - 2], "batch dims of a", &b.shape[..rb - 2], "batch dims of b")?;
    shape.extend([m, n]);
    Ok(TensorType::new(a.dtype, shape))
}

fn batch_norm(inputs: &[&TensorType]) -> Res<TensorType> {
    count(inputs, 5, 5)?;
    let x = inputs[0];
    require(x.dtype.is_float(), "input x", x, "f32 or f64")?;
    if x.rank() < 2 {
        return Err(format!("input x ({x}) must have rank >= 2"));
    }
    let c = x.shape[1];
    for (t, name) in inputs[1..].iter().zip(["scale", "bias", "mean", "var"]) {
        same_dtype(x, "input x", t, name)?;
        if t.shape != [c] {
            return Err(format!("{name} ({t}) must have shape [{c}]"));
        }
    }
    Ok(x.clone())
}

fn pool(a: &PoolAttrs, inputs: &[&TensorType]) -> Res<TensorType> {
    let x = one(inputs)?;
    let ok = x.dtype.is_float() || (a.kind == PoolKind::Max && matches!(x.dtype, DType::I8 | DType::U8));
    require(ok, "input x", x, "f32 or f64 (or i8/u8 for max pooling)")?;
    if x.rank() < 3 {
        return Err(format!("input x ({x}) must have rank >= 3 (N, C, spatial..)"));
    }
    let ns = x.rank() - 2;
    check_spatial_attr("kernel", &a.kernel, ns)?;
    check_spatial_attr("strides", &a.strides, ns)?;
    check_spatial_attr("dilations", &a.dilations, ns)?;
    check_spatial_attr("pads", &a.pads, 2 * ns)?;
    let mut shape = x.shape[..2].to_vec();
    for i in 0..ns {
        let len = window_output_len(
            x.shape[2 + i],
            a.kernel[i],
            a.strides[i],
            a.dilations[i],
            a.pads[i],
            a.pads[ns + i],
            a.ceil_mode,
        )
        .map_err(|e| format!("spatial axis {i}: {e}"))?;
        shape.push(len);
    }
    Ok(TensorType::new(x.dtype, shape))
}

fn lrn(size: usize, inputs: &[&TensorType]) -> Res<TensorType> {
    let x = one(inputs)?;
    require(x.dtype.is_float(), "input x", x, "f32 or f64")?;
    if x.rank() < 2 {
        return Err(format!("input x ({x}) must have rank >= 2 (N, C, ..)"));
    }
    if size == 0 {
        return Err("attribute `size` must be positive".into());
    }
    Ok(x.clone())
}

fn softmax(axis: usize, inputs: &[&TensorType]) -> Res<TensorType> {
    let x = one(inputs)?;
    require(x.dtype.is_float(), "input x", x, "f32 or f64")?;
    check_axis(axis, x.rank(), "axis")?;
    Ok(x.clone())
}

fn reduce(kind: ReduceKind, axes: &[usize], keepdims: bool, inputs: &[&TensorType]) -> Res<TensorType> {
    let x = one(inputs)?;
    let bool_ok = matches!(kind, ReduceKind::Max | ReduceKind::Min);
    require(is_numeric(x.dtype) || bool_ok, "input x", x, "a numeric type")?;
    for &a in axes {
        check_axis(a, x.rank(), "axes")?;
    }
    if axes.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!("attribute `axes` {axes:?} must be sorted and unique"));
    }
    let mut shape = Vec::new();
    for (i, &d) in x.shape.iter().enumerate() {
        if !axes.contains(&i) {
            shape.push(d);
        } else if keepdims {
            shape.push(1);
        }
    }
    Ok(TensorType::new(x.dtype, shape))
}

fn arg_reduce(axis: usize, keepdims: bool, inputs: &[&TensorType]) -> Res<TensorType> {
    let x = one(inputs)?;
    require(is_numeric(x.dtype), "input x", x, "a numeric type")?;
    check_axis(axis, x.rank(), "axis")?;
    if x.shape[axis] == 0 {
        return Err(format!("reduced axis {axis} of input x ({x}) is empty"));
    }
    let mut shape = x.shape.clone();
    if keepdims {
        shape[axis] = 1;
    } else {
        shape.remove(axis);
    }
    Ok(TensorType::new(DType::I64, shape))
}

fn concat(axis: usize, inputs: &[&TensorType]) -> Res<TensorType> {
    let first = inputs.first().ok_or("expected at least 1 input, got 0")?;
    check_axis(axis, first.rank(), "axis")?;
    let mut shape = first.shape.clone();
    shape[axis] = 0;
    for (i, t) in inputs.iter().enumerate() {
        same_dtype(first, "input 0", t, &format!("input {i}"))?;
        let dims_match = t.rank() == first.rank()
            && t.shape.iter().zip(&first.shape).enumerate().all(|(d, (a, b))| d == axis || a == b);
        if !dims_match {
            return Err(format!("input {i} ({t}) differs from input 0 ({first}) outside axis {axis}"));
        }
        shape[axis] = shape[axis].checked_add(t.shape[axis]).ok_or("concatenated length overflows")?;
    }
    Ok(TensorType::new(first.dtype, shape))
}

fn split(axis: usize, sizes: &[usize], inputs: &[&TensorType]) -> Res<Vec<TensorType>> {
    let x = one(inputs)?;
    check_axis(axis, x.rank(), "axis")?;
    if sizes.is_empty() {
        return Err("attribute `sizes` must not be empty".into());
    }
    let total = sizes.iter().try_fold(0usize, |a, &s| a.checked_add(s)).ok_or("attribute `sizes` overflows")?;
    if total != x.shape[axis] {
        return Err(format!(
            "attribute `sizes` {sizes:?} sums to {total}, but axis {axis} of input x ({x}) has {}",
            x.shape[axis]
        ));
    }
    Ok(sizes
        .iter()
        .map(|&s| {
            let mut shape = x.shape.clone();
            shape[axis] = s;
            TensorType::new(x.dtype, shape)
        })
        .collect())
}

fn slice(starts: &[usize], steps: &[i64], lens: &[usize], inputs: &[&TensorType]) -> Res<TensorType> {
    let x = one(inputs)?;
    let r = x.rank();
    for (name, n) in [("starts", starts.len()), ("steps", steps.len()), ("lens", lens.len())] {
        if n != r {
            return Err(format!("attribute `{name}` has {n} entries, expected the rank {r}"));
        }
    }
    for a in 0..r {
        if steps[a] == 0 {
            return Err(format!("attribute `steps` is 0 on axis {a}"));
        }
        if lens[a] == 0 {
            continue;
        }
        let last = starts[a] as i128 + (lens[a] as i128 - 1) * steps[a] as i128;
        let dim = x.shape[a] as i128;
        if starts[a] as i128 >= dim || last < 0 || last >= dim {
            return Err(format!(
                "axis {a}: attributes `starts`={}, `steps`={}, `lens`={} read outside dim {}",
                starts[a], steps[a], lens[a], x.shape[a]
            ));
        }
    }
    Ok(TensorType::new(x.dtype, lens.to_vec()))
}

fn reshape(shape: &[usize], inputs: &[&TensorType]) -> Res<TensorType> {
    let x = one(inputs)?;
    let n = checked_numel(shape).ok_or("attribute `shape`: element count overflows")?;
    if n != x.numel() {
        return Err(format!("attribute `shape` {shape:?} has {n} elements, input x ({x}) has {}", x.numel()));
    }
    Ok(TensorType::new(x.dtype, shape.to_vec()))
}

fn transpose(perm: &[usize], inputs: &[&TensorType]) -> Res<TensorType> {
    let x = one(inputs)?;
    let mut seen = vec![false; x.rank()];
    let is_perm =
        perm.len() == x.rank() && perm.iter().all(|&p| p < seen.len() && !std::mem::replace(&mut seen[p], true));
    if !is_perm {
        return Err(format!("attribute `perm` {perm:?} is not a permutation of 0..{}", x.rank()));
    }
    Ok(TensorType::new(x.dtype, perm.iter().map(|&p| x.shape[p]).collect::<Vec<_>>()))
}

fn gather(axis: usize, inputs: &[&TensorType]) -> Res<TensorType> {
    count(inputs, 2, 2)?;
    let (data, idx) = (inputs[0], inputs[1]);
    require(matches!(idx.dtype, DType::I32 | DType::I64), "indices", idx, "i32 or i64")?;
    check_axis(axis, data.rank(), "axis")?;
    let mut shape = data.shape[..axis].to_vec();
    shape.extend_from_slice(&idx.shape);
    shape.extend_from_slice(&data.shape[axis + 1..]);
    Ok(TensorType::new(data.dtype, shape))
}

fn expand(shape: &[usize], inputs: &[&TensorType]) -> Res<TensorType> {
    let x = one(inputs)?;
    let out = broadcast_shapes(&x.shape, shape)
        .ok_or_else(|| format!("input x ({x}) does not broadcast with attribute `shape` {shape:?}"))?;
    Ok(TensorType::new(x.dtype, out))
}

fn pad(mode: PadMode, pads: &[i64], inputs: &[&TensorType]) -> Res<TensorType> {
    let x = one(inputs)?;
    let r = x.rank();
    if pads.len() != 2 * r {
        return Err(format!("attribute `pads` has {} entries, expected 2 * rank = {}", pads.len(), 2 * r));
    }
    let mut shape = Vec::with_capacity(r);
    for a in 0..r {
        let len = x.shape[a] as i128 + pads[a] as i128 + pads[r + a] as i128;
        if len < 0 || len > usize::MAX as i128 {
            return Err(format!("attribute `pads` gives axis {a} (dim {}) a length of {len}", x.shape[a]));
        }
        let len = len as usize;
        let needs_data = mode != PadMode::Constant && len > 0 && (pads[a] > 0 || pads[r + a] > 0);
        if needs_data && x.shape[a] as i128 + pads[a].min(0) as i128 + pads[r + a].min(0) as i128 <= 0 {
            return Err(format!("attribute `pads`: mode {mode:?} cannot pad axis {a}, which has no data left"));
        }
        shape.push(len);
    }
    Ok(TensorType::new(x.dtype, shape))
}

fn resize(a: &ResizeAttrs, inputs: &[&TensorType]) -> Res<TensorType> {
    let x = one(inputs)?;
    let r = x.rank();
    if a.sizes.len() != r {
        return Err(format!("attribute `sizes` has {} entries, expected the rank {r}", a.sizes.len()));
    }
    if a.scales.len() != r {
        return Err(format!("attribute `scales` has {} entries, expected the rank {r}", a.scales.len()));
    }
    if let Some(s) = a.scales.iter().find(|s| !(s.get().is_finite() && s.get() > 0.0)) {
        return Err(format!("attribute `scales` {:?} has a non-positive or non-finite entry {s}", a.scales));
    }
    if a.coord == CoordMode::TfCropAndResize && a.roi.len() != 2 * r {
        return Err(format!("attribute `roi` has {} entries, expected 2 * rank = {}", a.roi.len(), 2 * r));
    }
    if matches!(a.mode, ResizeMode::Linear | ResizeMode::Cubic) {
        require(is_numeric(x.dtype), "input x", x, "a numeric type for linear/cubic modes")?;
    }
    for (i, (&d, &s)) in x.shape.iter().zip(&a.sizes).enumerate() {
        if d == 0 && s != 0 {
            return Err(format!("attribute `sizes`: axis {i} is empty in input x ({x}) but not in the output"));
        }
    }
    Ok(TensorType::new(x.dtype, a.sizes.clone()))
}

/// The transform slots `a * a` of Winograd tile size `tile`, or an error naming the attribute.
fn winograd_slots(tile: usize) -> Res<usize> {
    let mats = crate::winograd::matrices(tile)
        .ok_or_else(|| format!("attribute `tile`: {tile} is not one of {:?}", crate::winograd::TILES))?;
    Ok(mats.slots())
}

fn winograd_input(pads: &[usize], out_hw: [usize; 2], tile: usize, inputs: &[&TensorType]) -> Res<TensorType> {
    let x = one(inputs)?;
    let slots = winograd_slots(tile)?;
    require(x.dtype == DType::F32, "input x", x, "f32")?;
    if x.rank() != 4 {
        return Err(format!("input x ({x}) must have rank 4 (N, C, H, W)"));
    }
    if pads.len() != 4 || pads.iter().any(|&p| p > 2) {
        return Err(format!("attribute `pads` {pads:?} must be [top, left, bottom, right], each <= 2"));
    }
    for (axis, name) in [(0, "OH"), (1, "OW")] {
        let padded = x.shape[2 + axis] as i128 + pads[axis] as i128 + pads[2 + axis] as i128;
        if out_hw[axis] == 0 || padded - 2 != out_hw[axis] as i128 {
            return Err(format!(
                "attribute `out_hw` {out_hw:?}: {name} must be the 3x3 conv output {} of input x ({x}) with pads {pads:?}",
                padded - 2
            ));
        }
    }
    let t = crate::winograd::tile_count(x.shape[0], out_hw, tile).ok_or("attribute `out_hw`: tile count overflows")?;
    Ok(TensorType::new(DType::F32, vec![slots, x.shape[1], t]))
}

fn winograd_weights(tile: usize, inputs: &[&TensorType]) -> Res<TensorType> {
    let w = one(inputs)?;
    let slots = winograd_slots(tile)?;
    require(w.dtype == DType::F32, "input w", w, "f32")?;
    if w.rank() != 4 || w.shape[2..] != [3, 3] {
        return Err(format!("input w ({w}) must have shape [M, C, 3, 3]"));
    }
    Ok(TensorType::new(DType::F32, vec![slots, w.shape[0], w.shape[1]]))
}

fn winograd_output(out_shape: &[usize; 4], tile: usize, inputs: &[&TensorType]) -> Res<TensorType> {
    count(inputs, 1, 2)?;
    let slots = winograd_slots(tile)?;
    let m = inputs[0];
    require(m.dtype == DType::F32, "input m", m, "f32")?;
    let [n, ch, oh, ow] = *out_shape;
    if oh == 0 || ow == 0 {
        return Err(format!("attribute `out_shape` {out_shape:?} must have positive OH and OW"));
    }
    let t = crate::winograd::tile_count(n, [oh, ow], tile).ok_or("attribute `out_shape`: tile count overflows")?;
    if m.shape != [slots, ch, t] {
        return Err(format!(
            "input m ({m}) must have shape [{slots}, {ch}, {t}] for attributes `out_shape` {out_shape:?}, `tile` {tile}"
        ));
    }
    if let Some(b) = inputs.get(1) {
        require(b.dtype == DType::F32, "bias", b, "f32")?;
        if b.shape != [ch] {
            return Err(format!("bias ({b}) must have shape [{ch}]"));
        }
    }
    Ok(TensorType::new(DType::F32, out_shape.to_vec()))
}
