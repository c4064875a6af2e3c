//! Float attributes stored by bit pattern: [`Ieee32`] and [`Ieee64`].
//!
//! An [`crate::Op`] is an e-graph node's identity and a kernel's cache key, so it must be
//! `Eq + Hash + Ord`. `f32` is none of these (`NaN != NaN`, `0.0 == -0.0`), which once made op
//! identity go through Debug text. Attributes therefore hold the IEEE bit pattern, as
//! cranelift's `Ieee32`/`Ieee64` immediates do: two attributes are the same when their bits are,
//! so `-0.0` and `0.0` stay distinct (they give different results: `clip[max=-0]`) and a NaN
//! attribute equals itself. [`Ieee32::get`] gives the float for arithmetic; `Debug` and
//! `Display` print it as the float, so diagnostics and the IR text are unchanged.

use std::fmt;

/// An `f32` attribute, compared, hashed and ordered by its bit pattern.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Ieee32(u32);

/// An `f64` attribute, compared, hashed and ordered by its bit pattern.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Ieee64(u64);

impl Ieee32 {
    pub const fn new(value: f32) -> Ieee32 {
        Ieee32(value.to_bits())
    }
    /// The float value.
    pub const fn get(self) -> f32 {
        f32::from_bits(self.0)
    }
    /// The bit pattern.
    pub const fn to_bits(self) -> u32 {
        self.0
    }
}

impl Ieee64 {
    pub const fn new(value: f64) -> Ieee64 {
        Ieee64(value.to_bits())
    }
    /// The float value.
    pub const fn get(self) -> f64 {
        f64::from_bits(self.0)
    }
    /// The bit pattern.
    pub const fn to_bits(self) -> u64 {
        self.0
    }
}

impl From<f32> for Ieee32 {
    fn from(value: f32) -> Ieee32 {
        Ieee32::new(value)
    }
}

impl From<Ieee32> for f32 {
    fn from(value: Ieee32) -> f32 {
        value.get()
    }
}

impl From<f64> for Ieee64 {
    fn from(value: f64) -> Ieee64 {
        Ieee64::new(value)
    }
}

impl From<Ieee64> for f64 {
    fn from(value: Ieee64) -> f64 {
        value.get()
    }
}

impl fmt::Debug for Ieee32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.get(), f)
    }
}

impl fmt::Display for Ieee32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.get(), f)
    }
}

impl fmt::Debug for Ieee64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.get(), f)
    }
}

impl fmt::Display for Ieee64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.get(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_is_by_bits() {
        assert_ne!(Ieee32::new(0.0), Ieee32::new(-0.0));
        assert_eq!(Ieee32::new(f32::NAN), Ieee32::new(f32::NAN));
        assert_eq!(Ieee32::new(1.5).get(), 1.5);
        assert_eq!(Ieee64::new(-2.25).get(), -2.25);
    }

    #[test]
    fn prints_as_the_float() {
        assert_eq!(format!("{:?} {}", Ieee32::new(0.1), Ieee32::new(-3.0)), "0.1 -3");
        assert_eq!(format!("{:?}", Ieee64::new(f64::INFINITY)), "inf");
    }
}
