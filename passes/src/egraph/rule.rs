//! Rules as Rust functions: [`rule`] turns `find(egraph, class, node) -> Option<Term>` into an
//! egg [`Rewrite`](egg::Rewrite).
//!
//! Why not egg patterns: most kiln rewrites depend on attributes, shapes and constant values
//! (is this operand all ones and does it not broadcast the other bigger? do these two perms
//! compose to the identity? fold a BatchNorm into conv weights). Patterns would need a language
//! variant per attribute value plus conditions and custom appliers anyway. A `find` function
//! sees one e-node with the whole e-graph (types, constants, the other nodes of any class) and
//! builds the replacement as a [`Term`]: new e-nodes over existing classes.
//!
//! Mechanics: a rule names the node kinds its `find` can match ([`Visit`]: op kinds, or
//! `Project` nodes); the searcher visits only the classes egg indexes under those kinds
//! (`EGraph::classes_for_op`, kept by egg's rebuild) and calls `find` on those classes' nodes
//! of those kinds, not on every node of the e-graph (most rules rewrite one or two kinds out of
//! forty). It keeps the produced terms in a side table shared with the applier (a `Mutex<Vec<Term>>`); the table index goes
//! into the `Subst` under a private variable. egg searches all rules before applying any, and
//! the applier drains the table after applying, so indices always refer to this iteration's
//! search (a rule listed twice finds its entries gone the second time and does nothing).
//! A term whose nodes are all in the e-graph already, its root in the matched class (what every
//! match of earlier iterations finds again), is skipped after hash-cons lookups alone: no type
//! check, nothing added (a quarter of saturation time on the benchmark models).
//! Otherwise the applier first checks the whole term with `kiln_ir::infer_types` and requires
//! the root's types to equal the matched class's: an ill-typed term is dropped, never added, so
//! a buggy rule cannot corrupt the e-graph or union classes of different types. Then it adds
//! the nodes one by one, interning new constants into `TensorAnalysis::constants`, and unions
//! the root with the matched class. It reports a match only when the union changed something,
//! so egg's saturation check works.
//!
//! Every rule fires on every matching node in every iteration (idempotent thanks to
//! hash-consing); `optimize` uses egg's `SimpleScheduler`, because the default
//! `BackoffScheduler` bans a rule that matches more than 1,000 times in an iteration, which
//! a rule like `remove-identity` does on a large graph.

use super::analysis::{ClassData, EGraph};
use super::lang::{Discriminant, TensorLang};
use egg::{Applier, Id, Language, PatternAst, SearchMatches, Searcher, Subst, Symbol, Var};
use kiln_ir::{infer_types, Op, OpKind, Tensor, TensorType};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// An egg rewrite over the tensor language.
pub type Rewrite = egg::Rewrite<TensorLang, super::analysis::TensorAnalysis>;

/// A reference to a node of a [`Term`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TermRef(usize);

/// One node of a [`Term`].
#[derive(Clone, Debug)]
enum TermNode {
    Class(Id),
    Op(Op, Vec<TermRef>),
    Project(usize, TermRef),
    /// A new constant, interned by the applier.
    Constant(Arc<Tensor>),
    /// A constant already in the store.
    Stored(usize),
    /// A new derived constant, memoised under its key.
    Derived(String, Arc<Tensor>),
}

/// New e-nodes over existing e-classes; the last node added is the root.
#[derive(Clone, Debug, Default)]
pub struct Term {
    nodes: Vec<TermNode>,
}

