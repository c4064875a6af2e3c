//! The IR text form: parser (the format is described in `crate::print`).
//!
//! Three layers, each in its own file: `cursor` lexes one line, `syntax` turns lines into
//! statements (building typed ops in `ops` and constant data in `data`), and `build` resolves
//! `%N` references into a [`Graph`]. The text is line-oriented, so every error carries the line
//! number and says what was expected. The parser never panics, whatever the text.
//!
//! Value ids are renumbered densely in the order of their text ids, which makes
//! `print_graph(&parse_graph(&print_graph(g, true))?, true) == print_graph(g, true)`.
//! The parser checks syntax, attributes and constant sizes, not the graph invariants: run
//! `crate::verify` on the result (a test may parse a broken graph on purpose).

mod build;
mod cursor;
mod data;
mod ops;
mod program;
mod syntax;

use crate::error::Result;
use crate::graph::Graph;

/// Parses the text written by `print_graph(g, true)` (or written by hand in that form).
/// Summarised constants (`print_graph(g, false)` of large constants) cannot be parsed.
pub fn parse_graph(text: &str) -> Result<Graph> {
    build::build_graph(syntax::parse_program(text)?)
}
