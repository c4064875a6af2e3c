//! 64-byte-aligned, zero-initialised byte buffers for workspaces and outputs (a `Vec<u8>` only
//! guarantees byte alignment; kernels assume cache-line-aligned buffers for speed).

/// A heap buffer of `len` bytes aligned to 64.
pub struct AlignedBuf {
    words: Vec<[u8; 64]>,
    len: usize,
}

impl AlignedBuf {
    /// `len` zero bytes.
    pub fn zeroed(len: usize) -> AlignedBuf {
        AlignedBuf { words: vec![[0u8; 64]; len.div_ceil(64).max(1)], len }
    }
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.words.as_mut_ptr().cast()
    }
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `words` holds at least `len` initialised bytes, contiguous.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast(), self.len) }
    }
}
