//! Parser, validator and differ for the TL schema language, as Telegram's schemas use it.
//!
//! ```
//! let schema = tl_schema::parse("
//!     // a comment
//!     inputPeerEmpty#7f3b18ea = InputPeer;
//!     inputPeerUser#dde8a54c user_id:long access_hash:long = InputPeer;
//!     ---functions---
//!     messages.getHistory#4423e6c5 peer:InputPeer offset_id:int offset_date:int add_offset:int limit:int max_id:int min_id:int hash:long = messages.Messages;
//! ").unwrap();
//! assert_eq!(schema.definitions.len(), 3);
//! assert_eq!(schema.definitions[2].namespace, ["messages"]);
//!
//! let error = tl_schema::parse("user#12345678 id:long = User\nfoo = Bar;").unwrap_err();
//! assert_eq!((error.errors[0].line, error.errors[0].column), (1, 29));
//! assert_eq!(error.errors[0].expected, "`;` ending the definition");
//! ```

mod ast;
mod diff;
mod error;
mod id;
mod name;
mod parser;
mod subset;
mod validate;

/// Entry points of the fuzz targets (`fuzz/`); not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use ast::{
    Category, Definition, Flag, GenericParam, Parameter, ParameterKind, Position, Schema, Type,
};
pub use diff::{Entry, IdChange, LayerDiff, diff};
pub use error::{ParseError, ParseErrors};
pub use id::{compute_id, normalized_line};
pub use name::{Name, Namespace};
pub use parser::parse;
pub use subset::UnknownRoot;
pub use validate::{BUILTIN_TYPES, Diagnostic, Problem, Severity, validate};

impl std::str::FromStr for Schema {
    type Err = ParseErrors;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse(text)
    }
}
