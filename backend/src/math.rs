//! Transcendental and rounding functions as Cranelift IR, with no libcalls: native objects are
//! linked without libm, and the JIT resolves no symbols.
//!
//! Every function works on `f32` and on `f32x4` values alike: the type of the input decides, and
//! constants are splatted to match. Branches are replaced by selects so that the scalar tail of a
//! vector loop computes bit-identical results to the vector body.
//!
//! Algorithms (all errors measured by `backend/tests/math.rs` against Rust's f64 functions on a
//! dense sweep; the bounds there are asserted, the values here are the documented contract):
//! - [`exp`]: Cephes `expf` (round-to-nearest range reduction by ln 2 in two parts, degree-6
//!   polynomial), with the scale `2^n` applied in two halves so results reaching the subnormal
//!   range and overflow to `inf` are both right. Max relative error about 2e-7 (normal results).
//! - [`log`]: Cephes `logf` (mantissa in `[sqrt(1/2), sqrt(2))`, degree-8 polynomial), subnormal
//!   inputs rescaled by 2^23 first. Max absolute error 1e-7 near 1, relative 2e-7 elsewhere.
//! - [`erf`]: odd rational approximation `x P(x^2) / Q(x^2)` on `[-4, 4]` (the one used by Eigen
//!   and XLA); `|erf(x)| = 1` in f32 beyond. Max absolute error about 4e-7.
//! - [`tanh`]: Cephes `tanhf`: an odd polynomial below `|x| = 0.625` (keeps relative accuracy
//!   near 0), `1 - 2/(e^{2|x|} + 1)` above. Max relative error about 3e-7.
//! - [`sigmoid`]: `1/(1 + e^{-x})`; `e^{-x}` overflowing to `inf` gives exactly 0.
//! - [`sin`], [`cos`]: Cephes `sinf`/`cosf` (octant reduction by pi/4 in three parts, degree-7
//!   sine and degree-8 cosine polynomials). Max absolute error about 2e-7 for `|x| <= 8192`;
//!   the reduction loses accuracy beyond (as Cephes).
//! - [`floor`], [`ceil`], [`round_even`]: Cranelift's instructions when the target has them
//!   (`has_round`), else the `2^23` magic-number trick on `|x|` (exact for every f32).

pub(crate) mod coeffs;
mod exp_log;
pub(crate) mod lanes;
mod round;
mod special;
mod trig;

pub use exp_log::{exp, log};
pub use lanes::{fconst, max_or_nan_first, select_float};
pub use round::{ceil, floor, round_even};
pub use special::{erf, sigmoid, tanh};
pub use trig::{cos, sin};
