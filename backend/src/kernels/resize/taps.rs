//! Compile-time sampling plan of Resize: for every resized axis and output position, which input
//! positions are read with which weights, or which constant is produced.
//!
//! Everything here depends only on shapes and attributes, so it is computed once in Rust, in
//! f64, by the reference evaluator's own [`axis_taps`] (a transcription of ONNX `op_resize.py`):
//! one definition of the per-position rules, so kernel and oracle cannot drift apart. Only the
//! results (indices, f32 weights) reach the generated code.

pub use kiln_ir::eval::resize::{axis_taps, Tap};

/// The one input position a nearest tap copies, or the constant it produces (the
/// extrapolation value, or 0 when exclude_outside zeroed the picked weight), as the reference.
pub fn nearest_pick(t: &Tap) -> Result<usize, f64> {
    match t {
        Tap::Fill(v) => Err(*v),
        Tap::Mix(m) => m.iter().find(|(_, w)| *w != 0.0).map(|&(i, _)| i).ok_or(0.0),
    }
}