impl Term {
    pub fn new() -> Term {
        Term::default()
    }
    /// An existing e-class.
    pub fn class(&mut self, id: Id) -> TermRef {
        self.push(TermNode::Class(id))
    }
    /// `op` applied to `children` (in the IR's operand order).
    pub fn op(&mut self, op: Op, children: &[TermRef]) -> TermRef {
        self.push(TermNode::Op(op, children.to_vec()))
    }
    /// Result `index` of a multi-result op term.
    pub fn project(&mut self, index: usize, tuple: TermRef) -> TermRef {
        self.push(TermNode::Project(index, tuple))
    }
    /// A new constant (interned by the applier: small constants by content, see `analysis`).
    pub fn constant(&mut self, t: Arc<Tensor>) -> TermRef {
        self.push(TermNode::Constant(t))
    }
    /// A constant derived from others (folded weights): `key` names the derivation
    /// (e.g. `"bn-fold:w#12:s#40"`); if the analysis already has a constant under `key` it is
    /// reused and `make` is NOT called (rules fire every iteration; folding must not be
    /// recomputed). A `make` that returns `None` is remembered and not called again.
    pub fn derived(&mut self, eg: &EGraph, key: String, make: impl FnOnce() -> Option<Tensor>) -> Option<TermRef> {
        if let Some(&k) = eg.analysis.derived.get(&key) {
            return Some(self.push(TermNode::Stored(k)));
        }
        if eg.analysis.derivation_failed(&key) {
            return None;
        }
        match make() {
            Some(t) => Some(self.push(TermNode::Derived(key, Arc::new(t)))),
            None => {
                eg.analysis.record_failed_derivation(key);
                None
            }
        }
    }
    /// The root (the last node added).
    pub fn root(&self) -> Option<TermRef> {
        self.nodes.len().checked_sub(1).map(TermRef)
    }
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn push(&mut self, n: TermNode) -> TermRef {
        self.nodes.push(n);
        TermRef(self.nodes.len() - 1)
    }

    /// The result types of every node, or `None` when a node is ill-typed or refers forward.
    fn types(&self, eg: &EGraph) -> Option<Vec<Vec<TensorType>>> {
        let mut out: Vec<Vec<TensorType>> = Vec::with_capacity(self.nodes.len());
        for (i, node) in self.nodes.iter().enumerate() {
            let single = |r: &TermRef| if r.0 < i { out[r.0].as_slice() } else { &[] };
            let types = match node {
                TermNode::Class(id) => eg[*id].data.types.clone(),
                TermNode::Op(op, kids) => {
                    let kid_types: Option<Vec<&TensorType>> =
                        kids.iter().map(|k| if let [t] = single(k) { Some(t) } else { None }).collect();
                    infer_types(op, &kid_types?).ok()?
                }
                TermNode::Project(j, t) => vec![single(t).get(*j)?.clone()],
                TermNode::Constant(t) | TermNode::Derived(_, t) => vec![t.ty()],
                TermNode::Stored(k) => vec![eg.analysis.constants.get(*k)?.ty()],
            };
            if types.is_empty() {
                return None;
            }
            out.push(types);
        }
        Some(out)
    }

    /// The root's class when every node of the term is already in the e-graph (nothing to add),
    /// found by hash-cons lookups without adding anything; `None` when some node is new.
    fn existing_root(&self, eg: &EGraph) -> Option<Id> {
        let mut ids: Vec<Id> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let id = match node {
                TermNode::Class(id) => eg.find(*id),
                TermNode::Op(op, kids) => {
                    let kids = kids.iter().map(|k| ids.get(k.0).copied()).collect::<Option<Vec<Id>>>()?;
                    eg.lookup(TensorLang::op_node(op.clone(), kids))?
                }
                TermNode::Project(j, t) => eg.lookup(TensorLang::Project(*j, [*ids.get(t.0)?]))?,
                TermNode::Stored(k) => eg.lookup(TensorLang::Const(*k))?,
                TermNode::Derived(key, _) => eg.lookup(TensorLang::Const(*eg.analysis.derived.get(key)?))?,
                TermNode::Constant(_) => return None,
            };
            ids.push(id);
        }
        ids.last().copied()
    }

    /// Adds the term's nodes (already type-checked) and returns the root's class.
    fn add_to(&self, eg: &mut EGraph) -> Option<Id> {
        let mut ids: Vec<Id> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let id = match node {
                TermNode::Class(id) => eg.find(*id),
                TermNode::Op(op, kids) => {
                    let kids = kids.iter().map(|k| ids[k.0]).collect();
                    eg.add(TensorLang::op_node(op.clone(), kids))
                }
                TermNode::Project(j, t) => eg.add(TensorLang::Project(*j, [ids[t.0]])),
                TermNode::Constant(t) => {
                    let k = eg.analysis.intern(t.clone());
                    eg.add(TensorLang::Const(k))
                }
                TermNode::Stored(k) => eg.add(TensorLang::Const(*k)),
                TermNode::Derived(key, t) => {
                    let k = eg.analysis.intern_derived(key.clone(), t.clone());
                    eg.add(TensorLang::Const(k))
                }
            };
            ids.push(id);
        }
        ids.last().copied()
    }
}

