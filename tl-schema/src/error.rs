//! Errors of parsing a schema file.

use std::fmt;

/// One syntax error: where it is, what the parser found there and what it expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: expected {expected}, found `{found}`\n  | {line_text}\n  | {marker}^", marker = " ".repeat(column.saturating_sub(1)))]
pub struct ParseError {
    /// 1-based line of the error.
    pub line: usize,
    /// 1-based column (in characters) of the error.
    pub column: usize,
    /// What the grammar expected at that point.
    pub expected: &'static str,
    /// The text found there (up to the end of the line, at most 24 characters).
    pub found: String,
    /// The whole line the error is on, to show it in context.
    pub line_text: String,
}

/// Every syntax error of a schema file, in order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseErrors {
    /// The errors, at least one.
    pub errors: Vec<ParseError>,
}

impl fmt::Display for ParseErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}
