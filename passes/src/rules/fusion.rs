//! Rule family `fusion`: chains of elementwise ops become one loop, and elementwise ops after a
//! conv, gemm or matmul become that kernel's epilogue.
//!
//! Two rules do all of it, because every elementwise node (`Unary`, `Binary`, `Elementwise`) is
//! seen as a [`Program`] over its children:
//! - `fuse-elementwise-chain`: a program one of whose arguments is itself computed by a program
//!   is rewritten to one `Op::Elementwise` with the inner program inlined. Applied over the
//!   iterations, a chain of `n` ops grows into one kernel (SiLU `x * sigmoid(x)`, GELU's erf
//!   chain, BatchNorm-as-affine followed by Clip, HardSwish written out...).
//! - `fuse-epilogue`: a program one of whose arguments is a Conv, Gemm or MatMul (or an existing
//!   `Op::Fused`) becomes an `Op::Fused` whose epilogue is the old epilogue followed by the program;
//!   the program's other arguments become the fused node's extra inputs (a per-channel scale or
//!   bias, a residual). `kiln_ir::infer_types` (checked before any term is added) rejects extras
//!   that would broadcast the result bigger, which is also what the backend requires.
//!
//! Both keep the unfused forms in the e-graph, and neither duplicates work: a value the original
//! graph reads more often than the fused program does (`ClassData::uses`) is not inlined or
//! absorbed, since its other readers would need it computed anyway (a residual input, a conv
//! read by two branches). Without that guard chains would also grow backwards through residual
//! operands from block to block, which the extraction rejects but which bloats the e-graph. Only f32
//! is fused (the dtype the backend's fused kernels vectorise). Programs are capped at
//! [`MAX_STEPS`] steps and [`MAX_ARGS`] arguments, which bounds the e-graph's growth on long
//! chains (every contiguous sub-chain is a candidate).

use crate::egraph::{children, rule, EGraph, Rewrite, TensorLang, Term, TermRef, Visit};
use egg::Id;
use kiln_ir::{BinaryOp, DType, Op, OpKind, Operand, Program, Step};

/// Longest program the rules build.
pub const MAX_STEPS: usize = 24;
/// Most arguments (node inputs) of a fused program.
pub const MAX_ARGS: usize = 8;

/// The family's rules.
pub fn rules() -> Vec<Rewrite> {
    vec![
        rule("fuse-elementwise-chain", Visit::Ops(&[OpKind::Unary, OpKind::Binary]), fuse_chain),
        rule("fuse-epilogue", Visit::Ops(&[OpKind::Unary, OpKind::Binary, OpKind::Elementwise]), fuse_epilogue),
    ]
}

/// An elementwise node as a program over its children (f32 classes only).
fn as_program(eg: &EGraph, class: Id, node: &TensorLang) -> Option<(Program, Vec<Id>)> {
    if crate::egraph::ty(eg, class)?.dtype != DType::F32 {
        return None;
    }
    let children = children(eg, node);
    let program = match node.op()? {
        Op::Unary(u) => Program { steps: vec![Step::Unary(*u, Operand::Arg(0))] },
        Op::Binary(b) if is_arithmetic(*b) => {
            Program { steps: vec![Step::Binary(*b, Operand::Arg(0), Operand::Arg(1))] }
        }
        Op::Elementwise(p) => p.clone(),
        _ => return None,
    };
    Some((program, children))
}

/// Binary ops that keep the operand dtype (no comparisons, no bool logic).
fn is_arithmetic(b: BinaryOp) -> bool {
    !b.is_comparison() && !matches!(b, BinaryOp::And | BinaryOp::Or | BinaryOp::Xor)
}

/// Arguments of a program being built: class ids, deduplicated.
#[derive(Default)]
struct Args(Vec<Id>);

impl Args {
    fn index_of(&mut self, id: Id) -> usize {
        match self.0.iter().position(|&a| a == id) {
            Some(i) => i,
            None => {
                self.0.push(id);
                self.0.len() - 1
            }
        }
    }
}

