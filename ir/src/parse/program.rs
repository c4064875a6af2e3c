//! Elementwise programs from text (`t0=sigmoid(x0); t1=mul(x0,t0)`), the inverse of
//! `crate::print::program_text`.
//!
//! Steps are split at `;` and each is read with the line cursor, so errors carry the IR line.
//! Step `i` must be named `t{i}`: the names are checked rather than renumbered, so a hand-written
//! program that skips or reorders a register is an error instead of a silent reinterpretation.

use super::cursor::{Cursor, PResult};
use super::ops::{unary_op, Attrs, Raw};
use super::syntax::comma_list;
use crate::fused::{Operand, Program, Step};
use crate::op::{BinaryOp, Op};

/// Parses the program text of attribute `key` on IR line `line`.
pub(super) fn parse_program_text(line: usize, key: &str, text: &str) -> PResult<Program> {
    let mut steps = Vec::new();
    for (i, part) in text.split(';').enumerate().filter(|(_, p)| !p.trim().is_empty()) {
        let mut cur = Cursor::new(line, part);
        let step = parse_step(&mut cur, i).map_err(|e| cur.error(format!("attribute `{key}`, step {i}: {e}")))?;
        steps.push(step);
    }
    Ok(Program { steps })
}

fn parse_step(cur: &mut Cursor, i: usize) -> PResult<Step> {
    let reg = cur.expect_word("a register `t<i>`")?;
    if reg != format!("t{i}") {
        return Err(cur.error(format!("expected register `t{i}`, found `{reg}`")));
    }
    cur.expect('=', "after the register")?;
    let name = cur.expect_word("an op name")?;
    let items = if cur.eat('[') { unary_attr_items(cur)? } else { Vec::new() };
    cur.expect('(', "after the op name")?;
    let operands = comma_list(cur, ')', "operands", operand)?;
    cur.expect_end("after the step")?;
    if let Some(b) = BinaryOp::ALL.into_iter().find(|b| b.name() == name) {
        let [a, c] = operands[..] else { return Err(cur.error(format!("`{name}` takes 2 operands"))) };
        if !items.is_empty() {
            return Err(cur.error(format!("`{name}` has no attributes")));
        }
        return Ok(Step::Binary(b, a, c));
    }
    let mut attrs = Attrs::new(cur.line(), name, items);
    let Some(u) = unary_op(name, &mut attrs)? else { return Err(cur.error(format!("unknown op `{name}`"))) };
    attrs.finish(Op::Unary(u))?;
    let [a] = operands[..] else { return Err(cur.error(format!("`{name}` takes 1 operand"))) };
    Ok(Step::Unary(u, a))
}

/// `k=v,k=v]` (the `[` is consumed).
fn unary_attr_items<'a>(cur: &mut Cursor<'a>) -> PResult<Vec<(&'a str, Raw<'a>)>> {
    comma_list(cur, ']', "attributes", |c| {
        let key = c.expect_word("an attribute name")?;
        c.expect('=', "after the attribute name")?;
        Ok((key, Raw::Scalar(c.expect_word("a value")?)))
    })
}

/// `x<k>` or `t<j>`.
fn operand(cur: &mut Cursor) -> PResult<Operand> {
    let word = cur.expect_word("an operand `x<k>` or `t<j>`")?;
    let index = |s: &str| s.parse::<usize>().ok();
    match (word.split_at_checked(1), word) {
        (Some(("x", k)), _) if index(k).is_some() => Ok(Operand::Arg(index(k).unwrap_or(0))),
        (Some(("t", j)), _) if index(j).is_some() => Ok(Operand::Reg(index(j).unwrap_or(0))),
        _ => Err(cur.error(format!("expected an operand `x<k>` or `t<j>`, found `{word}`"))),
    }
}
