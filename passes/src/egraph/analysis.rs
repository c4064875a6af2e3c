//! The e-class analysis: per class the result types, the constant value (when known) and the
//! original node's names.
//!
//! - Types come from `kiln_ir::infer_types` on the children's types, so every class carries the
//!   IR's static types and the cost model and rules can read shapes. Rules cannot add a node
//!   whose types fail to infer (the applier in `rule.rs` checks first); a node added some other
//!   way that does not infer gets no types, and the extractor never chooses it.
//! - Constant folding comes for free: when every child is constant and the work is small (result
//!   at most [`FOLD_MAX_OUTPUT`] elements, inputs at most [`FOLD_MAX_INPUTS`] elements together)
//!   `make` evaluates the op with `kiln_ir::eval_op`. When [`TensorAnalysis::fold`] is set,
//!   `modify` then adds a `Const` node to the class, which the extractor prefers (cost 0).
//!   `optimize` sets `fold` only when it runs rules, so that optimizing with no rules is an
//!   identity.
//! - Constants live in [`TensorAnalysis::constants`] as shared `Arc`s and `Const(k)` nodes index
//!   them. New constants are interned: by pointer, and by content for tensors up to
//!   [`CONTENT_INTERN_LIMIT`] elements (hashing megabytes of weights on every rule firing would
//!   cost more than it saves), so a rule that builds the same small constant every iteration
//!   adds one node, not one per iteration. Large derived constants (folded weights) are memoised
//!   by their derivation key (`derived`), see `Term::derived`.
//! - `merge` requires equal types (debug-asserted; a release build keeps the first), keeps a
//!   known constant, and keeps the names of the original definition that comes first
//!   (inputs, then constants, then nodes in graph order): diagnostics name the node the user wrote.

use super::lang::TensorLang;
use egg::{Analysis, DidMerge, Id};
use kiln_ir::{eval_op, infer_types, Tensor, TensorType};
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

/// The e-graph of the optimizer.
pub type EGraph = egg::EGraph<TensorLang, TensorAnalysis>;

/// Largest result (elements) the analysis folds.
pub const FOLD_MAX_OUTPUT: usize = 4096;
/// Largest total input size (elements) the analysis folds: bounds the evaluation work.
pub const FOLD_MAX_INPUTS: usize = 1 << 16;
/// Constants up to this many elements are interned by content.
pub const CONTENT_INTERN_LIMIT: usize = 1 << 16;

/// What the analysis knows about one e-class.
#[derive(Clone, Debug, Default)]
pub struct ClassData {
    /// One per result: several for the tuple class of a multi-result op (Split).
    pub types: Vec<TensorType>,
    /// The class's value when it is constant.
    pub constant: Option<Arc<Tensor>>,
    /// The ONNX node name of the original node (empty for classes rules created).
    pub name: String,
    /// The original value names, one per result (empty where there is none).
    pub values: Vec<String>,
    /// Rank of the original definition: graph inputs, then constant values, then node results,
    /// in graph order; `None` for classes that rules created. The lowest rank names a class.
    pub origin: Option<usize>,
    /// How many times the original graph reads the class's value (node inputs plus graph
    /// outputs); 0 for classes rules created. Merged by maximum: classes merge when they are
    /// equal, and the merged value is read by the readers of either, which the maximum bounds
    /// from below without double counting a reader that both had (x*1 = x). The fusion rules use
    /// it to avoid inlining a value that other consumers need too (which would recompute it).
    pub uses: usize,
}

impl ClassData {
    /// The type of a single-result class.
    pub fn ty(&self) -> Option<&TensorType> {
        match self.types.as_slice() {
            [t] => Some(t),
            _ => None,
        }
    }
}

/// The analysis state: the constant store and the derivation memo.
#[derive(Debug, Default)]
pub struct TensorAnalysis {
    /// Constant store; `TensorLang::Const(k)` is `constants[k]`.
    pub constants: Vec<Arc<Tensor>>,
    /// Types of the graph inputs; `TensorLang::Input(i)` has `input_types[i]`.
    pub input_types: Vec<TensorType>,
    /// Derivation key (e.g. `bn-fold:w#12:s#40`) -> constant index.
    pub derived: HashMap<String, usize>,
    /// Whether `modify` adds a `Const` node to classes whose value is known.
    pub fold: bool,
    /// Content hash -> constants with that hash (small constants only).
    by_content: HashMap<u64, Vec<usize>>,
    /// Derivation keys whose `make` returned `None`, so it is not called again.
    failed: Mutex<HashSet<String>>,
}

impl TensorAnalysis {
    /// An analysis for a graph with these input types and constants (indices kept).
    pub fn new(input_types: Vec<TensorType>, constants: Vec<Arc<Tensor>>) -> TensorAnalysis {
        let mut a = TensorAnalysis { input_types, ..Default::default() };
        for c in constants {
            a.push_constant(c);
        }
        a
    }

    /// The index of `t` in the store, adding it when it is new (see the module docs).
    pub fn intern(&mut self, t: Arc<Tensor>) -> usize {
        if let Some(k) = self.constants.iter().position(|c| Arc::ptr_eq(c, &t)) {
            return k;
        }
        if let Some(h) = content_hash(&t) {
            let same = |k: &&usize| same_content(&self.constants[**k], &t);
            if let Some(&k) = self.by_content.get(&h).and_then(|ks| ks.iter().find(same)) {
                return k;
            }
        }
        self.push_constant(t)
    }

