//! RPC dispatch: errors with Telegram's names, who is calling, and the [`Service`] trait that
//! the built-in services implement and server implementers can implement for their own
//! methods.

use crate::state::Server;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// An RPC error as Telegram sends it: a code and a name such as `PHONE_CODE_INVALID`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} {name}")]
pub struct RpcError {
    /// 400, 401, 403, 420, 500, ...
    pub code: i32,
    /// The error name.
    pub name: String,
}

impl RpcError {
    /// A 400 error.
    pub fn bad_request(name: impl Into<String>) -> Self {
        RpcError {
            code: 400,
            name: name.into(),
        }
    }

    /// A 401 error.
    pub fn unauthorized(name: impl Into<String>) -> Self {
        RpcError {
            code: 401,
            name: name.into(),
        }
    }

    /// A 420 `FLOOD_WAIT_X`: the caller may try again after `seconds` (at least 1).
    pub fn flood_wait(seconds: u64) -> Self {
        RpcError {
            code: 420,
            name: format!("FLOOD_WAIT_{}", seconds.max(1)),
        }
    }

    /// A 500 error (details go to the log, not to the client).
    pub fn internal() -> Self {
        RpcError {
            code: 500,
            name: "INTERNAL".into(),
        }
    }
}

impl From<crate::store::StoreError> for RpcError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!("store: {e}");
        RpcError::internal()
    }
}

impl From<tl_runtime::Error> for RpcError {
    fn from(_: tl_runtime::Error) -> Self {
        RpcError::bad_request("INPUT_REQUEST_INVALID")
    }
}

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

/// A group of RPC methods. Register it with [`ServerBuilder::service`](crate::ServerBuilder::service).
///
/// ```
/// use server_kit::rpc::{BoxFuture, Caller, RpcResult, Service};
/// use server_kit::state::Server;
/// use std::sync::Arc;
///
/// /// Answers `help.getNearestDc` with DC 2 from everywhere.
/// struct Nearest;
///
/// impl Service for Nearest {
///     fn methods(&self) -> Vec<u32> {
///         vec![0x1fb33026]
///     }
///     fn call<'a>(&'a self, _: &'a Arc<Server>, _: Caller, _: Vec<u8>) -> BoxFuture<'a, RpcResult> {
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
        server: &'a Arc<Server>,
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
