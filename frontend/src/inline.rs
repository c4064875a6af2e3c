//! Inlining of model-local functions (`ModelProto.functions`) into the main graph.
//!
//! PyTorch's dynamo exporter writes each module as a `FunctionProto` in a custom domain
//! (`pkg.torch.2.5.1+cu121`) and calls it from the main graph, nested (a layer calls its
//! LayerNorm, which calls a torch_lib op). kiln's importer knows only default-domain ops, so before
//! anything else every call of a model-local function is replaced by the function's body:
//! formal inputs and outputs renamed to the call's actual names, every other value and node
//! name prefixed with the call site (`<call>::name`, so two calls of one function never share a
//! value), attribute references (`ref_attr_name`) bound to the call's attribute or the function's
//! default, repeatedly until no call is left (nesting), with a depth limit against recursion.
//!
//! Why inline rather than import functions as IR subgraphs: kiln specialises shapes and folds
//! constants per node, so a body has to be imported once per call anyway; after inlining, the
//! unsupported-op scan, the import and every error message see ordinary nodes.
//!
//! A function body whose default-domain opset differs from the model's is refused (each node is
//! imported under the model's opset), as is a call with more inputs or outputs than the function
//! declares. Subgraph attributes (`If`/`Loop` bodies) are not renamed: kiln rejects those ops.

use crate::error::{FrontendError, Result};
use onnx_protobuf::{AttributeProto, FunctionProto, NodeProto, OperatorSetIdProto};
use std::collections::HashMap;

/// Nesting depth beyond which a call chain is taken to be recursive.
const MAX_DEPTH: usize = 64;

/// Replaces every call of one of `functions` in `nodes`, nested calls included; `opset` is the
/// model's default-domain opset (`None`: not declared, which the import reports later).
///
/// # Errors
/// A `Node` error naming the call when its function's opset differs from `opset`, when it
/// passes more inputs or outputs than the function declares, or when calls nest deeper than
/// [`MAX_DEPTH`] (recursion).
pub fn inline_functions(
    nodes: Vec<NodeProto>,
    functions: &[FunctionProto],
    opset: Option<i64>,
) -> Result<Vec<NodeProto>> {
    if functions.is_empty() {
        return Ok(nodes);
    }
    let table: HashMap<(&str, &str, &str), &FunctionProto> =
        functions.iter().map(|f| ((f.domain.as_str(), f.name.as_str(), f.overload.as_str()), f)).collect();
    let mut out = Vec::with_capacity(nodes.len());
    for (i, node) in nodes.into_iter().enumerate() {
        let site = if node.name.is_empty() { format!("{}_{i}", node.op_type) } else { node.name.clone() };
        expand(node, &site, &table, opset, 0, &mut out)?;
    }
    Ok(out)
}

type Table<'a> = HashMap<(&'a str, &'a str, &'a str), &'a FunctionProto>;

/// Appends `node` to `out`, or, when it calls a function, the function's (expanded) body.
fn expand(
    node: NodeProto,
    site: &str,
    table: &Table,
    opset: Option<i64>,
    depth: usize,
    out: &mut Vec<NodeProto>,
) -> Result<()> {
    let Some(f) = table.get(&(node.domain.as_str(), node.op_type.as_str(), node.overload.as_str())) else {
        out.push(node);
        return Ok(());
    };
    let err = |msg: String| FrontendError::Node { node: site.to_string(), op: node.op_type.clone(), msg };
    if depth >= MAX_DEPTH {
        return Err(err(format!("function calls nest deeper than {MAX_DEPTH}: recursive functions are not supported")));
    }
    check_call(&node, f, opset).map_err(err)?;
    let names = rename_table(&node, f);
    let attrs = bound_attributes(&node, f);
    for (j, body) in f.node.iter().enumerate() {
        let inner = instantiate(body, j, site, &names, &attrs);
        let inner_site = inner.name.clone();
        expand(inner, &inner_site, table, opset, depth + 1, out)?;
    }
    out.extend(passthroughs(&node, f, site, &names));
    Ok(())
}

