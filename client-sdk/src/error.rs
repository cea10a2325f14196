//! What can go wrong when calling the server.

/// An error the server answered a request with: [`mtproto::RpcError`],
/// the same type a server built on server-kit answers with.
///
/// ```
/// use client_sdk::RpcError;
/// let e = RpcError::new(420, "FLOOD_WAIT_30");
/// assert_eq!((e.name.as_str(), e.value), ("FLOOD_WAIT", Some(30)));
/// ```
pub use mtproto::RpcError;

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
