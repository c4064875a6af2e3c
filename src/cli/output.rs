//! Printing tensors for people: `name: f32[1,3] = [0.1, 0.2, 0.3]`, the first few values.

use kiln::{DType, Tensor};

/// How many values of each output are printed.
const SHOWN: usize = 8;

/// One line describing a tensor and its first values.
pub fn describe(name: &str, t: &Tensor) -> String {
    let shown: Vec<String> = (0..t.numel().min(SHOWN)).map(|i| value(t, i)).collect();
    let more = if t.numel() > SHOWN { format!(", ... ({} values)", t.numel()) } else { String::new() };
    format!("{name}: {} = [{}{more}]", t.ty(), shown.join(", "))
}

fn value(t: &Tensor, i: usize) -> String {
    let x = t.data().get_f64(i);
    match t.dtype() {
        DType::F32 | DType::F16 | DType::BF16 => format!("{}", x as f32),
        DType::F64 => format!("{x}"),
        DType::Bool => format!("{}", x != 0.0),
        _ => format!("{}", t.data().get_i64(i)),
    }
}
