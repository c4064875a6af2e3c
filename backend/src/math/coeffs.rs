//! The coefficients of the approximations in [`super`], in one place: the Cranelift kernels,
//! the x86 micro-kernel epilogues (`crate::mk::x86::math`) and the NEON ones
//! (`crate::mk::arm::math`) all read them here, so a fused epilogue computes what the standalone
//! elementwise kernel does, to rounding, on every target. They are f64 because the Cranelift
//! functions also serve f64 kernels; f32 code rounds each one once (`as f32`), as the Cranelift
//! f32 kernels do.

/// ln 2 split in a short part exact in f32 and a correction (Cephes `expf`'s reduction).
pub const LN2_HI: f64 = 0.693359375;
pub const LN2_LO: f64 = -2.12194440e-4;

/// Cephes `expf`: `e^r = 1 + r + r^2 P(r)`, highest degree first.
pub const EXP_P: [f64; 6] =
    [1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3, 4.1665795894E-2, 1.6666665459E-1, 5.0000001201E-1];

/// Eigen/XLA `erf(x) = x P(x^2) / Q(x^2)` on [-4, 4], highest degree first.
pub const ERF_P: [f64; 7] = [
    -2.72614225801306e-10,
    2.77068142495902e-08,
    -2.10102402082508e-06,
    -5.69250639462346e-05,
    -7.34990630326855e-04,
    -2.95459980854025e-03,
    -1.60960333262415e-02,
];
pub const ERF_Q: [f64; 5] =
    [-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03, -1.42647390514189e-02];

/// Cephes `tanhf` below `|x| = 0.625`: `x + x z P(z)`, `z = x^2`, highest degree first.
pub const TANH_P: [f64; 5] =
    [-5.70498872745E-3, 2.06390887954E-2, -5.37397155531E-2, 1.33314422036E-1, -3.33332819422E-1];