/// Appends `p`'s steps to `out`, mapping its arguments through `arg` and its registers by
/// offset; returns the operand holding `p`'s result.
fn append(out: &mut Vec<Step>, p: &Program, mut arg: impl FnMut(usize) -> Operand) -> Operand {
    let base = out.len();
    let mut map = |o: Operand| match o {
        Operand::Arg(k) => arg(k),
        Operand::Reg(j) => Operand::Reg(base + j),
    };
    for step in &p.steps {
        let mapped = match *step {
            Step::Unary(u, a) => Step::Unary(u, map(a)),
            Step::Binary(b, a, c) => Step::Binary(b, map(a), map(c)),
        };
        out.push(mapped);
    }
    map(p.result())
}

/// `outer` with its argument `k` replaced by `inner` (whose arguments are `inner_args`).
fn inline(outer: &Program, outer_args: &[Id], k: usize, inner: &Program, inner_args: &[Id]) -> (Program, Vec<Id>) {
    let mut args = Args::default();
    let mut steps = Vec::new();
    let inner_result = append(&mut steps, inner, |i| Operand::Arg(args.index_of(inner_args[i])));
    append(&mut steps, outer, |j| if j == k { inner_result } else { Operand::Arg(args.index_of(outer_args[j])) });
    (Program { steps }, args.0)
}

fn within_caps(p: &Program, args: usize) -> bool {
    !p.steps.is_empty() && p.steps.len() <= MAX_STEPS && args <= MAX_ARGS
}

/// `fuse-elementwise-chain`: a single elementwise op absorbs the largest program computing one
/// of its arguments. Growing chains one op at a time from the top, always from the child's most
/// fused form, gives each class at most one new node per iteration (linear growth in the chain
/// length) instead of one per sub-chain (quadratic), which is what keeps saturation of a
/// 1,000-node network inside the optimizer's time budget.
fn fuse_chain(eg: &EGraph, class: Id, node: &TensorLang) -> Vec<Term> {
    if !matches!(node.op(), Some(Op::Unary(_) | Op::Binary(_))) {
        return vec![];
    }
    let Some((outer, outer_args)) = as_program(eg, class, node) else { return vec![] };
    let mut terms = Vec::new();
    for (k, &arg) in outer_args.iter().enumerate() {
        if arg == eg.find(class) {
            continue;
        }
        if eg[arg].data.uses > 1 {
            continue;
        }
        let Some((inner, inner_args)) = largest_program(eg, arg) else { continue };
        if inner_args.contains(&eg.find(class)) {
            continue;
        }
        let (program, args) = inline(&outer, &outer_args, k, &inner, &inner_args);
        if within_caps(&program, args.len()) {
            terms.push(elementwise_term(program, &args));
        }
    }
    terms
}

/// The program node of `class` with the most steps (the first one on ties).
fn largest_program(eg: &EGraph, class: Id) -> Option<(Program, Vec<Id>)> {
    let programs = eg[class].nodes.iter().filter_map(|n| as_program(eg, class, n));
    programs.fold(None, |best: Option<(Program, Vec<Id>)>, p| match best {
        Some(b) if b.0.steps.len() >= p.0.steps.len() => Some(b),
        _ => Some(p),
    })
}

fn elementwise_term(program: Program, args: &[Id]) -> Term {
    let mut t = Term::new();
    let refs: Vec<TermRef> = args.iter().map(|&a| t.class(a)).collect();
    t.op(Op::Elementwise(program), &refs);
    t
}

/// A conv/gemm/matmul (plain or already fused) as base, epilogue and all its inputs.
struct Base {
    op: Op,
    base_inputs: usize,
    epilogue: Program,
    inputs: Vec<Id>,
}

fn as_base(eg: &EGraph, node: &TensorLang) -> Option<Base> {
    let inputs = children(eg, node);
    match node.op()? {
        op if kiln_ir::fused::is_fusable_base(op) => {
            Some(Base { op: op.clone(), base_inputs: inputs.len(), epilogue: Program::default(), inputs })
        }
        Op::Fused { base, base_inputs, epilogue } => {
            Some(Base { op: (**base).clone(), base_inputs: *base_inputs, epilogue: epilogue.clone(), inputs })
        }
        _ => None,
    }
}

