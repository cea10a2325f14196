//! What can go wrong when calling the server.

use crate::storage::{PeerKind, SessionError};
use std::sync::Arc;
use std::time::Duration;

/// An error the server answered a request with: [`mtproto::RpcError`],
/// the same type a server built on server-kit answers with.
///
/// ```
/// use client_sdk::RpcError;
/// let e = RpcError::new(420, "FLOOD_WAIT_30");
/// assert_eq!((e.name.as_str(), e.value), ("FLOOD_WAIT", Some(30)));
/// ```
pub use mtproto::RpcError;

/// The error of reading TL: an answer that is not the type its request returns.
pub use tl_runtime::Error as DecodeError;

/// Why a call did not return an answer.
///
/// RPC errors carry the TL name of the request that caused them and match on names the way
/// Telegram's documentation writes them:
///
/// ```
/// use client_sdk::{InvocationError, RpcError};
/// let e = InvocationError::Rpc {
///     request: "messages.sendMessage",
///     error: RpcError::new(420, "FLOOD_WAIT_5"),
/// };
/// assert!(e.is("FLOOD_WAIT_*") && e.is("FLOOD_WAIT") && e.is("FLOOD_WAIT_X"));
/// assert!(!e.is("FLOOD_PREMIUM_WAIT_*"));
/// assert_eq!((e.request(), e.value()), (Some("messages.sendMessage"), Some(5)));
/// assert_eq!(e.flood_wait(), Some(std::time::Duration::from_secs(5)));
/// assert_eq!(e.to_string(), "messages.sendMessage: RPC error 420 FLOOD_WAIT_5");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum InvocationError {
    /// The server answered `request` with an error.
    #[error("{request}: {error}")]
    Rpc {
        /// The TL name of the request, e.g. `messages.sendMessage` (for requests of types
        /// generated outside `mtproto-api`, their Rust type name).
        request: &'static str,
        /// The error.
        #[source]
        error: RpcError,
    },
    /// The connection failed and the reconnect policy gave up (or the first connection
    /// attempt failed).
    #[error("I/O: {0}")]
    Io(#[source] Arc<std::io::Error>),
    /// The connection failed at the protocol level: the server sent a transport error code
    /// (e.g. -404: unknown auth key, -429: too many connections), bytes the transport could
    /// not read, a refused packet, a failed key exchange or no pong in time.
    #[error("connection: {0}")]
    Transport(#[from] mtproto::ClientConnectionError),
    /// The answer arrived but is not the type `request` returns.
    #[error("the answer to {request} does not decode: {error}")]
    Decode {
        /// The TL name of the request.
        request: &'static str,
        /// Why it does not decode.
        #[source]
        error: DecodeError,
    },
    /// The answer decodes but lacks something the call needs (e.g. a `sendMessage` answer
    /// without the new message's id).
    #[error("the answer to {request} has no {missing}")]
    Incomplete {
        /// The TL name of the request.
        request: &'static str,
        /// What is missing.
        missing: &'static str,
    },
    /// The server answered with a constructor this call cannot go on with (e.g.
    /// `upload.fileCdnRedirect` to a client that did not ask for CDNs).
    #[error("{request} answered {answer}, which this call cannot go on with")]
    UnexpectedAnswer {
        /// The TL name of the request.
        request: &'static str,
        /// The TL name of the answer's constructor.
        answer: &'static str,
    },
    /// The server refused the message itself (`bad_msg_notification` with this code) for a
    /// reason re-sending cannot fix.
    #[error("the server refused {request} (bad_msg_notification {code})")]
    Refused {
        /// The TL name of the request.
        request: &'static str,
        /// The `bad_msg_notification` error code.
        code: i32,
    },
    /// The client was shut down or the request was cancelled before an answer came.
    #[error("the request was dropped: the client is shutting down")]
    Dropped,
    /// The client knows no address for this DC (neither configured nor from the server).
    #[error("no address known for DC {dc}")]
    UnknownDc {
        /// The DC id.
        dc: i32,
    },
    /// The session could not be loaded.
    #[error("cannot load the session: {0}")]
    Session(#[source] Arc<SessionError>),
    /// A call needs another kind of peer (e.g. joining a user as if it were a channel).
    #[error("this call needs a {expected:?}, not a {got:?}")]
    WrongPeerKind {
        /// The kind the call needs.
        expected: PeerKind,
        /// The kind it was given.
        got: PeerKind,
    },
}

impl InvocationError {
    /// Whether this is an RPC error matching `pattern`, written as Telegram's documentation
    /// writes error names:
    /// - `"FLOOD_WAIT"` or `"FLOOD_WAIT_5"`: the name without its number, or the whole
    ///   message;
    /// - `"FLOOD_WAIT_X"`, `"FILE_PART_X_MISSING"`: a segment `X` stands for the number;
    /// - `"FLOOD_WAIT_*"`, `"*_MIGRATE_*"`: a leading or trailing `*` matches any rest
    ///   (of the message or of the name).
    pub fn is(&self, pattern: &str) -> bool {
        self.rpc().is_some_and(|e| rpc_matches(e, pattern))
    }

    /// The RPC error, if the server answered with one.
    pub fn rpc(&self) -> Option<&RpcError> {
        match self {
            InvocationError::Rpc { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The TL name of the request that failed, where the error is about one request.
    pub fn request(&self) -> Option<&'static str> {
        match self {
            InvocationError::Rpc { request, .. }
            | InvocationError::Decode { request, .. }
            | InvocationError::Incomplete { request, .. }
            | InvocationError::UnexpectedAnswer { request, .. }
            | InvocationError::Refused { request, .. } => Some(request),
            _ => None,
        }
    }

    /// The number an RPC error's name carried (`FLOOD_WAIT_5` → 5, `PHONE_MIGRATE_4` → 4).
    pub fn value(&self) -> Option<u32> {
        self.rpc().and_then(|e| e.value)
    }

    /// How long the server asks to wait (`FLOOD_WAIT_X`, `FLOOD_PREMIUM_WAIT_X`,
    /// `SLOWMODE_WAIT_X`: a 420 error with a number).
    pub fn flood_wait(&self) -> Option<Duration> {
        let e = self
            .rpc()
            .filter(|e| e.code == 420 && e.name.ends_with("WAIT"))?;
        e.value.map(|s| Duration::from_secs(u64::from(s)))
    }

    /// Wraps a server's error to `request`.
    pub(crate) fn rpc_of(request: &'static str, error: RpcError) -> Self {
        InvocationError::Rpc { request, error }
    }
}

/// Whether `e` matches `pattern` (see [`InvocationError::is`]).
fn rpc_matches(e: &RpcError, pattern: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        if let Some(infix) = prefix.strip_prefix('*') {
            return e.message.contains(infix) || e.name.contains(infix);
        }
        return e.message.starts_with(prefix) || e.name.starts_with(prefix);
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        return e.message.ends_with(suffix) || e.name.ends_with(suffix);
    }
    if pattern.split('_').any(|part| part == "X") {
        let name = pattern
            .split('_')
            .filter(|part| *part != "X")
            .collect::<Vec<_>>()
            .join("_");
        return e.value.is_some() && e.name == name;
    }
    e.name == pattern || e.message == pattern
}

impl From<std::io::Error> for InvocationError {
    fn from(e: std::io::Error) -> Self {
        InvocationError::Io(Arc::new(e))
    }
}

impl From<SessionError> for InvocationError {
    fn from(e: SessionError) -> Self {
        InvocationError::Session(Arc::new(e))
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
    /// The server asked for the password at sign-in but says the account has none.
    #[error("the server asks for a password but says the account has none")]
    NoPassword,
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

    fn rpc(message: &str) -> InvocationError {
        InvocationError::rpc_of("test.call", RpcError::new(400, message))
    }

    #[test]
    fn patterns_match_names_as_telegram_writes_them() {
        let flood = InvocationError::rpc_of("messages.sendMessage", RpcError::flood_wait(5));
        for yes in [
            "FLOOD_WAIT",
            "FLOOD_WAIT_5",
            "FLOOD_WAIT_X",
            "FLOOD_WAIT_*",
            "FLOOD_*",
        ] {
            assert!(flood.is(yes), "{yes}");
        }
        for no in [
            "FLOOD_WAIT_6",
            "FLOOD_PREMIUM_WAIT_*",
            "FLOOD",
            "X",
            "*_MISSING",
        ] {
            assert!(!flood.is(no), "{no}");
        }
        let part = rpc("FILE_PART_3_MISSING");
        assert!(part.is("FILE_PART_X_MISSING") && part.is("*_MISSING") && part.is("*PART*"));
        assert_eq!(part.value(), Some(3));
        assert!(!rpc("FILE_PART_MISSING").is("FILE_PART_X_MISSING"));
        assert!(rpc("PEER_ID_INVALID").is("PEER_ID_INVALID"));
        assert!(!rpc("PEER_ID_INVALID").is("PEER_ID"));
        assert!(!InvocationError::Dropped.is("*"));
    }

    #[test]
    fn accessors_and_flood_wait() {
        let e = InvocationError::rpc_of("auth.sendCode", RpcError::new(420, "FLOOD_WAIT_30"));
        assert_eq!(e.request(), Some("auth.sendCode"));
        assert_eq!(e.flood_wait(), Some(Duration::from_secs(30)));
        let premium =
            InvocationError::rpc_of("upload.getFile", RpcError::new(420, "FLOOD_PREMIUM_WAIT_7"));
        assert_eq!(premium.flood_wait(), Some(Duration::from_secs(7)));
        assert_eq!(rpc("PHONE_MIGRATE_4").flood_wait(), None);
        assert_eq!(rpc("PHONE_MIGRATE_4").value(), Some(4));
        let io: InvocationError = std::io::Error::from(std::io::ErrorKind::TimedOut).into();
        assert!(matches!(&io, InvocationError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut));
        assert_eq!(io.request(), None);
        assert!(std::error::Error::source(&io).is_some());
    }
}
