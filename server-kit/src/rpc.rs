//! RPC dispatch: errors with Telegram's names, who is calling, and the [`Service`] trait that
//! the built-in services implement and server implementers can implement for their own
//! methods.

use crate::state::Node;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// An RPC error as Telegram sends it (`400 PHONE_CODE_INVALID`, `420 FLOOD_WAIT_5`): mtproto's
/// [`mtproto::RpcError`], the type clients read too. A store failure converts to
/// 500 `INTERNAL` (logged), a request that does not decode to 400 `INPUT_REQUEST_INVALID`.
pub use mtproto::RpcError;

/// The result of one call: the serialized answer.
pub type RpcResult = Result<Vec<u8>, RpcError>;

/// A boxed future, as [`Service::call`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

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

/// A group of RPC methods. Register it with [`NodeBuilder::service`](crate::NodeBuilder::service).
///
/// ```
/// use server_kit::rpc::{BoxFuture, Caller, RpcResult, Service};
/// use server_kit::state::Node;
/// use std::sync::Arc;
///
/// /// Answers `help.getNearestDc` with DC 2 from everywhere.
/// struct Nearest;
///
/// impl Service for Nearest {
///     fn methods(&self) -> Vec<u32> {
///         vec![0x1fb33026]
///     }
///     fn call<'a>(&'a self, _: &'a Arc<Node>, _: Caller, _: Vec<u8>) -> BoxFuture<'a, RpcResult> {
///         use tl_runtime::Serialize;
///         Box::pin(async move {
///             Ok(mtproto_api::types::NearestDc { country: "NL".into(), this_dc: 2, nearest_dc: 2 }.to_bytes())
///         })
///     }
/// }
/// ```
pub trait Service: Send + Sync + 'static {
    /// The constructor ids of the methods it answers.
    fn methods(&self) -> Vec<u32>;
    /// Answers one call (`body` is the whole serialized function, constructor id first).
    fn call<'a>(
        &'a self,
        server: &'a Arc<Node>,
        caller: Caller,
        body: Vec<u8>,
    ) -> BoxFuture<'a, RpcResult>;
}

/// The constructor id a body starts with.
pub fn body_id(body: &[u8]) -> u32 {
    body.get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .unwrap_or(0)
}
