//! DAG-aware greedy extraction: picks one e-node per needed e-class so that the chosen graph,
//! costed as a DAG, is cheap.
//!
//! egg's `Extractor` costs trees: a subterm used twice is paid twice. Networks are DAGs (a
//! residual input, a conv read by two branches), so tree costs bias extraction against exactly
//! the terms that share work. Here the cost of choosing node `n` for class `X` is
//! `cost(n) + sum of cost(choice(c))` over the DISTINCT classes `c` reachable from `n`'s
//! children through the current choices (the union of their sub-DAGs), computed by a DFS with a
//! generation-stamped visited array. A candidate whose sub-DAG reaches `X` itself is skipped, so
//! the choices never form a cycle (each accepted choice is checked against the current ones).
//!
//! Classes are visited in post-order of a DFS from the roots over all e-nodes' children (children
//! before parents wherever the e-graph is acyclic), in passes, until a pass changes no choice or
//! [`MAX_PASSES`] passes ran; every pass recomputes costs from the current choices, so nothing is
//! stale. Only classes reachable from the roots are considered. Deterministic: classes are
//! ordered by that DFS (children in node order, nodes in egg's sorted order), and among
//! candidates of equal cost the first node wins.
//!
//! Why not an ILP (egg's `LpExtractor` via good_lp): it is exact, but on a 1,000-node network
//! the e-graph has thousands of classes and nodes, and a MIP with one binary per node plus
//! cycle-breaking constraints takes seconds to minutes with CBC (and needs the system
//! library); the optimizer's budget for the whole pipeline is well under 200 ms. The greedy DAG
//! extraction is a few passes of linear-ish work and is what extraction-gym found close to
//! ILP on tensor-graph benchmarks.

use super::analysis::EGraph;
use super::cost::CostModel;
use super::error::PassError;
use super::lang::TensorLang;
use egg::{Id, Language};
use std::collections::HashMap;

/// Most improvement passes.
pub const MAX_PASSES: usize = 16;

/// The chosen e-node of every class needed by the roots.
#[derive(Clone, Debug)]
pub struct Extraction {
    choices: HashMap<Id, TensorLang>,
    /// DAG cost (microseconds) of everything the roots need.
    pub cost: f64,
    /// Improvement passes run.
    pub passes: usize,
}

impl Extraction {
    /// The chosen node of class `id` (canonical), with canonical children.
    pub fn chosen(&self, eg: &EGraph, id: Id) -> Option<&TensorLang> {
        self.choices.get(&eg.find(id))
    }
    /// Number of classes with a choice.
    pub fn len(&self) -> usize {
        self.choices.len()
    }
    pub fn is_empty(&self) -> bool {
        self.choices.is_empty()
    }
}

/// One e-class in dense form.
struct Class {
    id: Id,
    /// (cost, children as dense indices) per node, in egg's node order.
    nodes: Vec<(f64, Vec<usize>)>,
}

struct Extractor {
    classes: Vec<Class>,
    choice: Vec<Option<usize>>,
    stamp: Vec<u32>,
    generation: u32,
}

/// Extracts the cheapest DAG (see the module docs) for `roots`.
pub fn extract(eg: &EGraph, roots: &[Id], model: &CostModel) -> Result<Extraction, PassError> {
    let (mut ex, order, root_idx) = Extractor::build(eg, roots, model);
    let mut passes = 0;
    while passes < MAX_PASSES {
        passes += 1;
        let mut changed = false;
        for &c in &order {
            changed |= ex.improve(c);
        }
        if !changed {
            break;
        }
    }
    let mut choices = HashMap::new();
    for (i, class) in ex.classes.iter().enumerate() {
        if let Some(n) = ex.choice[i] {
            choices.insert(class.id, eg[class.id].nodes[n].clone().map_children(|c| eg.find(c)));
        }
    }
    for (&r, &i) in roots.iter().zip(&root_idx) {
        if ex.choice[i].is_none() {
            return Err(PassError::Extract(format!("no finite-cost term for root class {r} ({:?})", eg[r].data.name)));
        }
    }
    let cost = ex.dag_cost(&root_idx, usize::MAX).unwrap_or(f64::INFINITY);
    Ok(Extraction { choices, cost, passes })
}

