//! Conversion between `kiln_ir::Graph` and the e-graph.
//!
//! Graph -> e-graph ([`to_egraph`]): graph inputs become `Input(i)`, every constant value
//! `Const(k)` with `k` its `ConstId` (the `Arc` is shared, not copied), every node an `Op` e-node
//! over its inputs' classes, in graph order; a multi-result node (Split) is one tuple class with
//! a `Project(i)` class per result. Each class records its original names (node name, value
//! names) and its rank in the graph (`ClassData::origin`). Graph outputs are the roots.
//! Hash-consing merges identical nodes (same op, same inputs): common subexpressions are shared.
//!
//! E-graph -> graph ([`to_graph`]): the extracted nodes are emitted in a deterministic
//! topological order: a post-order DFS from the roots in output order, children in operand
//! order. Graph inputs are kept in order even if unused; each constant is re-added once. A new
//! node gets its class's original node name (a generated one for classes rules created) and
//! its results the class's value names. Output values keep their original names; an output whose
//! class extracts to a graph input or a constant, or whose value is already an earlier output,
//! gets an `Op::Identity` node (the IR's rule for outputs that copy).

use super::analysis::{ClassData, EGraph, TensorAnalysis};
use super::error::PassError;
use super::extract::Extraction;
use super::lang::TensorLang;
use egg::Id;
use kiln_ir::{Graph, Op, TensorType, ValueDef, ValueId};
use std::collections::HashMap;
use std::sync::Arc;

/// The e-graph of `graph` and its roots (one class per graph output). With `fold`, the analysis
/// adds folded constants to classes (see `analysis`).
pub fn to_egraph(graph: &Graph, fold: bool) -> Result<(EGraph, Vec<Id>), PassError> {
    let input_types = graph.inputs.iter().map(|&v| graph.ty(v).clone()).collect();
    let constants = graph.constants.iter().map(|(_, t)| t.clone()).collect();
    let mut analysis = TensorAnalysis::new(input_types, constants);
    analysis.fold = fold;
    let mut eg = EGraph::new(analysis);
    let ni = graph.inputs.len();
    let nv = graph.values.len();
    let mut class_of: Vec<Option<Id>> = vec![None; nv];
    for (i, &v) in graph.inputs.iter().enumerate() {
        let id = eg.add(TensorLang::Input(i));
        name_class(&mut eg, id, "", &[&graph.value(v).name], i);
        class_of[v.index()] = Some(id);
    }
    for (v, value) in graph.values.iter() {
        if let ValueDef::Const(c) = value.def {
            let id = eg.add(TensorLang::Const(c.index()));
            name_class(&mut eg, id, "", &[&value.name], ni + v.index());
            class_of[v.index()] = Some(id);
        }
    }
    for (n, node) in graph.nodes.iter() {
        let kids: Option<Vec<Id>> = node.inputs.iter().map(|v| class_of.get(v.index()).copied().flatten()).collect();
        let kids =
            kids.ok_or_else(|| PassError::node(&node.name, node.op.name(), "an input is not defined before the node"))?;
        let id = eg.add(TensorLang::op_node(node.op.clone(), kids));
        let rank = ni + nv + n.index();
        let names: Vec<&str> = node.outputs.iter().map(|&o| graph.value(o).name.as_str()).collect();
        name_class(&mut eg, id, &node.name, &names, rank);
        if let [out] = node.outputs.as_slice() {
            class_of[out.index()] = Some(id);
            continue;
        }
        for (i, &out) in node.outputs.iter().enumerate() {
            let p = eg.add(TensorLang::Project(i, [id]));
            name_class(&mut eg, p, &node.name, &[names[i]], rank);
            class_of[out.index()] = Some(p);
        }
    }
    let roots: Option<Vec<Id>> = graph.outputs.iter().map(|v| class_of.get(v.index()).copied().flatten()).collect();
    let roots = roots.ok_or_else(|| PassError::Extract("a graph output is not defined".into()))?;
    let reads = graph.nodes.iter().flat_map(|(_, n)| n.inputs.iter()).chain(&graph.outputs);
    for id in reads.filter_map(|v| class_of.get(v.index()).copied().flatten()) {
        eg[id].data.uses += 1;
    }
    eg.rebuild();
    Ok((eg, roots))
}

