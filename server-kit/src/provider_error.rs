//! Why a push or SMS provider cannot be set up from its flags (shared by [`provider_flags`](crate::provider_flags)
//! and the providers themselves).

use std::path::PathBuf;

/// A provider that cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The flag needs the cargo feature `providers`.
    #[error(
        "--{flag}: this build has no real providers (build with the cargo feature `providers`)"
    )]
    NotBuilt {
        /// The flag.
        flag: &'static str,
    },
    /// A flag the others need is missing.
    #[error("--{flag} is needed with {with}")]
    Missing {
        /// The missing flag (or variable).
        flag: &'static str,
        /// What needs it.
        with: &'static str,
    },
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A flag's value, or a file's content, cannot be used.
    #[error("{what}: {why}")]
    Invalid {
        /// The flag or file.
        what: String,
        /// What is wrong.
        why: String,
    },
}
