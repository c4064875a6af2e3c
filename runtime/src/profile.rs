//! Time per step without perf: the probed entry (`kiln_backend::compile_graph_probed`) calls
//! [`probe`] before every kernel call or copy and after the last, and the probe records the
//! time on the calling thread. The difference of two marks is one step's time.
//!
//! Why probes in a second entry rather than sampling: the count of calls and the time of every
//! step are exact, nothing platform-specific is needed (no signals, no perf), and the plain
//! entry that `run` calls stays untouched, so profiling never slows an ordinary run. The cost
//! is one `Instant::now()` (a vDSO clock read, tens of nanoseconds) per step, which the
//! report's total includes; kernels far shorter than that are over-counted.

use crate::EntryFn;
use kiln_backend::CompiledGraph;
use kiln_ir::{Graph, NodeId};
use std::cell::RefCell;
use std::time::{Duration, Instant};

thread_local! {
    /// The marks of the run in progress on this thread.
    static MARKS: RefCell<Vec<Instant>> = const { RefCell::new(Vec::new()) };
}

/// The probe the probed entry calls: records the time. Never panics (it runs inside JIT code,
/// where unwinding would abort).
extern "C" fn probe(_step: u32) {
    let now = Instant::now();
    let _ = MARKS.try_with(|m| m.try_borrow_mut().map(|mut m| m.push(now)));
}

/// The address the JIT binds `kiln_backend::PROBE_SYMBOL` to.
pub(crate) fn probe_address() -> *const u8 {
    probe as *const u8
}

/// One step of the entry, with its total time over the profiled runs.
#[derive(Clone, Debug)]
pub struct StepTime {
    /// The node of [`Profile::graph`] the step computes.
    pub node: NodeId,
    /// The kernel it calls (its symbol, as in the perf map), `None` for a copy.
    pub kernel: Option<String>,
    pub total: Duration,
}

/// What [`crate::JitModel::run_profiled`] measured.
#[derive(Clone, Debug)]
pub struct Profile {
    /// The graph the steps' nodes belong to (after the backend's legalisation).
    pub graph: Graph,
    /// Every step in call order.
    pub steps: Vec<StepTime>,
    pub runs: usize,
    /// Wall time of all the runs, probes and the entry's own work included.
    pub wall: Duration,
}

/// The probed entry of a model and what its steps are.
pub(crate) struct Probed {
    entry: EntryFn,
    graph: Graph,
    steps: Vec<(NodeId, Option<String>)>,
}

impl Probed {
    pub(crate) fn new(entry: EntryFn, graph: &Graph, compiled: &CompiledGraph) -> Probed {
        let name = |k: Option<usize>| k.and_then(|k| compiled.functions.get(k)).map(|f| f.name.clone());
        let steps = compiled.steps.iter().map(|&(node, k)| (node, name(k))).collect();
        Probed { entry, graph: graph.clone(), steps }
    }

    /// Runs the probed entry `runs` times (at least once) and sums each step's time.
    ///
    /// # Safety
    /// The pointers are as the entry needs them (see `JitModel::run_ptrs`).
    pub(crate) unsafe fn run(
        &self,
        runs: usize,
        inputs: &[*const u8],
        outputs: &[*mut u8],
        workspace: *mut u8,
        parallel: *const crate::pool::Descriptor,
    ) -> Result<Profile, i32> {
        let mut totals = vec![Duration::ZERO; self.steps.len()];
        let start = Instant::now();
        for _ in 0..runs.max(1) {
            MARKS.with(|m| {
                let mut m = m.borrow_mut();
                m.clear();
                m.reserve(self.steps.len() + 1);
            });
            // SAFETY: the caller's contract.
            let status = unsafe { (self.entry)(inputs.as_ptr(), outputs.as_ptr(), workspace, parallel) };
            if status != 0 {
                return Err(status);
            }
            MARKS.with(|m| {
                for (total, pair) in totals.iter_mut().zip(m.borrow().windows(2)) {
                    *total += pair[1].saturating_duration_since(pair[0]);
                }
            });
        }
        let wall = start.elapsed();
        let steps = (self.steps.iter().zip(totals))
            .map(|((node, kernel), total)| StepTime { node: *node, kernel: kernel.clone(), total })
            .collect();
        Ok(Profile { graph: self.graph.clone(), steps, runs: runs.max(1), wall })
    }
}