/// The private variable that carries a term's table index.
fn term_var() -> Var {
    Var::from_u32(0)
}

/// What a rule's `find` may return: `Option<Term>` (the usual case) or `Vec<Term>` (several
/// alternatives for one node).
pub trait Found: 'static {
    /// Calls `f` on every term found.
    fn each(self, f: impl FnMut(Term));
}

impl Found for Option<Term> {
    fn each(self, f: impl FnMut(Term)) {
        self.into_iter().for_each(f)
    }
}

impl Found for Vec<Term> {
    fn each(self, f: impl FnMut(Term)) {
        self.into_iter().for_each(f)
    }
}

/// The nodes a rule's `find` is called on (see the module docs). `find` must return nothing for
/// every other node; `tests::the_kind_index_changes_no_result` checks that on model graphs.
#[derive(Clone, Copy, Debug)]
pub enum Visit {
    /// Op nodes of these kinds.
    Ops(&'static [OpKind]),
    /// `Project` nodes (results of multi-result ops).
    Projects,
}

impl Visit {
    fn covers(&self, node: &TensorLang) -> bool {
        if full_scan() {
            return true;
        }
        match (self, node.discriminant()) {
            (Visit::Ops(kinds), Discriminant::Op(k)) => kinds.contains(&k),
            (Visit::Projects, Discriminant::Project) => true,
            _ => false,
        }
    }
    fn discriminants(&self) -> Vec<Discriminant> {
        match self {
            Visit::Ops(kinds) => kinds.iter().map(|&k| Discriminant::Op(k)).collect(),
            Visit::Projects => vec![Discriminant::Project],
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Tests turn the index off to compare with a search of every node.
    pub(crate) static FULL_SCAN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn full_scan() -> bool {
    #[cfg(test)]
    return FULL_SCAN.with(|f| f.get());
    #[cfg(not(test))]
    false
}

/// Searcher and applier of one rule, sharing the table of found terms.
struct FnRule<R> {
    find: fn(&EGraph, Id, &TensorLang) -> R,
    visit: Visit,
    table: Arc<Mutex<Vec<Term>>>,
}

impl<R: Found> FnRule<R> {
    /// The matches of `class`'s nodes, at most `limit`, their terms pushed onto `table`.
    fn search_class(
        &self,
        eg: &EGraph,
        class: Id,
        limit: usize,
        table: &mut Vec<Term>,
    ) -> Option<SearchMatches<'_, TensorLang>> {
        let class = eg.find(class);
        let mut substs = Vec::new();
        for node in eg[class].nodes.iter().filter(|n| self.visit.covers(n)) {
            if substs.len() >= limit {
                break;
            }
            (self.find)(eg, class, node).each(|term| {
                if !term.is_empty() {
                    table.push(term);
                    let mut s = Subst::with_capacity(1);
                    s.insert(term_var(), Id::from(table.len() - 1));
                    substs.push(s);
                }
            });
        }
        (!substs.is_empty()).then_some(SearchMatches { eclass: class, substs, ast: None })
    }
}

impl<R> FnRule<R> {
    /// The classes to search, each once, in `EGraph::classes` order (the order of a full scan:
    /// the table's order decides which terms the node limit keeps, so the index changes no
    /// result).
    fn classes(&self, eg: &EGraph) -> Vec<Id> {
        if full_scan() {
            return eg.classes().map(|c| c.id).collect();
        }
        let wanted: HashSet<Id> =
            self.visit.discriminants().iter().filter_map(|d| eg.classes_for_op(d)).flatten().collect();
        if wanted.is_empty() {
            return Vec::new();
        }
        eg.classes().map(|c| c.id).filter(|id| wanted.contains(id)).collect()
    }
}

impl<R: Found> Searcher<TensorLang, super::analysis::TensorAnalysis> for FnRule<R> {
    fn search_eclass_with_limit(&self, eg: &EGraph, eclass: Id, limit: usize) -> Option<SearchMatches<'_, TensorLang>> {
        let Ok(mut table) = self.table.lock() else { return None };
        self.search_class(eg, eclass, limit, &mut table)
    }
    /// The classes holding the visited kinds, with the table locked once (not once per node).
    fn search_with_limit(&self, eg: &EGraph, limit: usize) -> Vec<SearchMatches<'_, TensorLang>> {
        let Ok(mut table) = self.table.lock() else { return Vec::new() };
        let mut out = Vec::new();
        let mut found = 0;
        for class in self.classes(eg) {
            if found >= limit {
                break;
            }
            if let Some(m) = self.search_class(eg, class, limit - found, &mut table) {
                found += m.substs.len();
                out.push(m);
            }
        }
        out
    }
    fn vars(&self) -> Vec<Var> {
        vec![term_var()]
    }
}

impl<R: Found> Applier<TensorLang, super::analysis::TensorAnalysis> for FnRule<R> {
    fn apply_matches(&self, eg: &mut EGraph, matches: &[SearchMatches<TensorLang>], _: Symbol) -> Vec<Id> {
        // The table is this iteration's: taken (not cloned term by term), and left empty.
        let table = match self.table.lock() {
            Ok(mut table) => std::mem::take(&mut *table),
            Err(_) => return Vec::new(),
        };
        let mut changed = Vec::new();
        for m in matches {
            for s in &m.substs {
                let term = s.get(term_var()).and_then(|&i| table.get(usize::from(i)));
                changed.extend(term.and_then(|t| apply_term(eg, m.eclass, t)));
            }
        }
        changed
    }

