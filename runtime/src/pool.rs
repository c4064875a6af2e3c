//! The JIT's thread pool: the fork-join callback a compiled model's parallel entry calls
//! (`kiln_backend::entry`, "Threads") for each kernel cut into parts.
//!
//! Design, for kernels of tens of microseconds to milliseconds called a few dozen times per run:
//! - threads are created once, with the model, and live until it is dropped: no thread creation
//!   and no allocation per run or per fork-join;
//! - the caller takes part (`threads - 1` workers): tasks are claimed from one atomic word, which
//!   holds the job's epoch (high 32 bits) and the next task index (low 32). A worker's claim is a
//!   compare-and-swap that fails once a newer job is published, so a late worker can never run a
//!   task of a finished job with that job's (dead) context;
//! - idle workers spin for a short while (the next kernel of a run follows within microseconds),
//!   then sleep on a condition variable (a run that ended costs no CPU);
//! - one job at a time: a second caller running the same model meanwhile (each with its own
//!   workspace) finds the pool busy and runs its parts itself, in order, which gives the same
//!   bits and cannot deadlock.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// A task function of the compiled code: `task(ctx, index)`.
pub type TaskFn = unsafe extern "C" fn(*mut u8, u32);

/// The descriptor the compiled entry reads (`kiln_backend::entry`'s layout).
#[repr(C)]
pub struct Descriptor {
    pub threads: u32,
    pub pool: *const Shared,
    pub run: unsafe extern "C" fn(*const Shared, u32, TaskFn, *mut u8),
}

/// Spin iterations of an idle worker before it sleeps (tens of microseconds).
const SPIN: u32 = 1 << 15;

/// What the workers and the callers share.
pub struct Shared {
    /// Epoch (high 32 bits) and next task index (low 32) of the current job.
    state: AtomicU64,
    task: AtomicUsize,
    ctx: AtomicUsize,
    count: AtomicU32,
    /// Tasks of the current job not yet finished.
    pending: AtomicU32,
    /// Held by the caller whose job the workers serve.
    busy: Mutex<()>,
    sleepers: AtomicUsize,
    sleep: Mutex<()>,
    wake: Condvar,
    shutdown: AtomicBool,
}

/// Worker threads plus the descriptor handed to the compiled code.
pub struct ThreadPool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    descriptor: Box<Descriptor>,
}

