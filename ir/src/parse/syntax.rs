//! From lines of text to a list of statements (header, constants, nodes) with line numbers.
//!
//! This layer knows the grammar; it does not resolve `%N` references (see `build`), so a
//! statement may use a value defined further down and the verifier, not the parser, reports it.
//!
//! ```text
//! header := 'graph' '(' [decl {',' decl}] ')' '->' '(' [out {',' out}] ')' '{'
//! decl   := '%' N ':' type [string]          type := dtype '[' [N {',' N}] ']'
//! out    := '%' N [string]
//! line   := decl '=' 'const' [type] data     data := '[' elements ']' | 'hex' string | '<' summary '>'
//!         | (decl {',' decl} | '(' ')') '=' op '(' [ref {',' ref}] ')' ['{' attrs '}'] [string]
//!         | '}'
//! ```

use super::cursor::{error_at, Cursor, PResult};
use super::data::parse_const;
use super::ops::{build_op, Attrs, Raw};
use crate::dtype::{DType, TensorType};
use crate::op::Op;
use crate::tensor::Tensor;

/// `%N: type "name"` on line `line`.
pub(super) struct Decl {
    pub id: u32,
    pub ty: TensorType,
    pub name: String,
    pub line: usize,
}

/// The `graph(...) -> (...) {` line.
pub(super) struct Header {
    pub inputs: Vec<Decl>,
    /// Output ids, each with the name written after it, if any.
    pub outputs: Vec<(u32, Option<String>)>,
    pub line: usize,
}

/// One line of the body.
pub(super) enum Stmt {
    Const { decl: Decl, tensor: Tensor },
    Node { outputs: Vec<Decl>, op: Op, inputs: Vec<u32>, name: String, line: usize },
}

/// A whole text, parsed but not yet resolved.
pub(super) struct Program {
    pub header: Header,
    pub body: Vec<Stmt>,
}

/// Splits `text` into statements; the first error stops parsing.
pub(super) fn parse_program(text: &str) -> PResult<Program> {
    let mut lines =
        text.lines().enumerate().map(|(i, l)| Cursor::new(i + 1, l)).filter_map(|mut c| (!c.at_end()).then_some(c));
    let mut first = lines.next().ok_or_else(|| error_at(1, "expected `graph(...) -> (...) {`, found an empty text"))?;
    let header = parse_header(&mut first)?;
    let mut body = Vec::new();
    while let Some(mut cur) = lines.next() {
        if cur.eat('}') {
            cur.expect_end("after the closing `}` of the graph")?;
            if let Some(mut extra) = lines.next() {
                return extra.expected("nothing after the closing `}` of the graph");
            }
            return Ok(Program { header, body });
        }
        body.push(parse_stmt(&mut cur)?);
    }
    let last = text.lines().count().max(1);
    Err(error_at(last, "expected `}` closing the graph, found the end of the text"))
}

fn parse_header(cur: &mut Cursor) -> PResult<Header> {
    let line = cur.line();
    if cur.word() != Some("graph") {
        return Err(cur.error("expected `graph(...) -> (...) {` on the first line"));
    }
    cur.expect('(', "after `graph`")?;
    let inputs = comma_list(cur, ')', "graph inputs", parse_decl)?;
    if !(cur.eat('-') && cur.eat('>')) {
        return cur.expected("`->` after the graph inputs");
    }
    cur.expect('(', "before the graph outputs")?;
    let outputs = comma_list(cur, ')', "graph outputs", |c| {
        let id = c.value_id()?;
        let name = if c.peek() == Some('"') { Some(c.string()?) } else { None };
        Ok((id, name))
    })?;
    cur.expect('{', "after the graph outputs")?;
    cur.expect_end("after `{`")?;
    Ok(Header { inputs, outputs, line })
}

/// Items separated by `,` up to `close` (the opening bracket is already consumed).
pub(super) fn comma_list<'a, T>(
    cur: &mut Cursor<'a>,
    close: char,
    what: &str,
    mut item: impl FnMut(&mut Cursor<'a>) -> PResult<T>,
) -> PResult<Vec<T>> {
    let mut items = Vec::new();
    if cur.eat(close) {
        return Ok(items);
    }
    loop {
        items.push(item(cur)?);
        if cur.eat(close) {
            return Ok(items);
        }
        if !cur.eat(',') {
            return cur.expected(&format!("`,` or `{close}` in the {what}"));
        }
    }
}

