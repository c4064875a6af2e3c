//! A cursor over one line of IR text: the lexer of the parser.
//!
//! The text form is line-oriented (one definition per line), so lexing one line at a time keeps
//! every error tied to its line number. `;` starts a comment outside strings. Every method
//! returns an error saying what was expected and what was found instead; nothing panics.

use crate::error::IrError;

pub(super) type PResult<T> = Result<T, IrError>;

/// A parse error at line `line` (1-based).
pub(super) fn error_at(line: usize, msg: impl Into<String>) -> IrError {
    IrError::Parse { line, msg: msg.into() }
}

/// A position in one line of text.
pub(super) struct Cursor<'a> {
    line: usize,
    text: &'a str,
    pos: usize,
}

/// Characters of a bare word: identifiers, integers and floats (`-1.5e-7`, `f32`, `half_pixel`).
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-')
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `text`, which is line `line` (1-based) of the input.
    pub fn new(line: usize, text: &'a str) -> Self {
        Cursor { line, text, pos: 0 }
    }

    pub fn line(&self) -> usize {
        self.line
    }

    /// A parse error at this line.
    pub fn error(&self, msg: impl Into<String>) -> IrError {
        error_at(self.line, msg)
    }

    /// "expected X, found Y" at the current position.
    pub fn expected<T>(&mut self, what: &str) -> PResult<T> {
        let found = self.describe_next();
        Err(self.error(format!("expected {what}, found {found}")))
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// The next character after whitespace; `None` at the end of the line or at a comment.
    pub fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.rest().chars().next().filter(|&c| c != ';')
    }

    /// True when only whitespace or a comment is left.
    pub fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// Consumes `c` if it is next.
    pub fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// Consumes `c` or fails with "expected `c` `context`".
    pub fn expect(&mut self, c: char, context: &str) -> PResult<()> {
        if self.eat(c) {
            Ok(())
        } else {
            self.expected(&format!("`{c}` {context}"))
        }
    }

    /// Fails unless only whitespace or a comment is left.
    pub fn expect_end(&mut self, context: &str) -> PResult<()> {
        if self.at_end() {
            Ok(())
        } else {
            self.expected(&format!("end of line {context}"))
        }
    }

    /// The next bare word, if any. A word `nan` directly followed by `(...)` includes the
    /// parenthesised bits, so `nan(0x7fc00001)` is one word.
    pub fn word(&mut self) -> Option<&'a str> {
        self.peek()?;
        let start = self.pos;
        let len = self.rest().find(|c| !is_word_char(c)).unwrap_or(self.rest().len());
        if len == 0 {
            return None;
        }
        self.pos += len;
        if &self.text[start..self.pos] == "nan" && self.rest().starts_with('(') {
            if let Some(close) = self.rest().find(')') {
                self.pos += close + 1;
            }
        }
        Some(&self.text[start..self.pos])
    }

    /// The next bare word, without consuming it.
    pub fn peek_word(&mut self) -> Option<&'a str> {
        let pos = self.pos;
        let word = self.word();
        self.pos = pos;
        word
    }

    /// The next bare word or "expected `what`".
    pub fn expect_word(&mut self, what: &str) -> PResult<&'a str> {
        match self.word() {
            Some(w) => Ok(w),
            None => self.expected(what),
        }
    }

    /// `%N`
    pub fn value_id(&mut self) -> PResult<u32> {
        if !self.eat('%') {
            return self.expected("a value `%N`");
        }
        let start = self.pos;
        let digits = self.rest().find(|c: char| !c.is_ascii_digit()).unwrap_or(self.rest().len());
        self.pos += digits;
        let text = &self.text[start..self.pos];
        text.parse().map_err(|_| self.error(format!("expected a value number after `%`, found `{text}`")))
    }

    /// A double-quoted string with Rust-like escapes (`\"`, `\\`, `\n`, `\t`, `\r`, `\u{..}`).
    pub fn string(&mut self) -> PResult<String> {
        if !self.eat('"') {
            return self.expected("a quoted string");
        }
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => out.push(self.escape(&mut chars)?),
                c => out.push(c),
            }
        }
        Err(self.error("unterminated string (a closing `\"` is missing)"))
    }

    fn escape(&self, chars: &mut std::str::CharIndices<'_>) -> PResult<char> {
        match chars.next().map(|(_, c)| c) {
            Some('"') => Ok('"'),
            Some('\\') => Ok('\\'),
            Some('n') => Ok('\n'),
            Some('t') => Ok('\t'),
            Some('r') => Ok('\r'),
            Some('u') => {
                let bad = || self.error("expected `\\u{HEX}` in a string");
                if chars.next().map(|(_, c)| c) != Some('{') {
                    return Err(bad());
                }
                let hex: String = chars.by_ref().map(|(_, c)| c).take_while(|&c| c != '}').collect();
                u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32).ok_or_else(bad)
            }
            other => Err(self.error(format!("unknown escape `\\{}` in a string", other.unwrap_or(' ')))),
        }
    }

    /// The next token, for "found ..." in errors.
    fn describe_next(&mut self) -> String {
        if self.at_end() {
            return "end of line".to_string();
        }
        let token: String = match self.rest().chars().next() {
            Some(c) if is_word_char(c) => self.rest().chars().take_while(|&c| is_word_char(c)).take(40).collect(),
            Some(c) => c.to_string(),
            None => String::new(),
        };
        format!("`{token}`")
    }
}
