//! The error of reading TL (hand-written to keep the runtime free of dependencies).

use std::fmt;

/// Why bytes could not be read as the expected TL value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
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
        match self {
            Error::UnexpectedEof {
                offset,
                needed,
                remaining,
            } => write!(
                f,
                "input ends at offset {offset}: {needed} bytes needed, {remaining} left"
            ),
            Error::UnexpectedConstructor {
                id,
                offset,
                expected,
            } => write!(
                f,
                "constructor id {id:#010x} at offset {offset} is not a {expected}"
            ),
            Error::VectorTooLong { len, remaining } => write!(
                f,
                "vector of {len} items cannot fit in the {remaining} bytes left"
            ),
            Error::TooDeep { limit } => write!(f, "values nested deeper than {limit} levels"),
            Error::TrailingBytes { count } => {
                write!(f, "{count} bytes left over after the value")
            }
            Error::BadLength { offset } => write!(f, "malformed length prefix at offset {offset}"),
        }
    }
}

impl std::error::Error for Error {}