impl Extractor {
    /// Dense classes reachable from `roots`, their post-order, and the roots' indices.
    fn build(eg: &EGraph, roots: &[Id], model: &CostModel) -> (Extractor, Vec<usize>, Vec<usize>) {
        let mut index: HashMap<Id, usize> = HashMap::new();
        let mut classes: Vec<Class> = Vec::new();
        let mut order = Vec::new();
        // Iterative DFS: (class, expanded?)
        let mut stack: Vec<(Id, bool)> = roots.iter().rev().map(|&r| (eg.find(r), false)).collect();
        while let Some((id, expanded)) = stack.pop() {
            if expanded {
                order.push(index[&id]);
                continue;
            }
            if index.contains_key(&id) {
                continue;
            }
            index.insert(id, classes.len());
            classes.push(Class { id, nodes: Vec::new() });
            stack.push((id, true));
            let kids: Vec<Id> = eg[id].nodes.iter().flat_map(|n| n.children().iter().map(|&c| eg.find(c))).collect();
            for c in kids.into_iter().rev() {
                if !index.contains_key(&c) {
                    stack.push((c, false));
                }
            }
        }
        for class in classes.iter_mut() {
            class.nodes = eg[class.id]
                .nodes
                .iter()
                .map(|n| {
                    let kids = n.children().iter().map(|&c| index[&eg.find(c)]).collect();
                    (model.enode_cost(eg, class.id, n), kids)
                })
                .collect();
        }
        let root_idx = roots.iter().map(|&r| index[&eg.find(r)]).collect();
        let n = classes.len();
        (Extractor { classes, choice: vec![None; n], stamp: vec![0; n], generation: 0 }, order, root_idx)
    }

    /// Re-chooses class `c` from the current choices; true when its choice changed.
    ///
    /// Candidates of one class mostly read the same few classes (fused variants of one chain),
    /// so the sub-DAG cost is memoised per set of distinct non-leaf children; leaf children
    /// (chosen as an input or a constant) cost 0 and are skipped.
    fn improve(&mut self, c: usize) -> bool {
        let mut best: Option<(f64, usize)> = None;
        let mut memo: Vec<(Vec<usize>, Option<f64>)> = Vec::new();
        for n in 0..self.classes[c].nodes.len() {
            let cost = self.classes[c].nodes[n].0;
            if !cost.is_finite() {
                continue;
            }
            let Some(key) = self.inner_children(c, n) else { continue };
            let below = match memo.iter().find(|(k, _)| *k == key) {
                Some((_, below)) => *below,
                None => {
                    let below = self.dag_cost(&key, c);
                    memo.push((key, below));
                    below
                }
            };
            let Some(below) = below else { continue };
            let total = cost + below;
            if best.is_none_or(|(b, _)| total < b) {
                best = Some((total, n));
            }
        }
        let new = best.map(|(_, n)| n);
        let changed = new.is_some() && new != self.choice[c];
        if changed {
            self.choice[c] = new;
        }
        changed
    }

    /// The distinct children of node `n` of class `c` that are not leaves, sorted; `None` when
    /// a child has no choice yet or is `c` itself.
    fn inner_children(&self, c: usize, n: usize) -> Option<Vec<usize>> {
        let mut key = Vec::new();
        for &k in &self.classes[c].nodes[n].1 {
            if k == c {
                return None;
            }
            let chosen = self.choice[k]?;
            if !self.classes[k].nodes[chosen].1.is_empty() {
                key.push(k);
            }
        }
        key.sort_unstable();
        key.dedup();
        Some(key)
    }

    /// Sum of the chosen nodes' costs over the distinct classes reachable from `starts`;
    /// `None` when a class has no choice yet or `forbid` is reachable (a cycle).
    fn dag_cost(&mut self, starts: &[usize], forbid: usize) -> Option<f64> {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
        let mut stack: Vec<usize> = starts.to_vec();
        let mut total = 0.0;
        while let Some(c) = stack.pop() {
            if self.stamp[c] == self.generation {
                continue;
            }
            self.stamp[c] = self.generation;
            if c == forbid {
                return None;
            }
            let n = self.choice[c]?;
            let (cost, kids) = &self.classes[c].nodes[n];
            total += cost;
            stack.extend(kids.iter().copied());
        }
        Some(total)
    }
}