    fn apply_one(
        &self,
        eg: &mut EGraph,
        eclass: Id,
        subst: &Subst,
        _: Option<&PatternAst<TensorLang>>,
        _: Symbol,
    ) -> Vec<Id> {
        let Some(&index) = subst.get(term_var()) else { return vec![] };
        let term = match self.table.lock() {
            Ok(table) => table.get(usize::from(index)).cloned(),
            Err(_) => None,
        };
        term.and_then(|t| apply_term(eg, eclass, &t)).into_iter().collect()
    }

    fn vars(&self) -> Vec<Var> {
        vec![term_var()]
    }
}

/// Adds `term` and unions its root with `eclass`; `Some(eclass)` when that changed the e-graph.
fn apply_term(eg: &mut EGraph, eclass: Id, term: &Term) -> Option<Id> {
    // Rules fire on every match in every iteration: a term found before is already in the
    // e-graph, and in the class; skip its type check and additions.
    if term.existing_root(eg).is_some_and(|root| eg.find(root) == eg.find(eclass)) {
        return None;
    }
    let types = term.types(eg)?;
    if types.last() != Some(&eg[eclass].data.types) {
        return None;
    }
    let root = term.add_to(eg)?;
    eg.union(root, eclass).then_some(eclass)
}

/// A rule: `find` sees one e-node of one e-class and returns a term equal to that class, or
/// `None` (or a `Vec` of such terms, see [`Found`]). Names are kebab-case (`remove-identity`).
/// `visit` names the nodes `find` can match (see [`Visit`]).
pub fn rule<R: Found>(name: &str, visit: Visit, find: fn(&EGraph, Id, &TensorLang) -> R) -> Rewrite {
    let table = Arc::new(Mutex::new(Vec::new()));
    let searcher = FnRule { find, visit, table: table.clone() };
    let applier = FnRule { find, visit, table };
    // Both sides bind exactly `term_var()`, the only way `Rewrite::new` can fail.
    Rewrite::new(name, searcher, applier).expect("a rule binds its only variable")
}

/// The type of a single-result class.
pub fn ty(eg: &EGraph, id: Id) -> Option<&TensorType> {
    eg[id].data.ty()
}

/// The value of a constant class.
pub fn constant(eg: &EGraph, id: Id) -> Option<&Arc<Tensor>> {
    eg[id].data.constant.as_ref()
}

/// The analysis data of a class.
pub fn data(eg: &EGraph, id: Id) -> &ClassData {
    &eg[id].data
}

/// The op nodes of a class with their (canonical after a rebuild) children.
pub fn ops(eg: &EGraph, id: Id) -> impl Iterator<Item = (&Op, &[Id])> {
    eg[id].nodes.iter().filter_map(|n| n.op().map(|op| (op, n.children())))
}

/// The children of `node` as canonical class ids (as rules compare them with `eg.find(..)`).
pub fn children(eg: &EGraph, node: &TensorLang) -> Vec<Id> {
    node.children().iter().map(|&c| eg.find(c)).collect()
}

/// A name for the constant of class `id` (its store index, `c12`), for `Term::derived` keys;
/// `None` when the class has no constant node.
pub fn const_key(eg: &EGraph, id: Id) -> Option<String> {
    eg[id].nodes.iter().find_map(|n| if let TensorLang::Const(i) = n { Some(format!("c{i}")) } else { None })
}

#[cfg(test)]
mod tests {
    use super::FULL_SCAN;
    use crate::egraph::{optimize, testing::residual_net, CostModel, OptConfig};
    use crate::rules::all_rules;
    use kiln_ir::{parse_graph, print_graph, Graph};