/// Sets a class's original names unless an earlier definition already named it.
fn name_class(eg: &mut EGraph, id: Id, node: &str, values: &[&str], rank: usize) {
    let d = &mut eg[id].data;
    if d.origin.is_none_or(|o| rank < o) {
        d.name = node.to_string();
        d.values = values.iter().map(|s| s.to_string()).collect();
        d.origin = Some(rank);
    }
}

/// Builds the graph of the extraction; `original` gives input and output names and types.
pub fn to_graph(eg: &EGraph, ex: &Extraction, original: &Graph, roots: &[Id]) -> Result<Graph, PassError> {
    let mut b = Builder { eg, ex, g: Graph::new(), values: HashMap::new(), consts: HashMap::new(), fresh: 0 };
    for &v in &original.inputs {
        let value = original.value(v);
        b.g.add_input(value.name.clone(), value.ty.clone());
    }
    for &r in roots {
        b.emit(r)?;
    }
    for (&orig, &r) in original.outputs.iter().zip(roots) {
        b.add_output(original.value(orig).name.clone(), r)?;
    }
    Ok(b.g)
}

struct Builder<'a> {
    eg: &'a EGraph,
    ex: &'a Extraction,
    g: Graph,
    /// Class -> its values (several for a tuple class).
    values: HashMap<Id, Vec<ValueId>>,
    /// Constant index -> its value.
    consts: HashMap<usize, ValueId>,
    fresh: usize,
}

impl<'a> Builder<'a> {
    /// Emits class `root` and everything it needs, children first (iterative DFS).
    fn emit(&mut self, root: Id) -> Result<(), PassError> {
        let mut in_progress: HashMap<Id, ()> = HashMap::new();
        let mut stack = vec![(self.eg.find(root), false)];
        while let Some((id, expanded)) = stack.pop() {
            if self.values.contains_key(&id) {
                continue;
            }
            let node = self.chosen(id)?;
            if expanded {
                in_progress.remove(&id);
                let vals = self.emit_node(id, node)?;
                self.values.insert(id, vals);
                continue;
            }
            in_progress.insert(id, ());
            stack.push((id, true));
            if node.op().is_some_and(Op::is_compile_time) {
                continue; // its operands are read from the analysis, not emitted (`evaluate`)
            }
            for &c in egg::Language::children(node).iter().rev() {
                if in_progress.contains_key(&c) {
                    return Err(PassError::Extract(format!("extraction has a cycle through class {c}")));
                }
                if !self.values.contains_key(&c) {
                    stack.push((c, false));
                }
            }
        }
        Ok(())
    }

