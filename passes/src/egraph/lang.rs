//! The e-graph's language: [`TensorLang`], e-nodes derived from the IR's [`Op`] without a
//! per-op list.
//!
//! Why not `egg::define_language!` with one variant per op: kiln's `Op` is a closed enum with
//! typed attributes (conv pads, slice starts, fused programs, f32 constants...). Mirroring it
//! would mean a second op list to keep in sync and attributes encoded as children or symbols.
//! Instead an e-node carries the `Op` itself inside an [`OpKey`]. `Op` is `Eq + Hash + Ord`
//! (float attributes are compared by bit pattern, `kiln_ir::Ieee32`), so e-node identity is the
//! op's own; the key caches the op's hash, because egg hashes an e-node on every hash-cons
//! lookup and a fused op's program or a slice's vectors are not free to hash. The key is behind
//! an `Arc`: egg clones e-nodes freely.
//!
//! egg indexes classes by [`Language::discriminant`]: here the op's [`OpKind`] (its variant,
//! attributes ignored), so a rule that names the kinds it rewrites visits only the classes
//! holding a node of those kinds (`super::rule`), not every node of the e-graph.
//!
//! Leaves are graph inputs (`Input(i)`) and constants (`Const(k)`, an index into
//! `TensorAnalysis::constants`, so tensors are never hashed or compared by egg). An op with
//! several results (Split) is one "tuple" class; `Project(i, [tuple])` is its result `i`.

use egg::{Id, Language};
use kiln_ir::{Op, OpKind};
use std::cmp::Ordering;
use std::collections::hash_map::DefaultHasher;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// An [`Op`] with its hash computed once; equality and order are the op's.
#[derive(Clone)]
pub struct OpKey(Arc<(Op, u64)>);

impl OpKey {
    pub fn new(op: Op) -> OpKey {
        let mut h = DefaultHasher::new();
        op.hash(&mut h);
        let hash = h.finish();
        OpKey(Arc::new((op, hash)))
    }
    pub fn op(&self) -> &Op {
        &self.0 .0
    }
    fn hash_value(&self) -> u64 {
        self.0 .1
    }
}

impl PartialEq for OpKey {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || (self.hash_value() == other.hash_value() && self.op() == other.op())
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
        if Arc::ptr_eq(&self.0, &other.0) {
            return Ordering::Equal;
        }
        self.op().cmp(other.op())
    }
}
impl Hash for OpKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash_value())
    }
}
impl fmt::Debug for OpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.op(), f)
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

/// What egg indexes classes by: the node's variant, and for an op its kind (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Discriminant {
    Input,
    Const,
    Op(OpKind),
    Project,
}

impl Language for TensorLang {
    type Discriminant = Discriminant;

    fn discriminant(&self) -> Discriminant {
        match self {
            TensorLang::Input(_) => Discriminant::Input,
            TensorLang::Const(_) => Discriminant::Const,
            TensorLang::Op(key, _) => Discriminant::Op(key.op().kind()),
            TensorLang::Project(..) => Discriminant::Project,
        }
    }
    /// Everything but the children: the op with its attributes and the arity.
    fn matches(&self, other: &Self) -> bool {
        match (self, other) {
            (TensorLang::Input(a), TensorLang::Input(b)) | (TensorLang::Const(a), TensorLang::Const(b)) => a == b,
            (TensorLang::Op(a, x), TensorLang::Op(b, y)) => x.len() == y.len() && a == b,
            (TensorLang::Project(a, _), TensorLang::Project(b, _)) => a == b,
            _ => false,
        }
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