/// `fuse-epilogue`: this node's program absorbed into the conv/gemm/matmul computing one of its
/// arguments, from that class's bases with the shortest and the longest epilogue (see
/// [`extreme_bases`]; a bounded choice, as in `fuse_chain`, keeps growth linear).
fn fuse_epilogue(eg: &EGraph, class: Id, node: &TensorLang) -> Vec<Term> {
    let Some((program, prog_args)) = as_program(eg, class, node) else { return vec![] };
    let mut terms = Vec::new();
    for (k, &arg) in prog_args.iter().enumerate() {
        if arg == eg.find(class) || eg[arg].data.uses > reads_of(&program, &prog_args, arg) {
            // `x * 1 = x` leaves `mul(self, 1)` in a class: absorbing it would loop.
            continue;
        }
        for base in extreme_bases(eg, arg) {
            if !base.inputs.contains(&eg.find(class)) {
                terms.extend(extend_epilogue(&base, &program, &prog_args, k));
            }
        }
    }
    terms
}

/// How many times `program` reads the argument(s) that are class `arg`: when the base's value
/// has more readers in the original graph than that, some reader is outside this program and
/// fusing would compute the base twice (SiLU `x * sigmoid(x)` reads `x` twice and absorbs both
/// readers once the chain is one program; a lone `relu` of a conv that a residual also reads
/// must not absorb it).
fn reads_of(program: &Program, args: &[Id], arg: Id) -> usize {
    let is_arg = |o: Operand| matches!(o, Operand::Arg(k) if args.get(k) == Some(&arg));
    program.steps.iter().flat_map(|s| s.operands()).filter(|&o| is_arg(o)).count()
}

/// The base nodes of `class` worth extending: for each kind of base (conv, winograd output of
/// each tile size, gemm, matmul) the one with the shortest epilogue, and overall the one with the longest (first
/// on ties). The shortest of a kind is typically a conv whose bias or scale the folding rules
/// absorbed, or the Winograd form of it; the longest is the most fused form. A bounded set per
/// class keeps the growth linear while letting folding, algorithm choice and fusion combine.
fn extreme_bases(eg: &EGraph, class: Id) -> Vec<Base> {
    let bases: Vec<Base> = eg[class].nodes.iter().filter_map(|n| as_base(eg, n)).collect();
    let len = |i: &usize| bases[*i].epilogue.steps.len();
    let mut picked: Vec<usize> = Vec::new();
    for i in 0..bases.len() {
        let same_kind = |j: &usize| base_kind(&bases[*j].op) == base_kind(&bases[i].op);
        let shortest = (0..bases.len()).filter(same_kind).min_by_key(|j| (len(j), *j));
        if shortest == Some(i) {
            picked.push(i);
        }
    }
    if let Some(longest) = (0..bases.len()).max_by_key(|i| (len(i), std::cmp::Reverse(*i))) {
        if !picked.contains(&longest) {
            picked.push(longest);
        }
    }
    bases.into_iter().enumerate().filter(|(i, _)| picked.contains(i)).map(|(_, b)| b).collect()
}

/// What distinguishes kinds of base for [`extreme_bases`]: the op and, for Winograd, the tile
/// size (the two variants are competing algorithms, each needs its fused form).
fn base_kind(op: &Op) -> (&'static str, usize) {
    match op {
        Op::WinogradOutput { tile, .. } => (op.name(), *tile),
        Op::ChannelsLast(inner) => (op.name(), base_kind(inner).1),
        _ => (op.name(), 0),
    }
}

/// The fused node `base` followed by `program`, whose argument `k` is the base's result.
fn extend_epilogue(base: &Base, program: &Program, prog_args: &[Id], k: usize) -> Option<Term> {
    let base_result = prog_args[k];
    let mut extras = Args(base.inputs[base.base_inputs..].to_vec());
    let mut steps = Vec::new();
    let old = append(&mut steps, &base.epilogue, |i| Operand::Arg(i));
    let new = append(&mut steps, program, |j| {
        if prog_args[j] == base_result {
            old
        } else {
            Operand::Arg(1 + extras.index_of(prog_args[j]))
        }
    });
    let epilogue = Program { steps };
    if epilogue.result() != new || !within_caps(&epilogue, extras.0.len() + 1) {
        return None;
    }
    let mut t = Term::new();
    let mut refs: Vec<TermRef> = base.inputs[..base.base_inputs].iter().map(|&a| t.class(a)).collect();
    refs.extend(extras.0.iter().map(|&a| t.class(a)));
    t.op(Op::Fused { base: Box::new(base.op.clone()), base_inputs: base.base_inputs, epilogue }, &refs);
    Some(t)
}
