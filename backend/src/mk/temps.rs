//! Register allocation of fused epilogue programs, for every ISA's generator (`x86::program`,
//! `arm::program`): the free vector registers ([`Temps`], a stack of register names taken and
//! given back as a program's steps allocate and release temporaries) and where each operand is
//! read for the last time ([`LastUses`]), after which its register is free.

use kiln_ir::{Operand, Program};
use std::collections::HashMap;

/// Free registers named by `R`; see the module docs.
#[derive(Clone, Debug, Default)]
pub struct Temps<R> {
    free: Vec<R>,
}

impl<R: Copy + PartialEq> Temps<R> {
    pub fn new(free: impl IntoIterator<Item = R>) -> Temps<R> {
        Temps { free: free.into_iter().collect() }
    }
    pub fn take(&mut self) -> Option<R> {
        self.free.pop()
    }
    /// Returns `v` to the pool (a register given twice is kept once).
    pub fn give(&mut self, v: R) {
        if !self.free.contains(&v) {
            self.free.push(v);
        }
    }
    pub fn len(&self) -> usize {
        self.free.len()
    }
    pub fn is_empty(&self) -> bool {
        self.free.is_empty()
    }
}

/// The step of each operand's last read in a program; the result counts as read after the
/// last step.
pub struct LastUses(HashMap<(bool, usize), usize>);

impl LastUses {
    pub fn of(p: &Program) -> LastUses {
        let mut last = HashMap::new();
        for (i, s) in p.steps.iter().enumerate() {
            for o in s.operands() {
                last.insert(key(o), i);
            }
        }
        last.insert(key(p.result()), usize::MAX);
        LastUses(last)
    }
    /// True when step `i` is the last to read `o`.
    pub fn dies_at(&self, o: Operand, i: usize) -> bool {
        self.0.get(&key(o)) == Some(&i)
    }
}

/// A hashable key of an operand.
fn key(o: Operand) -> (bool, usize) {
    match o {
        Operand::Arg(k) => (false, k),
        Operand::Reg(j) => (true, j),
    }
}
