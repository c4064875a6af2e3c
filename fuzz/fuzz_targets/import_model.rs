//! Fuzz target `import_model`: arbitrary bytes as an ONNX model through parse, import, the IR
//! verifier and, for small graphs, the whole pipeline up to JIT code.
//!
//! The project standard is that no input panics: malformed protobuf, unsupported ops, wrong
//! shapes and absurd dims all give an error. Errors are therefore the expected outcome and are
//! dropped; a panic (including an overflow check, as cargo-fuzz builds with `-a`), an abort on
//! a failed allocation beyond `-malloc_limit_mb`/`-rss_limit_mb`, or a run beyond `-timeout`
//! is a finding. A graph the importer returns must pass the verifier: an import that succeeds
//! with a broken graph is a frontend bug, so it panics here. So does an error that is a kiln bug
//! ([`kiln::Error::is_internal`]: a panic the backend caught in its emitters or in Cranelift,
//! invalid IR after a stage, an optimizer failure): caught, it would otherwise pass as a refusal.
//!
//! Compiling is limited to small graphs ([`MAX_COMPILE_NODES`], [`MAX_COMPILE_ELEMENTS`]) to
//! keep the executions per second high; the mutation test (`tests/mutation.rs`) compiles every
//! mutated node-suite model through the CLI instead.
#![no_main]

use kiln_frontend::{ImportOptions, OnnxModel};
use kiln_ir::Graph;
use libfuzzer_sys::fuzz_target;

/// Graphs with more nodes than this are imported and verified but not compiled.
const MAX_COMPILE_NODES: usize = 16;
/// Graphs whose values hold more elements than this in total are not compiled.
const MAX_COMPILE_ELEMENTS: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let Ok(model) = OnnxModel::from_bytes(data, None) else { return };
    let _ = model.inputs();
    let _ = model.output_names();
    let spec = ImportOptions::default();
    let Ok(imported) = model.import(&spec) else { return };
    if let Err(e) = kiln_ir::verify(&imported.graph) {
        panic!("the importer returned a graph the verifier rejects: {e}");
    }
    if is_small(&imported.graph) {
        compile(&model, &spec);
    }
});

fn is_small(graph: &Graph) -> bool {
    let numel = |shape: &[usize]| shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let elements = graph.values.iter().map(|(_, v)| numel(&v.ty.shape).unwrap_or(usize::MAX));
    graph.nodes.len() <= MAX_COMPILE_NODES && elements.fold(0, usize::saturating_add) <= MAX_COMPILE_ELEMENTS
}

/// Lowers for the host's micro-kernels with the verifier after every stage, then JIT-compiles;
/// errors are fine, internal errors are findings.
fn compile(model: &OnnxModel, spec: &ImportOptions) {
    let mut opts = kiln::Options::default();
    opts.verify = true;
    let Ok(micro_bits) = kiln::pipeline::host_micro_bits(&opts) else { return };
    let compiled = kiln::pipeline::lower(model, spec, &opts, micro_bits).and_then(|l| kiln::pipeline::jit(&l, &opts));
    if let Err(e) = compiled {
        assert!(!e.is_internal(), "internal error (a kiln bug, not a refusal): {e}");
    }
}