    /// The graphs before optimization of every rule family's insta snapshots (each rule has
    /// one), plus a residual network.
    fn corpus() -> Vec<(String, Graph)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots");
        let mut out = vec![("residual_net".to_string(), residual_net(3))];
        let mut paths: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap();
            let body = text.splitn(3, "---\n").nth(2).unwrap();
            let before: Vec<String> = body.split("--- after ---").next().unwrap().lines().map(with_data).collect();
            let graph = parse_graph(&before.join("\n")).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.push((path.display().to_string(), graph));
        }
        out
    }

    /// A summarised constant (`const <108 elements, min -0.3, max 0.3>`) given data in its range.
    fn with_data(line: &str) -> String {
        let Some((head, summary)) = line.split_once("const <") else { return line.to_string() };
        let words: Vec<&str> = summary.trim_end_matches('>').split([' ', ',']).filter(|w| !w.is_empty()).collect();
        let [n, "elements", "min", lo, "max", hi] = words[..] else { return line.to_string() };
        let (n, lo, hi): (usize, f64, f64) = (n.parse().unwrap(), lo.parse().unwrap(), hi.parse().unwrap());
        let is_float = head.contains(": f");
        let value = |i: usize| lo + (hi - lo) * ((i * 7919 % 101) as f64 / 100.0);
        let items: Vec<String> = (0..n)
            .map(|i| if is_float { format!("{:?}", value(i) as f32) } else { format!("{}", value(i).round()) })
            .collect();
        format!("{head}const [{}]", items.join(", "))
    }

    fn optimized(g: &Graph, cost: &CostModel, full_scan: bool) -> String {
        FULL_SCAN.with(|f| f.set(full_scan));
        let result = optimize(g, &all_rules(2), &OptConfig { cost: cost.clone(), ..OptConfig::default() });
        FULL_SCAN.with(|f| f.set(false));
        match result {
            Ok((out, _)) => print_graph(&out, false),
            Err(e) => format!("error: {e}"),
        }
    }

    /// A rule whose `Visit` missed a kind its `find` matches would skip those matches: the
    /// indexed search must give what a search of every node gives.
    #[test]
    fn the_kind_index_changes_no_result() {
        let corpus = corpus();
        assert!(corpus.len() > 25, "found {} snapshot graphs", corpus.len());
        for (name, g) in &corpus {
            // Channels-last graphs have a cost only where NHWC kernels exist.
            let mut extracted = 0;
            for cost in [CostModel::default(), CostModel::for_target(Some(512))] {
                let indexed = optimized(g, &cost, false);
                extracted += usize::from(!indexed.starts_with("error"));
                assert_eq!(indexed, optimized(g, &cost, true), "{name}");
            }
            assert!(extracted > 0, "{name}: no cost model extracts it");
        }
    }
}
