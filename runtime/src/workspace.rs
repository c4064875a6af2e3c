//! 64-byte-aligned byte buffers for workspaces (a `Vec<u8>` only guarantees byte alignment; the
//! memory plan's offsets are 64-byte aligned relative to the base, and an aligned base keeps
//! every planned buffer on a cache line boundary), and a pool that reuses them across runs.
//!
//! Why a pool: a fresh zeroed workspace per run cost MobileNetV2 4% of its run time in `memset`
//! and page faults (several MB per call). The compiled code never reads workspace bytes it did
//! not write in the same call (every planned buffer is produced before it is read, and
//! micro-kernel scratch is filled before use; the backend tests run with a poisoned workspace),
//! so a buffer is reused as it is. Concurrent runs each take their own buffer.

use std::sync::Mutex;

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

/// Workspaces of one size for reuse; see the module docs.
pub struct WorkspacePool {
    len: usize,
    free: Mutex<Vec<AlignedBuf>>,
}

impl WorkspacePool {
    pub fn new(len: usize) -> WorkspacePool {
        WorkspacePool { len, free: Mutex::new(Vec::new()) }
    }
    /// A buffer for one run: a returned one, or a new zeroed one.
    pub fn take(&self) -> AlignedBuf {
        let reused = self.free.lock().ok().and_then(|mut f| f.pop());
        reused.unwrap_or_else(|| AlignedBuf::zeroed(self.len))
    }
    /// Gives a buffer back after its run (at most a few are kept).
    pub fn give(&self, buf: AlignedBuf) {
        if let Ok(mut f) = self.free.lock() {
            if f.len() < 4 {
                f.push(buf);
            }
        }
    }
}
