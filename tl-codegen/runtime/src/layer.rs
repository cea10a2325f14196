//! Conversions between two layers of a schema, as the layer bridges `tl-codegen` generates
//! use them: a value of one layer becomes the value of the same name in the other.

use crate::Error;
use std::fmt;

/// Converts a value of one layer into the value of the same name in another.
///
/// Generated bridges implement it both ways between an older layer's types and the primary
/// layer's: old → primary for requests, primary → old for results and updates. `Vec`,
/// `Option` and `Box` convert item by item.
pub trait Convert<T>: Sized {
    /// The converted value, or why it has no form in the target layer.
    fn convert(self) -> Result<T, LayerError>;
}

impl<A: Convert<B>, B> Convert<Vec<B>> for Vec<A> {
    fn convert(self) -> Result<Vec<B>, LayerError> {
        self.into_iter().map(Convert::convert).collect()
    }
}

impl<A: Convert<B>, B> Convert<Option<B>> for Option<A> {
    fn convert(self) -> Result<Option<B>, LayerError> {
        self.map(Convert::convert).transpose()
    }
}

impl<A: Convert<B>, B> Convert<Box<B>> for Box<A> {
    fn convert(self) -> Result<Box<B>, LayerError> {
        (*self).convert().map(Box::new)
    }
}

/// Why a value could not be carried from one layer to another.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LayerError {
    /// The bytes were not a value of the source layer.
    Decode(Error),
    /// A constructor (or function) of the source layer has no counterpart in the target.
    NoCounterpart {
        /// Its TL name.
        name: &'static str,
        /// The target layer.
        layer: i32,
    },
    /// A field the target requires was absent (optional) on the source side.
    MissingField {
        /// The definition.
        definition: &'static str,
        /// The field.
        field: &'static str,
    },
    /// A hand-written rule could not convert the value.
    Rule {
        /// The rule's name.
        rule: &'static str,
        /// What it could not do.
        reason: &'static str,
    },
}

impl fmt::Display for LayerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerError::Decode(e) => write!(f, "decoding: {e}"),
            LayerError::NoCounterpart { name, layer } => {
                write!(f, "`{name}` has no counterpart in layer {layer}")
            }
            LayerError::MissingField { definition, field } => {
                write!(
                    f,
                    "`{definition}` needs `{field}`, which the source left out"
                )
            }
            LayerError::Rule { rule, reason } => write!(f, "rule `{rule}`: {reason}"),
        }
    }
}

impl std::error::Error for LayerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LayerError::Decode(e) => Some(e),
            _ => None,
        }
    }
}

impl From<Error> for LayerError {
    fn from(e: Error) -> Self {
        LayerError::Decode(e)
    }
}
