//! The free vector registers of an epilogue, for every ISA's generator (`x86::program`,
//! `arm::program`): a stack of register names, taken and given back as a program's steps
//! allocate and release temporaries.

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
