//! The error of reading TL (hand-written to keep the runtime free of dependencies).

use std::fmt;

/// Why bytes could not be read as the expected TL value: a pointer-sized handle to the
/// [`ErrorKind`], so that every `Result` of a read stays small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(Box<ErrorKind>);

impl Error {
    /// What went wrong, with the values that were wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// A constructor id the expected type does not have (kept out of line: errors are cold).
    #[cold]
    #[inline(never)]
    pub fn unexpected_constructor(id: u32, offset: usize, expected: &'static str) -> Self {
        ErrorKind::UnexpectedConstructor {
            id,
            offset,
            expected,
        }
        .into()
    }
}

impl From<ErrorKind> for Error {
    #[cold]
    fn from(kind: ErrorKind) -> Self {
        Error(Box::new(kind))
    }
}

impl PartialEq<ErrorKind> for Error {
    fn eq(&self, other: &ErrorKind) -> bool {
        *self.0 == *other
    }
}

/// The kinds of [`Error`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ended before the value did.
    UnexpectedEof {
        /// Offset where the read started.
        offset: usize,
        /// Bytes the read needed.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A constructor id that the expected type does not have.
    UnexpectedConstructor {
        /// The id read.
        id: u32,
        /// Offset of the id.
        offset: usize,
        /// The TL type that was expected.
        expected: &'static str,
    },
    /// A vector whose count cannot fit in the bytes that are left.
    VectorTooLong {
        /// The count read.
        len: u32,
        /// Bytes left after the count.
        remaining: usize,
    },
    /// Values nested deeper than [`crate::MAX_DEPTH`].
    TooDeep {
        /// The nesting limit.
        limit: u32,
    },
    /// Bytes left over after a value that should have filled the input.
    TrailingBytes {
        /// How many bytes were left.
        count: usize,
    },
    /// A flags word with a bit set that no field of the constructor uses is still accepted;
    /// this variant is for a string/bytes length prefix that is malformed.
    BadLength {
        /// Offset of the length prefix.
        offset: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::UnexpectedEof {
                offset,
                needed,
                remaining,
            } => write!(
                f,
                "input ends at offset {offset}: {needed} bytes needed, {remaining} left"
            ),
            ErrorKind::UnexpectedConstructor {
                id,
                offset,
                expected,
            } => write!(
                f,
                "constructor id {id:#010x} at offset {offset} is not a {expected}"
            ),
            ErrorKind::VectorTooLong { len, remaining } => write!(
                f,
                "vector of {len} items cannot fit in the {remaining} bytes left"
            ),
            ErrorKind::TooDeep { limit } => write!(f, "values nested deeper than {limit} levels"),
            ErrorKind::TrailingBytes { count } => {
                write!(f, "{count} bytes left over after the value")
            }
            ErrorKind::BadLength { offset } => {
                write!(f, "malformed length prefix at offset {offset}")
            }
        }
    }
}

impl std::error::Error for Error {}
