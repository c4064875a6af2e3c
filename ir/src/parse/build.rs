//! From parsed statements to a [`Graph`]: resolves `%N` references and renumbers values.
//!
//! Values are renumbered densely in the order of their text ids (not of their lines), so the
//! ids that `print_graph` wrote, which are the graph's own handle indices, come back unchanged.
//! References to values defined further down are accepted (the verifier reports them); a
//! reference to a value defined nowhere, or a value defined twice, is a parse error.

use super::cursor::{error_at, PResult};
use super::syntax::{Decl, Program, Stmt};
use crate::arena::Handle;
use crate::graph::{Graph, Node, Value, ValueDef, ValueId};
use std::collections::HashMap;
use std::sync::Arc;

/// Every defined value by text id: its declaration (with its line) and `ValueDef`.
type Defs<'a> = HashMap<u32, (&'a Decl, ValueDef)>;

pub(super) fn build_graph(program: Program) -> PResult<Graph> {
    let defs = collect_defs(&program)?;
    let mut ids: Vec<u32> = defs.keys().copied().collect();
    ids.sort_unstable();
    let index: HashMap<u32, ValueId> = ids.iter().enumerate().map(|(i, &id)| (id, Handle::new(i))).collect();
    let resolve =
        |id: u32, line: usize| index.get(&id).copied().ok_or_else(|| error_at(line, format!("%{id} is not defined")));

    let mut graph = Graph::new();
    for id in &ids {
        let (decl, def) = &defs[id];
        graph.values.push(Value { name: decl.name.clone(), ty: decl.ty.clone(), def: *def });
    }
    let header = &program.header;
    graph.inputs = header.inputs.iter().map(|d| resolve(d.id, d.line)).collect::<PResult<_>>()?;
    for (id, name) in &header.outputs {
        let v = resolve(*id, header.line)?;
        if let Some(name) = name.as_ref().filter(|n| **n != graph.values[v].name) {
            let actual = &graph.values[v].name;
            return Err(error_at(
                header.line,
                format!("graph output %{id} is named {name:?} but %{id} is defined as {actual:?}"),
            ));
        }
        graph.outputs.push(v);
    }
    for stmt in program.body {
        match stmt {
            Stmt::Const { tensor, .. } => {
                graph.constants.push(Arc::new(tensor));
            }
            Stmt::Node { outputs, op, inputs, name, line } => {
                let inputs = inputs.iter().map(|&id| resolve(id, line)).collect::<PResult<_>>()?;
                let outputs = outputs.iter().map(|d| resolve(d.id, line)).collect::<PResult<_>>()?;
                graph.nodes.push(Node { name, op, inputs, outputs });
            }
        }
    }
    Ok(graph)
}

/// The definition of every value; a second definition of an id is an error.
fn collect_defs(program: &Program) -> PResult<Defs<'_>> {
    let mut defs = Defs::new();
    for (i, decl) in program.header.inputs.iter().enumerate() {
        define(&mut defs, decl, ValueDef::Input(i))?;
    }
    let (mut consts, mut nodes) = (0, 0);
    for stmt in &program.body {
        match stmt {
            Stmt::Const { decl, .. } => {
                define(&mut defs, decl, ValueDef::Const(Handle::new(consts)))?;
                consts += 1;
            }
            Stmt::Node { outputs, .. } => {
                for (index, decl) in outputs.iter().enumerate() {
                    define(&mut defs, decl, ValueDef::Node { node: Handle::new(nodes), index })?;
                }
                nodes += 1;
            }
        }
    }
    Ok(defs)
}

/// Records `decl` as defined by `def`, unless its id is already defined.
fn define<'a>(defs: &mut Defs<'a>, decl: &'a Decl, def: ValueDef) -> PResult<()> {
    if let Some((first, _)) = defs.get(&decl.id) {
        let msg = format!("%{} is already defined on line {}", decl.id, first.line);
        return Err(error_at(decl.line, msg));
    }
    defs.insert(decl.id, (decl, def));
    Ok(())
}