    fn chosen(&self, id: Id) -> Result<&'a TensorLang, PassError> {
        let (eg, ex) = (self.eg, self.ex);
        ex.chosen(eg, id)
            .ok_or_else(|| PassError::Extract(format!("class {id} ({:?}) has no extracted node", eg[id].data.name)))
    }

    /// Adds the graph entity of one chosen node whose children are emitted.
    fn emit_node(&mut self, id: Id, node: &TensorLang) -> Result<Vec<ValueId>, PassError> {
        let data = &self.eg[id].data;
        match node {
            TensorLang::Input(i) => {
                let v = self.g.inputs.get(*i).copied();
                v.map(|v| vec![v]).ok_or_else(|| PassError::Extract(format!("graph input {i} does not exist")))
            }
            TensorLang::Const(k) => Ok(vec![self.constant(*k, data)?]),
            TensorLang::Project(i, [t]) => {
                let v = self.values.get(t).and_then(|vs| vs.get(*i)).copied();
                v.map(|v| vec![v]).ok_or_else(|| PassError::Extract(format!("class {t} has no result {i}")))
            }
            TensorLang::Op(key, kids) => {
                let name = if data.name.is_empty() { self.fresh_name(key.op()) } else { data.name.clone() };
                if key.op().is_compile_time() {
                    return Ok(vec![self.evaluate(&name, key.op(), kids)?]);
                }
                let inputs = kids.iter().map(|k| self.single(*k)).collect::<Result<Vec<_>, _>>()?;
                let outputs = result_names(data)
                    .into_iter()
                    .zip(data.types.iter().cloned())
                    .collect::<Vec<(String, TensorType)>>();
                if outputs.is_empty() {
                    return Err(PassError::node(&name, key.op().name(), "the class has no types"));
                }
                let n = self.g.add_node(name, key.op().clone(), inputs, outputs);
                Ok(self.g.nodes[n].outputs.clone())
            }
        }
    }

    fn constant(&mut self, k: usize, data: &ClassData) -> Result<ValueId, PassError> {
        if let Some(&v) = self.consts.get(&k) {
            return Ok(v);
        }
        let t = self
            .eg
            .analysis
            .constants
            .get(k)
            .ok_or_else(|| PassError::Extract(format!("constant #{k} does not exist")))?;
        let name = data.values.first().cloned().unwrap_or_default();
        let v = self.g.add_const(name, t.clone());
        self.consts.insert(k, v);
        Ok(v)
    }

    /// Evaluates the compile-time op `op` (`Op::is_compile_time`) on the constant classes
    /// `operands` and adds the result as a constant: such ops only exist on constant operands and
    /// no kernel implements them, so the extracted graph carries their values. The operands are
    /// read from the analysis and not added to the graph (they would be dead weights).
    fn evaluate(&mut self, name: &str, op: &Op, operands: &[Id]) -> Result<ValueId, PassError> {
        let args = operands
            .iter()
            .map(|&c| {
                let t = self.eg[c].data.constant.as_deref();
                t.ok_or_else(|| PassError::node(name, op.name(), "an operand is not constant"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut results = kiln_ir::eval_op(op, &args).map_err(|e| PassError::node(name, op.name(), e.to_string()))?;
        let value = results.pop().filter(|_| results.is_empty());
        let value = value.ok_or_else(|| PassError::node(name, op.name(), "expected one result"))?;
        Ok(self.g.add_const(name.to_string(), Arc::new(value)))
    }

    /// The single value of an emitted class.
    fn single(&self, id: Id) -> Result<ValueId, PassError> {
        match self.values.get(&id).map(|v| v.as_slice()) {
            Some([v]) => Ok(*v),
            _ => Err(PassError::Extract(format!("class {id} is used as an operand but has no single value"))),
        }
    }

    fn fresh_name(&mut self, op: &Op) -> String {
        self.fresh += 1;
        format!("opt.{}.{}", op.name(), self.fresh)
    }

    /// Makes root `r` the next graph output, named `name` (see the module docs).
    fn add_output(&mut self, name: String, r: Id) -> Result<(), PassError> {
        let v = self.single(self.eg.find(r))?;
        let is_leaf = !matches!(self.g.value(v).def, ValueDef::Node { .. });
        if is_leaf || self.g.outputs.contains(&v) {
            let ty = self.g.ty(v).clone();
            let out = self.g.add_node1(format!("{name}.identity"), Op::Identity, vec![v], name, ty);
            self.g.outputs.push(out);
        } else {
            self.g.values[v].name = name;
            self.g.outputs.push(v);
        }
        Ok(())
    }
}

/// One value name per result: the class's original names, empty where there is none.
fn result_names(data: &ClassData) -> Vec<String> {
    (0..data.types.len()).map(|i| data.values.get(i).cloned().unwrap_or_default()).collect()
}
