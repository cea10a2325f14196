//! What can go wrong when calling the server.

use std::fmt;

/// An error the server answered a request with, split the way Telegram builds its names:
/// `FLOOD_WAIT_30` is the name `FLOOD_WAIT` with the value 30, `FILE_PART_3_MISSING` is
/// `FILE_PART_MISSING` with 3.
///
/// ```
/// use client_sdk::RpcError;
/// let e = RpcError::new(420, "FLOOD_WAIT_30");
/// assert_eq!(e.name, "FLOOD_WAIT");
/// assert_eq!(e.value, Some(30));
/// assert!(e.is("FLOOD_WAIT"));
/// let e = RpcError::new(400, "FILE_PART_3_MISSING");
/// assert_eq!((e.name.as_str(), e.value), ("FILE_PART_MISSING", Some(3)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    /// The HTTP-like code: 303 (migrate), 400, 401 (unauthorized), 403, 420 (flood), 500.
    pub code: i32,
    /// The name with any number taken out, e.g. `PHONE_MIGRATE`.
    pub name: String,
    /// The number the name carried, e.g. the seconds of a `FLOOD_WAIT_X`.
    pub value: Option<u32>,
    /// The message exactly as the server sent it.
    pub message: String,
}

impl RpcError {
    /// Splits a server message into name and value.
    pub fn new(code: i32, message: &str) -> Self {
        let mut name_parts = Vec::new();
        let mut value = None;
        for part in message.split('_') {
            match part.parse::<u32>() {
                Ok(v) if value.is_none() && !part.is_empty() => value = Some(v),
                _ => name_parts.push(part),
            }
        }
        RpcError {
            code,
            name: name_parts.join("_"),
            value,
            message: message.to_string(),
        }
    }

    /// Whether the error has this name (a trailing `*` matches any suffix: `"*_MIGRATE"` is
    /// not supported, but `"FLOOD_*"` is).
    pub fn is(&self, name: &str) -> bool {
        match name.strip_suffix('*') {
            Some(prefix) => self.name.starts_with(prefix),
            None => self.name == name,
        }
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RPC error {} {}", self.code, self.message)
    }
}

impl std::error::Error for RpcError {}

/// Why a call did not return an answer.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum InvocationError {
    /// The server answered with an error.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// The connection failed and the reconnect policy gave up.
    #[error("I/O error: {kind:?}: {message}")]
    Io {
        /// What kind of failure.
        kind: std::io::ErrorKind,
        /// The error's text.
        message: String,
    },
    /// The connection failed at the protocol level: the server sent a transport error code
    /// (e.g. -404: unknown auth key, -429: too many connections), bytes the transport could
    /// not read, a refused packet, a failed key exchange or no pong in time.
    #[error("connection: {0}")]
    Transport(#[from] mtproto::ClientConnectionError),
    /// The answer arrived but is not the type the request returns.
    #[error("the answer does not decode: {0}")]
    Decode(String),
    /// The server refused the message itself (`bad_msg_notification` with this code) for a
    /// reason re-sending cannot fix.
    #[error("the server refused the request (bad_msg_notification {0})")]
    Refused(i32),
    /// The client was shut down or the request was cancelled before an answer came.
    #[error("the request was dropped: the client is shutting down")]
    Dropped,
    /// A call needs something the client does not have (e.g. a peer it never saw).
    #[error("{0}")]
    Usage(String),
}

impl InvocationError {
    /// Whether this is the RPC error `name` (see [`RpcError::is`]).
    pub fn is(&self, name: &str) -> bool {
        matches!(self, InvocationError::Rpc(e) if e.is(name))
    }
}

impl From<std::io::Error> for InvocationError {
    fn from(e: std::io::Error) -> Self {
        InvocationError::Io {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// Why signing in did not finish.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SignInError {
    /// The phone number has no account: call [`Client::sign_up`](crate::Client::sign_up)
    /// with the same token.
    #[error("this phone number has no account yet: sign up")]
    SignUpRequired,
    /// The account has a cloud password (2FA): finish with
    /// [`Client::check_password`](crate::Client::check_password) and this token (which has
    /// the password's hint).
    #[error("the account has a cloud password (SESSION_PASSWORD_NEEDED)")]
    PasswordRequired(crate::PasswordToken),
    /// The code is wrong (`PHONE_CODE_INVALID`).
    #[error("the login code is wrong")]
    InvalidCode,
    /// Any other failure.
    #[error(transparent)]
    Other(#[from] InvocationError),
}

/// Why a cloud-password step ([`Client::check_password`](crate::Client::check_password),
/// [`Client::set_password`](crate::Client::set_password)) failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The password is wrong (`PASSWORD_HASH_INVALID`).
    #[error("the password is wrong")]
    Wrong,
    /// The account has a password and the call needs it (the `current` one was `None`).
    #[error("the account has a cloud password: the current one is needed")]
    CurrentRequired,
    /// The server uses a password algorithm this client does not know.
    #[error("the server's password algorithm is not one this client knows")]
    UnknownAlgorithm,
    /// The server's SRP values failed the checks of core.telegram.org/api/srp (a bad prime or
    /// generator, a bad `srp_B`): nothing was sent.
    #[error("the server's password parameters are unsafe: {0}")]
    Unsafe(#[from] mtproto::srp::SrpError),
    /// Any other failure (e.g. `FLOOD_WAIT_X` after too many wrong passwords).
    #[error(transparent)]
    Other(#[from] InvocationError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_are_split() {
        let e = RpcError::new(303, "PHONE_MIGRATE_4");
        assert_eq!((e.name.as_str(), e.value), ("PHONE_MIGRATE", Some(4)));
        let e = RpcError::new(400, "PHONE_CODE_INVALID");
        assert_eq!((e.name.as_str(), e.value), ("PHONE_CODE_INVALID", None));
        let e = RpcError::new(420, "FLOOD_PREMIUM_WAIT_7");
        assert_eq!((e.name.as_str(), e.value), ("FLOOD_PREMIUM_WAIT", Some(7)));
        assert!(e.is("FLOOD_*"));
        assert!(!e.is("FLOOD_WAIT"));
        // Telegram's odd one: a number glued to a word stays in the name.
        let e = RpcError::new(400, "MD5_CHECKSUM_INVALID");
        assert_eq!((e.name.as_str(), e.value), ("MD5_CHECKSUM_INVALID", None));
    }
}
