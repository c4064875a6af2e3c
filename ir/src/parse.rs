//! The IR text form: parser.

use crate::error::{IrError, Result};
use crate::graph::Graph;

/// Parses the text written by `print_graph`.
pub fn parse_graph(text: &str) -> Result<Graph> {
    let _ = text;
    Err(IrError::Parse { line: 0, msg: "parser not implemented yet".into() })
}