/// The call matches the function's signature and its default-domain opset is the model's.
fn check_call(node: &NodeProto, f: &FunctionProto, opset: Option<i64>) -> std::result::Result<(), String> {
    if node.input.len() > f.input.len() || node.output.len() > f.output.len() {
        return Err(format!(
            "calls function '{}' with {} inputs and {} outputs; it declares {} and {}",
            f.name,
            node.input.len(),
            node.output.len(),
            f.input.len(),
            f.output.len()
        ));
    }
    match (default_opset(&f.opset_import), opset) {
        (Some(v), Some(model)) if v != model => {
            Err(format!("function '{}' imports ai.onnx opset {v} but the model imports {model}", f.name))
        }
        _ => Ok(()),
    }
}

/// The default-domain (`""` or `ai.onnx`) version of an opset import list.
pub fn default_opset(imports: &[OperatorSetIdProto]) -> Option<i64> {
    imports.iter().find(|o| o.domain.is_empty() || o.domain == "ai.onnx").map(|o| o.version)
}

/// Formal input and output names -> the call's actual names (a formal without an actual input
/// becomes "", ONNX's "absent"; an output the call does not take stays internal).
fn rename_table(node: &NodeProto, f: &FunctionProto) -> HashMap<String, String> {
    let mut names = HashMap::new();
    for (k, formal) in f.input.iter().enumerate() {
        names.insert(formal.clone(), node.input.get(k).cloned().unwrap_or_default());
    }
    for (formal, actual) in f.output.iter().zip(&node.output) {
        if !actual.is_empty() && !f.input.contains(formal) {
            names.insert(formal.clone(), actual.clone());
        }
    }
    names
}

/// `Identity` nodes for outputs that pass a formal input straight through (`f(x) -> x`): no body
/// node defines them, so the call's output name needs a definition of its own.
fn passthroughs(node: &NodeProto, f: &FunctionProto, site: &str, names: &HashMap<String, String>) -> Vec<NodeProto> {
    let mut out = Vec::new();
    for (k, (formal, actual)) in f.output.iter().zip(&node.output).enumerate() {
        if actual.is_empty() || !f.input.contains(formal) {
            continue;
        }
        let mut n = NodeProto::new();
        n.op_type = "Identity".into();
        n.name = format!("{site}::passthrough_{k}");
        n.input = vec![names.get(formal).cloned().unwrap_or_default()];
        n.output = vec![actual.clone()];
        out.push(n);
    }
    out
}

/// The attribute values of this call: the function's defaults overridden by the call's own.
fn bound_attributes(node: &NodeProto, f: &FunctionProto) -> HashMap<String, AttributeProto> {
    let mut attrs: HashMap<String, AttributeProto> =
        f.attribute_proto.iter().map(|a| (a.name.clone(), a.clone())).collect();
    attrs.extend(node.attribute.iter().map(|a| (a.name.clone(), a.clone())));
    attrs
}

/// One body node for one call: values renamed, name prefixed, attribute references bound (an
/// unbound reference is dropped, as ONNX specifies: the attribute is then absent).
fn instantiate(
    body: &NodeProto,
    j: usize,
    site: &str,
    names: &HashMap<String, String>,
    attrs: &HashMap<String, AttributeProto>,
) -> NodeProto {
    let rename = |v: &String| match names.get(v) {
        Some(actual) => actual.clone(),
        None if v.is_empty() => String::new(),
        None => format!("{site}::{v}"),
    };
    let mut n = body.clone();
    n.input = body.input.iter().map(rename).collect();
    n.output = body.output.iter().map(rename).collect();
    let local = if body.name.is_empty() { format!("{}_{j}", body.op_type) } else { body.name.clone() };
    n.name = format!("{site}::{local}");
    n.attribute = body
        .attribute
        .iter()
        .filter_map(|a| {
            if a.ref_attr_name.is_empty() {
                return Some(a.clone());
            }
            let mut bound = attrs.get(&a.ref_attr_name)?.clone();
            bound.name = a.name.clone();
            Some(bound)
        })
        .collect();
    n
}
