//! The e-graph's language: [`TensorLang`], e-nodes derived from the IR's [`Op`] without a
//! per-op list.
//!
//! Why not `egg::define_language!` with one variant per op: kiln's `Op` is a closed enum with
//! typed attributes (conv pads, slice starts, fused programs, f32 constants...). Mirroring it
//! would mean a second op list to keep in sync and attributes encoded as children or symbols.
//! Instead an e-node carries the `Op` itself inside an [`OpKey`], and e-node identity
//! (hash-consing, `Eq`, `Ord`) uses the op's canonical text, computed once when the key is built:
//! the derived `Debug` form, which names the variant and prints every attribute, floats in
//! Rust's shortest round-tripping form (so `0.0` and `-0.0` differ; all NaNs print alike, which
//! only merges ops whose attributes are NaNs of different payloads). `Op` has f32 fields and so
//! is not `Eq`/`Hash` itself. The key is behind an `Arc`: egg clones e-nodes freely.
//!
//! Leaves are graph inputs (`Input(i)`) and constants (`Const(k)`, an index into
//! `TensorAnalysis::constants`, so tensors are never hashed or compared by egg). An op with
//! several results (Split) is one "tuple" class; `Project(i, [tuple])` is its result `i`.

use egg::{Id, Language};
use kiln_ir::Op;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// An [`Op`] with its canonical text; equality, order and hash go by the text.
#[derive(Clone)]
pub struct OpKey(Arc<(Op, String)>);

impl OpKey {
    pub fn new(op: Op) -> OpKey {
        let text = format!("{op:?}");
        OpKey(Arc::new((op, text)))
    }
    pub fn op(&self) -> &Op {
        &self.0 .0
    }
    /// The canonical text identity is based on.
    pub fn text(&self) -> &str {
        &self.0 .1
    }
}

impl PartialEq for OpKey {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.text() == other.text()
    }
}
impl Eq for OpKey {}
impl PartialOrd for OpKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OpKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.text().cmp(other.text())
    }
}
impl Hash for OpKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text().hash(state)
    }
}
impl fmt::Debug for OpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// An e-node; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TensorLang {
    /// Graph input `i`.
    Input(usize),
    /// Constant `k` of `TensorAnalysis::constants`.
    Const(usize),
    /// Any IR op applied to its inputs (in the IR's operand order).
    Op(OpKey, Vec<Id>),
    /// Result `i` of a multi-result op's tuple class.
    Project(usize, [Id; 1]),
}

impl TensorLang {
    /// An op e-node.
    pub fn op_node(op: Op, children: Vec<Id>) -> TensorLang {
        TensorLang::Op(OpKey::new(op), children)
    }
    /// The IR op of an `Op` node.
    pub fn op(&self) -> Option<&Op> {
        match self {
            TensorLang::Op(k, _) => Some(k.op()),
            _ => None,
        }
    }
}

/// What `matches` compares: everything but the children, plus the arity.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Discriminant {
    Input(usize),
    Const(usize),
    Op(OpKey, usize),
    Project(usize),
}

impl Language for TensorLang {
    type Discriminant = Discriminant;

    fn discriminant(&self) -> Discriminant {
        match self {
            TensorLang::Input(i) => Discriminant::Input(*i),
            TensorLang::Const(k) => Discriminant::Const(*k),
            TensorLang::Op(key, c) => Discriminant::Op(key.clone(), c.len()),
            TensorLang::Project(i, _) => Discriminant::Project(*i),
        }
    }
    fn matches(&self, other: &Self) -> bool {
        self.discriminant() == other.discriminant()
    }
    fn children(&self) -> &[Id] {
        match self {
            TensorLang::Input(_) | TensorLang::Const(_) => &[],
            TensorLang::Op(_, c) => c,
            TensorLang::Project(_, c) => c,
        }
    }
    fn children_mut(&mut self) -> &mut [Id] {
        match self {
            TensorLang::Input(_) | TensorLang::Const(_) => &mut [],
            TensorLang::Op(_, c) => c,
            TensorLang::Project(_, c) => c,
        }
    }
}

impl fmt::Display for TensorLang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TensorLang::Input(i) => write!(f, "input{i}"),
            TensorLang::Const(k) => write!(f, "const{k}"),
            TensorLang::Op(key, _) => f.write_str(key.op().name()),
            TensorLang::Project(i, _) => write!(f, "project{i}"),
        }
    }
}
