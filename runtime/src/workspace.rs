//! 64-byte-aligned, zero-initialised byte buffers for workspaces (a `Vec<u8>` only guarantees
//! byte alignment; the memory plan's offsets are 64-byte aligned relative to the base, and an
//! aligned base keeps every planned buffer on a cache line boundary).

/// A heap buffer of at least `len` bytes aligned to 64.
pub struct AlignedBuf {
    words: Vec<[u8; 64]>,
}

impl AlignedBuf {
    /// `len` zero bytes (at least one line, so the pointer is never dangling).
    pub fn zeroed(len: usize) -> AlignedBuf {
        AlignedBuf { words: vec![[0u8; 64]; len.div_ceil(64).max(1)] }
    }
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.words.as_mut_ptr().cast()
    }
}
