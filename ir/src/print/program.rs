//! Elementwise programs as text: `t0=sigmoid(x0); t1=mul(x0,t0)`.
//!
//! Unary attributes are printed in brackets after the op name with the same bit-exact float
//! spelling as node attributes (`t0=clip[min=0,max=6](x0)`), so the parser
//! (`crate::parse::program`) gives back an identical program.

use super::attrs::unary_attrs;
use crate::fused::{Operand, Program, Step};

/// The program's text (empty for a program without steps).
pub fn program_text(p: &Program) -> String {
    let steps: Vec<String> = p.steps.iter().enumerate().map(|(i, s)| format!("t{i}={}", step_text(s))).collect();
    steps.join("; ")
}

fn step_text(s: &Step) -> String {
    match s {
        Step::Unary(u, a) => {
            let attrs = unary_attrs(u);
            let attrs = if attrs.is_empty() {
                String::new()
            } else {
                let items: Vec<String> = attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("[{}]", items.join(","))
            };
            format!("{}{attrs}({})", u.name(), operand_text(*a))
        }
        Step::Binary(b, a, c) => format!("{}({},{})", b.name(), operand_text(*a), operand_text(*c)),
    }
}

/// `x3` or `t1`.
pub fn operand_text(o: Operand) -> String {
    match o {
        Operand::Arg(k) => format!("x{k}"),
        Operand::Reg(j) => format!("t{j}"),
    }
}
