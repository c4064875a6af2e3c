//! Whole-graph harness: compile a small graph through `compile_graph` (memory plan, packed
//! weights, micro-kernels, entry function) into a JIT module for a chosen feature set, run it on
//! buffers with guard bytes (inputs, outputs and the workspace), and compare with the reference
//! evaluator. This is how the machine-code micro-kernels are tested: they exist only inside a
//! compiled graph (their weights are packed by the entry's data objects).

use super::{close, GUARD, GUARD_BYTE, POISON_BYTE};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::default_libcall_names;
use kiln_ir::{Graph, Tensor};

/// What one compiled run gave.
pub struct GraphRun {
    pub outputs: Vec<Tensor>,
    /// Distinct kernels that were machine-code micro-kernels, and their ISA.
    pub micro_kernels: usize,
    pub micro_isa: Option<&'static str>,
}

/// Compiles `graph` for the host with feature `edits` (e.g. `-avx512f`) and runs it on `inputs`.
pub fn run_graph(graph: &Graph, inputs: &[Tensor], edits: &[&str]) -> Result<GraphRun, String> {
    let edits: Vec<String> = edits.iter().map(|s| s.to_string()).collect();
    let isa = kiln_backend::isa::host_isa_with(&edits).map_err(|e| e.to_string())?;
    let caps = kiln_backend::TargetCaps::of(&*isa);
    let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
    let legal = kiln_backend::legalize(graph, caps).map_err(|e| e.to_string())?;
    let lowered = legal.as_ref().unwrap_or(graph);
    let plan = kiln_passes::plan_memory(lowered);
    let compiled = kiln_backend::compile_graph(&mut module, lowered, &plan, "t_").map_err(|e| e.to_string())?;
    module.finalize_definitions().map_err(|e| e.to_string())?;
    let entry = module.get_finalized_function(compiled.entry);
    let result = execute(lowered, entry, inputs, compiled.workspace_size);
    // SAFETY: the code is not used after this point.
    unsafe { module.free_memory() };
    Ok(GraphRun { outputs: result?, micro_kernels: compiled.micro_kernels, micro_isa: compiled.micro_isa })
}

/// A byte buffer of `len` bytes, 64-byte aligned, followed by guard bytes.
struct Guarded {
    words: Vec<[u8; 64]>,
    len: usize,
}

impl Guarded {
    fn new(content: &[u8], fill: u8, len: usize) -> Guarded {
        let mut g = Guarded { words: vec![[fill; 64]; (len + GUARD).div_ceil(64)], len };
        let bytes = g.bytes_mut();
        bytes[..content.len()].copy_from_slice(content);
        bytes[len..len + GUARD].fill(GUARD_BYTE);
        g
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        let n = self.words.len() * 64;
        // SAFETY: the array storage viewed as bytes.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr() as *mut u8, n) }
    }
    fn bytes(&self) -> &[u8] {
        // SAFETY: as above, shared.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr() as *const u8, self.words.len() * 64) }
    }
    fn intact(&self) -> bool {
        self.bytes()[self.len..self.len + GUARD].iter().all(|&b| b == GUARD_BYTE)
    }
    fn ptr(&mut self) -> *mut u8 {
        self.words.as_mut_ptr() as *mut u8
    }
}

fn execute(graph: &Graph, entry: *const u8, inputs: &[Tensor], workspace: usize) -> Result<Vec<Tensor>, String> {
    let mut ins: Vec<Guarded> = inputs.iter().map(|t| Guarded::new(&t.to_le_bytes(), 0, t.ty().byte_size())).collect();
    let out_types: Vec<_> = graph.outputs.iter().map(|&v| graph.ty(v).clone()).collect();
    let mut outs: Vec<Guarded> = out_types.iter().map(|t| Guarded::new(&[], POISON_BYTE, t.byte_size())).collect();
    let mut ws = Guarded::new(&[], POISON_BYTE, workspace);
    let in_ptrs: Vec<*const u8> = ins.iter_mut().map(|g| g.ptr() as *const u8).collect();
    let out_ptrs: Vec<*mut u8> = outs.iter_mut().map(|g| g.ptr()).collect();
    type Entry = unsafe extern "C" fn(*const *const u8, *const *mut u8, *mut u8) -> i32;
    // SAFETY: `entry` was defined by compile_graph with this signature; buffers are sized by
    // the graph's types and the compiled workspace size.
    let status = unsafe {
        let f: Entry = std::mem::transmute(entry);
        f(in_ptrs.as_ptr(), out_ptrs.as_ptr(), ws.ptr())
    };
    if status != 0 {
        return Err(format!("entry returned {status}"));
    }
    if let Some(i) = ins.iter().position(|g| !g.intact()) {
        return Err(format!("wrote past input {i}"));
    }
    if !ws.intact() {
        return Err("wrote past the workspace".into());
    }
    out_types
        .iter()
        .zip(&outs)
        .enumerate()
        .map(|(i, (t, g))| {
            if !g.intact() {
                return Err(format!("wrote past output {i}"));
            }
            Tensor::from_le_bytes(t.dtype, t.shape.clone(), &g.bytes()[..g.len]).ok_or_else(|| format!("output {i}"))
        })
        .collect()
}

/// The reference outputs of `graph` on `inputs` (`kiln_ir::eval_graph`).
pub fn reference(graph: &Graph, inputs: &[Tensor]) -> Vec<Tensor> {
    kiln_ir::eval_graph(graph, inputs).unwrap_or_else(|e| panic!("reference failed: {e}"))
}

/// Asserts that the compiled graph matches the reference within `rtol`/`atol`, that it ran on
/// `micro` micro-kernels (at least that many), and returns the run.
pub fn check_graph(graph: &Graph, inputs: &[Tensor], edits: &[&str], micro: usize, rtol: f64, atol: f64) -> GraphRun {
    let run = run_graph(graph, inputs, edits).unwrap_or_else(|e| panic!("{edits:?}: {e}"));
    assert!(run.micro_kernels >= micro, "{edits:?}: {} micro-kernels, expected {micro}", run.micro_kernels);
    assert_matches_reference(graph, inputs, &run.outputs, &format!("{edits:?}"), (rtol, atol));
    run
}

/// Asserts that `outputs` equal the reference evaluator's outputs of `graph` on `inputs`,
/// element by element within `rtol`/`atol`; failures are labelled with `label`.
pub fn assert_matches_reference(
    graph: &Graph,
    inputs: &[Tensor],
    outputs: &[Tensor],
    label: &str,
    (rtol, atol): (f64, f64),
) {
    let expected = reference(graph, inputs);
    assert_eq!(expected.len(), outputs.len(), "{label}: number of outputs");
    for (k, (e, a)) in expected.iter().zip(outputs).enumerate() {
        assert_eq!(e.ty(), a.ty(), "{label}: output {k}");
        for i in 0..e.numel() {
            let (ev, av) = (e.data().get_f64(i), a.data().get_f64(i));
            assert!(
                close(ev, av, rtol, atol),
                "{label}: output {k} index {i} of {}: expected {ev}, got {av}",
                e.numel()
            );
        }
    }
}
