//! Why a key could not be read: [`PemError`], shared by the PEM armor and base64 reader
//! (`pem`) and the DER reader (`der`) below it, with the DER tags its messages name.

use super::rsa::RsaError;

/// The DER tags RSA keys use.
pub(crate) mod tag {
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const BIT_STRING: u8 = 0x03;
    pub(crate) const OCTET_STRING: u8 = 0x04;
    pub(crate) const NULL: u8 = 0x05;
    pub(crate) const OID: u8 = 0x06;
    pub(crate) const SEQUENCE: u8 = 0x30;
}

/// Why a PEM or DER key could not be read. DER offsets count bytes from the start of the
/// decoded DER; base64 and armor offsets count bytes from the start of the PEM text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PemError {
    /// No `-----BEGIN ` line.
    #[error("no -----BEGIN line")]
    MissingArmor,
    /// A `-----BEGIN` line that does not end in `-----`, or with a strange label.
    #[error("malformed -----BEGIN line at offset {offset}")]
    BadArmor {
        /// Where the line starts.
        offset: usize,
    },
    /// No `-----END` line with the label of the `-----BEGIN` line.
    #[error("no -----END {label}----- line")]
    MissingEnd {
        /// The label of the `-----BEGIN` line.
        label: String,
    },
    /// The PEM holds something else (a certificate, another kind of key).
    #[error("PEM label {found:?} where {expected} was expected")]
    UnexpectedLabel {
        /// The label found.
        found: String,
        /// The labels this function reads.
        expected: &'static str,
    },
    /// The key is encrypted (`Proc-Type: 4,ENCRYPTED` or `ENCRYPTED PRIVATE KEY`).
    #[error("the key is encrypted; decrypt it first, e.g. with `openssl pkey`")]
    Encrypted,
    /// Invalid base64.
    #[error("bad base64 at offset {offset}: {reason}")]
    BadBase64 {
        /// Where in the PEM text.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The DER ends inside an element.
    #[error("DER ends early at offset {offset}")]
    UnexpectedEnd {
        /// Where the missing byte should be.
        offset: usize,
    },
    /// An element with another tag than the structure has there.
    #[error("DER tag {found:#04x} at offset {offset} where {} was expected", tag_name(*.expected))]
    UnexpectedTag {
        /// Where the element starts.
        offset: usize,
        /// The tag the structure has there (`None`: no tag of this form is ever expected).
        expected: Option<u8>,
        /// The tag found.
        found: u8,
    },
    /// An indefinite, non-minimal or too large length, or one running past the enclosing
    /// element.
    #[error("bad DER length at offset {offset}")]
    BadLength {
        /// Where the length starts.
        offset: usize,
    },
    /// An INTEGER that is empty, negative or not minimally encoded.
    #[error("bad DER INTEGER at offset {offset}: {reason}")]
    BadInteger {
        /// Where its content starts.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A BIT STRING that is empty or has unused bits.
    #[error("bad DER BIT STRING at offset {offset}")]
    BadBitString {
        /// Where its content starts.
        offset: usize,
    },
    /// Bytes after the last element of a structure.
    #[error("unexpected data at offset {offset}")]
    TrailingData {
        /// Where they start.
        offset: usize,
    },
    /// A key of another algorithm than rsaEncryption (1.2.840.113549.1.1.1).
    #[error("unsupported key algorithm {oid}")]
    UnsupportedAlgorithm {
        /// Its object identifier, dotted.
        oid: String,
    },
    /// rsaEncryption parameters that are not NULL.
    #[error("rsaEncryption parameters at offset {offset} are not NULL")]
    BadAlgorithmParameters {
        /// Where they start.
        offset: usize,
    },
    /// A structure version this reader does not know (e.g. multi-prime RSA).
    #[error("unsupported version {version}")]
    UnsupportedVersion {
        /// The version found (saturated to `u64::MAX`).
        version: u64,
    },
    /// The numbers do not form a usable RSA key.
    #[error(transparent)]
    Key(#[from] RsaError),
}

fn tag_name(tag: Option<u8>) -> String {
    match tag {
        Some(tag::INTEGER) => "INTEGER".into(),
        Some(tag::BIT_STRING) => "BIT STRING".into(),
        Some(tag::OCTET_STRING) => "OCTET STRING".into(),
        Some(tag::NULL) => "NULL".into(),
        Some(tag::OID) => "OBJECT IDENTIFIER".into(),
        Some(tag::SEQUENCE) => "SEQUENCE".into(),
        Some(other) => format!("tag {other:#04x}"),
        None => "another tag".into(),
    }
}
