//! The optimizer's rule families, one file each with `pub fn rules()`:
//! `algebra` (identities: x*1, double transposes, no-op reshapes/casts/slices/pads...),
//! `folding` (constant and weight folding), `fusion` (elementwise chains, conv/gemm epilogues),
//! `layout` (transpose/layout choices). [`all_rules`] gathers them by optimization level.

pub mod algebra;
pub mod folding;
pub mod fusion;
pub mod layout;

use crate::egraph::Rewrite;

/// The rules of optimization level `level`: 0 none; 1 the rewrites that only remove work
/// (algebra, folding); 2 and above also fusion and layout.
pub fn all_rules(level: u8) -> Vec<Rewrite> {
    let mut rules = Vec::new();
    if level >= 1 {
        rules.extend(algebra::rules());
        rules.extend(folding::rules());
    }
    if level >= 2 {
        rules.extend(fusion::rules());
        rules.extend(layout::rules());
    }
    rules
}