/// `f32[1,3,8,8]`
pub(super) fn parse_type(cur: &mut Cursor) -> PResult<TensorType> {
    let word = cur.expect_word("a type like `f32[1,3]`")?;
    let dtype: DType = word.parse().map_err(|e| cur.error(format!("{e} (expected a type like `f32[1,3]`)")))?;
    cur.expect('[', "after the dtype of a type")?;
    let shape = comma_list(cur, ']', "shape", |c| {
        let dim = c.expect_word("a dimension")?;
        dim.parse::<usize>()
            .map_err(|_| c.error(format!("expected a dimension (a non-negative integer), found `{dim}`")))
    })?;
    Ok(TensorType::new(dtype, shape))
}

/// `%N: type "name"` (name optional).
fn parse_decl(cur: &mut Cursor) -> PResult<Decl> {
    let line = cur.line();
    let id = cur.value_id()?;
    cur.expect(':', "and a type after a defined value")?;
    let ty = parse_type(cur)?;
    let name = if cur.peek() == Some('"') { cur.string()? } else { String::new() };
    Ok(Decl { id, ty, name, line })
}

/// A constant or node line.
fn parse_stmt(cur: &mut Cursor) -> PResult<Stmt> {
    let line = cur.line();
    let mut outputs = if cur.eat('(') {
        cur.expect(')', "(a node without results is written `() = op(...)`)")?;
        cur.expect('=', "after `()`")?;
        Vec::new()
    } else {
        comma_list_until(cur, '=', parse_decl)?
    };
    let op_name = cur.expect_word("an op name or `const` after `=`")?;
    if op_name == "const" {
        if outputs.len() != 1 {
            return Err(cur.error(format!("`const` defines exactly one value, found {}", outputs.len())));
        }
        let decl = outputs.remove(0);
        let tensor = parse_const(cur, &decl)?;
        cur.expect_end("after the constant data")?;
        return Ok(Stmt::Const { decl, tensor });
    }
    cur.expect('(', &format!("after the op name `{op_name}`"))?;
    let inputs = comma_list(cur, ')', "op inputs", |c| c.value_id())?;
    let items = if cur.eat('{') { parse_attrs(cur)? } else { Vec::new() };
    let op = build_op(Attrs::new(line, op_name, items))?;
    let name = if cur.peek() == Some('"') { cur.string()? } else { String::new() };
    cur.expect_end("after the node")?;
    Ok(Stmt::Node { outputs, op, inputs, name, line })
}

/// Declarations separated by `,`, ended by `end` (consumed).
fn comma_list_until<'a>(
    cur: &mut Cursor<'a>,
    end: char,
    item: fn(&mut Cursor<'a>) -> PResult<Decl>,
) -> PResult<Vec<Decl>> {
    let mut items = vec![item(cur)?];
    loop {
        if cur.eat(end) {
            return Ok(items);
        }
        if !cur.eat(',') {
            return cur.expected(&format!("`,` or `{end}` after a defined value"));
        }
        items.push(item(cur)?);
    }
}

/// `key=value, key=[a,b]}` (the `{` is already consumed).
fn parse_attrs<'a>(cur: &mut Cursor<'a>) -> PResult<Vec<(&'a str, Raw<'a>)>> {
    comma_list(cur, '}', "attributes", |c| {
        let key = c.expect_word("an attribute name")?;
        c.expect('=', &format!("after the attribute name `{key}`"))?;
        let value = if c.peek() == Some('"') {
            Raw::Str(c.string()?)
        } else if c.eat('[') {
            Raw::List(comma_list(c, ']', "attribute list", |c| c.expect_word("a list element"))?)
        } else {
            Raw::Scalar(c.expect_word(&format!("a value for attribute `{key}`"))?)
        };
        Ok((key, value))
    })
}