impl ThreadPool {
    /// A pool running jobs on `threads` threads (the caller and `threads - 1` workers).
    pub fn new(threads: usize) -> ThreadPool {
        let shared = Arc::new(Shared {
            state: AtomicU64::new(0),
            task: AtomicUsize::new(0),
            ctx: AtomicUsize::new(0),
            count: AtomicU32::new(0),
            pending: AtomicU32::new(0),
            busy: Mutex::new(()),
            sleepers: AtomicUsize::new(0),
            sleep: Mutex::new(()),
            wake: Condvar::new(),
            shutdown: AtomicBool::new(false),
        });
        let threads = threads.clamp(1, u32::MAX as usize);
        let workers = (1..threads)
            .filter_map(|i| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new().name(format!("kiln-worker-{i}")).spawn(move || worker(&shared)).ok()
            })
            .collect::<Vec<_>>();
        let threads = workers.len() as u32 + 1;
        let descriptor = Box::new(Descriptor { threads, pool: Arc::as_ptr(&shared), run: run_job });
        ThreadPool { shared, workers, descriptor }
    }
    /// Threads a job runs on, the caller's included.
    pub fn threads(&self) -> usize {
        self.descriptor.threads as usize
    }
    /// The descriptor for the compiled parallel entry; valid while the pool lives.
    pub fn descriptor(&self) -> *const Descriptor {
        &*self.descriptor
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        {
            let _guard = self.shared.sleep.lock().unwrap_or_else(|e| e.into_inner());
            self.shared.wake.notify_all();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// The fork-join callback: runs `task(ctx, i)` for every `i < n` and returns when all are done.
///
/// # Safety
/// `pool` is a live pool's `Shared`; `task` may be called with `ctx` from any thread.
unsafe extern "C" fn run_job(pool: *const Shared, n: u32, task: TaskFn, ctx: *mut u8) {
    // SAFETY: the descriptor's `pool` is the pool's own `Shared`, alive while the pool is.
    let shared = unsafe { &*pool };
    let Ok(_busy) = shared.busy.try_lock() else {
        // Another caller's job has the workers: run this one here, in order.
        // SAFETY: the compiled code's contract: each index once, any thread.
        (0..n).for_each(|i| unsafe { task(ctx, i) });
        return;
    };
    shared.task.store(task as usize, Ordering::Relaxed);
    shared.ctx.store(ctx as usize, Ordering::Relaxed);
    shared.count.store(n, Ordering::Relaxed);
    shared.pending.store(n, Ordering::Relaxed);
    let epoch = (shared.state.load(Ordering::Relaxed) >> 32).wrapping_add(1) & 0xffff_ffff;
    shared.state.store(epoch << 32, Ordering::SeqCst);
    if shared.sleepers.load(Ordering::SeqCst) > 0 {
        let _guard = shared.sleep.lock().unwrap_or_else(|e| e.into_inner());
        shared.wake.notify_all();
    }
    work_on(shared, epoch);
    let mut spins = 0u32;
    while shared.pending.load(Ordering::Acquire) != 0 {
        spins = spins.wrapping_add(1);
        if spins % 1024 == 0 {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Claims and runs tasks of job `epoch` until none is left or a newer job is published.
fn work_on(shared: &Shared, epoch: u64) {
    let (task, ctx, count) =
        (shared.task.load(Ordering::Relaxed), shared.ctx.load(Ordering::Relaxed), shared.count.load(Ordering::Relaxed));
    let mut state = shared.state.load(Ordering::Acquire);
    loop {
        let index = (state & 0xffff_ffff) as u32;
        if state >> 32 != epoch || index >= count {
            return;
        }
        match shared.state.compare_exchange_weak(state, state + 1, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {
                // SAFETY: the claim succeeded for `epoch`, whose job is unfinished until this
                // task is done, so `task`, `ctx` and `count` were read for it (see the module docs).
                unsafe {
                    let task: TaskFn = std::mem::transmute::<usize, TaskFn>(task);
                    task(ctx as *mut u8, index);
                }
                shared.pending.fetch_sub(1, Ordering::AcqRel);
                state = shared.state.load(Ordering::Acquire);
            }
            Err(now) => state = now,
        }
    }
}

/// A worker: waits for each new job, takes part in it.
fn worker(shared: &Shared) {
    let mut seen = 0u64;
    loop {
        let Some(epoch) = wait_for_job(shared, seen) else { return };
        seen = epoch;
        work_on(shared, epoch);
    }
}

/// The epoch of the next job after `seen` (spinning, then sleeping), or `None` at shutdown.
fn wait_for_job(shared: &Shared, seen: u64) -> Option<u64> {
    let epoch_now = || shared.state.load(Ordering::Acquire) >> 32;
    for _ in 0..SPIN {
        if shared.shutdown.load(Ordering::Relaxed) {
            return None;
        }
        if epoch_now() != seen {
            return Some(epoch_now());
        }
        std::hint::spin_loop();
    }
    let mut guard = shared.sleep.lock().unwrap_or_else(|e| e.into_inner());
    shared.sleepers.fetch_add(1, Ordering::SeqCst);
    while epoch_now() == seen && !shared.shutdown.load(Ordering::SeqCst) {
        guard = shared.wake.wait(guard).unwrap_or_else(|e| e.into_inner());
    }
    shared.sleepers.fetch_sub(1, Ordering::SeqCst);
    drop(guard);
    (!shared.shutdown.load(Ordering::SeqCst)).then(epoch_now)
}

/// The machine's physical cores (Linux: distinct core ids in `/proc/cpuinfo`, as onnxruntime
/// counts them), else its logical CPUs.
pub fn physical_cores() -> usize {
    let logical = std::thread::available_parallelism().map_or(1, |n| n.get());
    let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else { return logical };
    let mut cores = std::collections::HashSet::new();
    let mut physical = "";
    for line in info.lines() {
        let mut kv = line.splitn(2, ':').map(str::trim);
        match (kv.next(), kv.next()) {
            (Some("physical id"), Some(v)) => physical = v,
            (Some("core id"), Some(v)) => {
                cores.insert((physical.to_string(), v.to_string()));
            }
            _ => {}
        }
    }
    if cores.is_empty() {
        logical
    } else {
        cores.len().min(logical)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    unsafe extern "C" fn add_index(ctx: *mut u8, index: u32) {
        // SAFETY: `ctx` is the test's array of counters, one per index.
        let counters = unsafe { &*(ctx as *const [AtomicU32; 37]) };
        counters[index as usize].fetch_add(index + 1, Ordering::Relaxed);
    }

    #[test]
    fn every_task_runs_once_per_job_from_several_callers() {
        let pool = ThreadPool::new(3);
        assert_eq!(pool.threads(), 3);
        let d = pool.descriptor() as usize;
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(move || {
                    for n in [1u32, 2, 5, 37] {
                        let counters: [AtomicU32; 37] = std::array::from_fn(|_| AtomicU32::new(0));
                        // SAFETY: the descriptor is the live pool's; the task touches `counters`.
                        unsafe {
                            let d = &*(d as *const Descriptor);
                            (d.run)(d.pool, n, add_index, &counters as *const _ as *mut u8);
                        }
                        for (i, c) in counters.iter().enumerate() {
                            let want = if (i as u32) < n { i as u32 + 1 } else { 0 };
                            assert_eq!(c.load(Ordering::Relaxed), want, "n {n} index {i}");
                        }
                    }
                });
            }
        });
    }

    #[test]
    fn physical_cores_are_at_least_one() {
        assert!(physical_cores() >= 1);
    }
}
