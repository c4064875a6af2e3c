//! Printing tensors for people: every value of a small output (`z: f32[2,3] = [0.1, ...]`), a
//! summary of a large one (shape, min, max, mean, the first values), and the `--top-k` best
//! entries of class scores.
//!
//! Numbers use the shortest text that reads back as the same value, switching to scientific
//! notation below 1e-4 and from 1e6 on, so a tiny score prints as `3.2e-9` rather than `0`.

use kiln::{DType, Tensor};

/// Outputs with at most this many values are printed whole.
pub const SMALL: usize = 64;
/// Values shown at the start of a large output's summary.
const FIRST: usize = 8;
/// Rows `--top-k` prints per output (a batch of class scores).
const TOP_ROWS: usize = 8;

/// One line describing a tensor: all its values when small, else a summary.
pub fn describe(name: &str, t: &Tensor) -> String {
    let n = t.numel();
    if n <= SMALL {
        let values: Vec<String> = (0..n).map(|i| value(t, i)).collect();
        return format!("{name}: {} = [{}]", t.ty(), values.join(", "));
    }
    let first: Vec<String> = (0..FIRST).map(|i| value(t, i)).collect();
    let stats = if t.dtype() == DType::Bool { count_true(t) } else { stats(t) };
    format!("{name}: {} ({n} values) {stats}; first [{}, ...]", t.ty(), first.join(", "))
}

/// `min -1, max 3.5, mean 0.25` (and how many are NaN, if any).
fn stats(t: &Tensor) -> String {
    let values: Vec<f64> = (0..t.numel()).map(|i| t.data().get_f64(i)).collect();
    let finite: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    let nan = values.len() - finite.len();
    let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mean = finite.iter().sum::<f64>() / finite.len().max(1) as f64;
    let nan = if nan > 0 { format!(", {nan} NaN") } else { String::new() };
    if finite.is_empty() {
        return format!("all NaN{nan}");
    }
    format!("min {}, max {}, mean {}{nan}", number(t.dtype(), min), number(t.dtype(), max), number(DType::F64, mean))
}

fn count_true(t: &Tensor) -> String {
    let n = (0..t.numel()).filter(|&i| t.data().get_f64(i) != 0.0).count();
    format!("{n} true")
}

/// The `k` largest values of each row (the last axis) as `#index value`, best first.
pub fn top_k(name: &str, t: &Tensor, k: usize) -> Vec<String> {
    let width = t.shape().last().copied().unwrap_or(1).max(1);
    let rows = t.numel() / width;
    let mut lines = Vec::new();
    for row in 0..rows.min(TOP_ROWS) {
        let mut entries: Vec<(usize, f64)> = (0..width).map(|i| (i, t.data().get_f64(row * width + i))).collect();
        entries.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let best: Vec<String> =
            entries.iter().take(k).map(|&(i, _)| format!("#{i} {}", value(t, row * width + i))).collect();
        let at = if rows > 1 { format!("[{row}]") } else { String::new() };
        lines.push(format!("top {} of {name}{at}: {}", best.len(), best.join(", ")));
    }
    if rows > TOP_ROWS {
        lines.push(format!("({} more rows of {name} not shown)", rows - TOP_ROWS));
    }
    lines
}

fn value(t: &Tensor, i: usize) -> String {
    match t.dtype() {
        DType::Bool => format!("{}", t.data().get_f64(i) != 0.0),
        d if d.is_float() || d.is_half() => number(d, t.data().get_f64(i)),
        _ => format!("{}", t.data().get_i64(i)),
    }
}

/// A float in the notation of the module docs; f32 and narrower at f32 precision.
pub fn number(dtype: DType, x: f64) -> String {
    let tiny_or_huge = x != 0.0 && x.is_finite() && !(1e-4..1e6).contains(&x.abs());
    match (dtype == DType::F64, tiny_or_huge) {
        (true, true) => format!("{x:e}"),
        (true, false) => format!("{x}"),
        (false, true) => format!("{:e}", x as f32),
        (false, false) => format!("{}", x as f32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_and_huge_values_are_scientific() {
        assert_eq!(number(DType::F32, 3.2e-9), "3.2e-9");
        assert_eq!(number(DType::F32, 0.25), "0.25");
        assert_eq!(number(DType::F32, 0.0), "0");
        assert_eq!(number(DType::F32, 2.5e7), "2.5e7");
        assert_eq!(number(DType::F64, f64::NAN), "NaN");
    }

    #[test]
    fn top_k_is_per_row_best_first() {
        let t = Tensor::from_vec(vec![2, 3], vec![0.1f32, 0.7, 0.2, 5.0, 1.0, 3.0]);
        assert_eq!(top_k("p", &t, 2), ["top 2 of p[0]: #1 0.7, #2 0.2", "top 2 of p[1]: #0 5, #2 3"]);
    }

    #[test]
    fn large_outputs_are_summarised() {
        let t = Tensor::from_vec(vec![100], (0..100).map(|i| i as f32).collect::<Vec<_>>());
        let line = describe("y", &t);
        assert!(line.starts_with("y: f32[100] (100 values) min 0, max 99, mean 49.5; first [0, 1,"), "{line}");
    }
}
