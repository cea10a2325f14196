//! What a call carries to its handler: errors with Telegram's names, who is calling, the
//! [`Policy`] checked before the handler runs. The [`Service`](crate::Service) trait, which
//! the built-in services implement and server implementers implement for their own methods,
//! is beside the [`Node`](crate::Node) that calls it.

/// An RPC error as Telegram sends it (`400 PHONE_CODE_INVALID`, `420 FLOOD_WAIT_5`): mtproto's
/// [`mtproto::RpcError`], the type clients read too. A store failure converts to
/// 500 `INTERNAL` (logged), a request that does not decode to 400 `INPUT_REQUEST_INVALID`.
pub use mtproto::RpcError;

/// The result of one call: the serialized answer.
pub type RpcResult = Result<Vec<u8>, RpcError>;

pub use crate::BoxFuture;

/// Who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The auth key.
    pub key_id: i64,
    /// The session.
    pub session_id: i64,
    /// The user signed in on the key, if any.
    pub user_id: Option<i64>,
    /// The API layer the client speaks.
    pub layer: i32,
}

impl Caller {
    /// The signed-in user, or 401 `AUTH_KEY_UNREGISTERED`.
    pub fn user(&self) -> Result<i64, RpcError> {
        self.user_id
            .ok_or_else(|| RpcError::unauthorized("AUTH_KEY_UNREGISTERED"))
    }
}

/// What the dispatcher checks before a method's handler runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// Callable on a key nobody is signed in with (sign-in itself, `help.getConfig`, ...);
    /// otherwise such a caller gets 401 `AUTH_KEY_UNREGISTERED`.
    pub without_auth: bool,
    /// Not for bots: a signed-in bot gets 400 `BOT_METHOD_INVALID` (one user lookup, for
    /// these methods only).
    pub users_only: bool,
    /// Not counted against the user's call rate (file parts, which come hundreds at once).
    pub unrated: bool,
}

impl Policy {
    /// The default policy: signed-in callers, bots too, rated.
    pub const SIGNED_IN: Policy = Policy {
        without_auth: false,
        users_only: false,
        unrated: false,
    };

    /// Also callable before sign-in.
    pub const fn without_auth(mut self) -> Self {
        self.without_auth = true;
        self
    }

    /// Refused to bots.
    pub const fn users_only(mut self) -> Self {
        self.users_only = true;
        self
    }

    /// Not counted against the call rate.
    pub const fn unrated(mut self) -> Self {
        self.unrated = true;
        self
    }
}

/// The constructor id a body starts with.
pub fn body_id(body: &[u8]) -> u32 {
    body.get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .unwrap_or(0)
}