    /// Interns `t` as the constant derived under `key`.
    pub fn intern_derived(&mut self, key: String, t: Arc<Tensor>) -> usize {
        if let Some(&k) = self.derived.get(&key) {
            return k;
        }
        let k = self.intern(t);
        self.derived.insert(key, k);
        k
    }

    /// True when the derivation `key` was tried and gave nothing.
    pub fn derivation_failed(&self, key: &str) -> bool {
        self.failed.lock().map(|f| f.contains(key)).unwrap_or(false)
    }

    /// Records that the derivation `key` gives nothing.
    pub fn record_failed_derivation(&self, key: String) {
        if let Ok(mut f) = self.failed.lock() {
            f.insert(key);
        }
    }

    fn push_constant(&mut self, t: Arc<Tensor>) -> usize {
        let k = self.constants.len();
        if let Some(h) = content_hash(&t) {
            self.by_content.entry(h).or_default().push(k);
        }
        self.constants.push(t);
        k
    }
}

/// Hash of dtype, shape and bytes; `None` for tensors too large to intern by content.
fn content_hash(t: &Tensor) -> Option<u64> {
    if t.numel() > CONTENT_INTERN_LIMIT {
        return None;
    }
    let mut h = DefaultHasher::new();
    t.dtype().hash(&mut h);
    t.shape().hash(&mut h);
    t.to_le_bytes().hash(&mut h);
    Some(h.finish())
}

/// Bit-exact equality (NaNs with equal bits are equal, `0.0` and `-0.0` differ).
fn same_content(a: &Tensor, b: &Tensor) -> bool {
    a.dtype() == b.dtype() && a.shape() == b.shape() && a.to_le_bytes() == b.to_le_bytes()
}

impl Analysis<TensorLang> for TensorAnalysis {
    type Data = ClassData;

    fn make(eg: &mut EGraph, enode: &TensorLang, _id: Id) -> ClassData {
        let a = &eg.analysis;
        match enode {
            TensorLang::Input(i) => {
                ClassData { types: a.input_types.get(*i).cloned().into_iter().collect(), ..Default::default() }
            }
            TensorLang::Const(k) => match a.constants.get(*k) {
                Some(t) => ClassData { types: vec![t.ty()], constant: Some(t.clone()), ..Default::default() },
                None => ClassData::default(),
            },
            TensorLang::Op(key, children) => make_op(eg, key.op(), children),
            TensorLang::Project(i, [t]) => {
                ClassData { types: eg[*t].data.types.get(*i).cloned().into_iter().collect(), ..Default::default() }
            }
        }
    }

    fn merge(&mut self, a: &mut ClassData, b: ClassData) -> DidMerge {
        debug_assert!(
            a.types == b.types || a.types.is_empty() || b.types.is_empty(),
            "merging classes of different types: {:?} and {:?} ({:?} / {:?})",
            a.types,
            b.types,
            a.name,
            b.name
        );
        let mut did = DidMerge(false, false);
        if a.types.is_empty() != b.types.is_empty() {
            did = if a.types.is_empty() { DidMerge(true, false) } else { DidMerge(false, true) };
            if a.types.is_empty() {
                a.types = b.types.clone();
            }
        }
        match (&a.constant, &b.constant) {
            (None, Some(_)) => {
                a.constant = b.constant.clone();
                did.0 = true;
            }
            (Some(_), None) => did.1 = true,
            _ => {}
        }
        if b.uses > a.uses {
            a.uses = b.uses;
            did.0 = true;
        }
        if rank(b.origin) < rank(a.origin) {
            a.name = b.name;
            a.values = b.values;
            a.origin = b.origin;
        }
        did
    }

    fn modify(eg: &mut EGraph, id: Id) {
        if !eg.analysis.fold {
            return;
        }
        let Some(c) = eg[id].data.constant.clone() else { return };
        if eg[id].nodes.iter().any(|n| matches!(n, TensorLang::Const(_))) {
            return;
        }
        let k = eg.analysis.intern(c);
        let cid = eg.add(TensorLang::Const(k));
        eg.union(id, cid);
    }
}

fn rank(origin: Option<usize>) -> usize {
    origin.unwrap_or(usize::MAX)
}

/// Types (and the folded value) of an op node.
fn make_op(eg: &EGraph, op: &kiln_ir::Op, children: &[Id]) -> ClassData {
    let kids: Option<Vec<&TensorType>> = children.iter().map(|&c| eg[c].data.ty()).collect();
    let Some(kids) = kids else { return ClassData::default() };
    let types = infer_types(op, &kids).unwrap_or_default();
    let constant = if types.len() == 1 { fold(eg, op, children, &types[0]) } else { None };
    ClassData { types, constant, ..Default::default() }
}

/// The op's value when all children are small constants.
fn fold(eg: &EGraph, op: &kiln_ir::Op, children: &[Id], out: &TensorType) -> Option<Arc<Tensor>> {
    if out.numel() > FOLD_MAX_OUTPUT || children.is_empty() {
        return None;
    }
    let values: Option<Vec<&Arc<Tensor>>> = children.iter().map(|&c| eg[c].data.constant.as_ref()).collect();
    let values = values?;
    if values.iter().map(|t| t.numel()).sum::<usize>() > FOLD_MAX_INPUTS {
        return None;
    }
    let refs: Vec<&Tensor> = values.iter().map(|t| t.as_ref()).collect();
    let t = eval_op(op, &refs).ok()?.into_iter().next()?;
    (&t.ty() == out).then(|| Arc::new(t))
}
