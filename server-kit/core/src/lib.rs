//! The core of an MTProto server on tokio: the driver of [`mtproto::ServerEndpoint`], RPC
//! dispatch to [`Service`]s, and the interfaces a server plugs its parts into,
//! each with a light default. It carries no storage engine, no image codecs and no CLI: bring
//! a store (any [`store::Store`]: `server-kit-sqlite`, `server-kit-postgres` or your own) and
//! your services, or take the reference ones from `server-kit-reference`.
//!
//! - [`gateway`]: TCP listeners, transport detection (every transport of the mtproto crate,
//!   obfuscated2 included), the key exchange with per-IP rate limiting, sessions per
//!   (auth key, session id), several connections per key; a graceful stop
//!   ([`gateway::serve_until`]). [`websocket`]: MTProto over WebSocket (`/apiws`) on the
//!   same ports or one of its own ([`gateway::Accepts`]).
//! - [`state`]: the shared [`Node`]: keys, sessions, who is online, pushes, dispatch.
//! - [`rpc`]: per-method [`Policy`](rpc::Policy), who is calling, RPC errors with Telegram's
//!   names; the [`Service`] trait is [`state`]'s, beside the [`Node`] that calls it.
//! - [`bus`]: how server nodes tell each other that something changed ([`bus::LocalBus`]
//!   with one node; Redis in `server-kit-cluster`).
//! - [`presence`]: who is online and the rate limits shared by the nodes (in memory with
//!   one node; Redis in `server-kit-cluster`).
//! - [`media`]: uploads checked part by part and stored by content ([`media::DiskStorage`];
//!   S3 in `server-kit-cluster`).
//! - [`push`]: push notifications for users who are offline (log provider; webhook with the
//!   feature `webhook`); [`push_routing`]: a provider per device token type.
//! - [`sms`]: where login codes go (the log, or a remote gateway run in the background).
//! - [`stats`]: the metrics the server records (through the `metrics` facade);
//!   [`observe`]: serving them in Prometheus' format with `/healthz` and `/readyz`.
//! - [`keys`]: the server's RSA key pair on disk; [`os`]: the clock and randomness.
//! - [`store`]: the storage interface (`server-kit-store`, re-exported).
//!
//! A server with one method of its own, answered before sign-in, on an in-memory store and
//! in-memory files, listening on a free loopback port until told to stop:
//!
//! ```
//! use server_kit_core::rpc::{BoxFuture, Caller, Policy, RpcResult};
//! use server_kit_core::{media::MemoryStorage, Node, NodeBuilder, Options, Service};
//! use std::sync::Arc;
//! use tl_runtime::{Deserialize, Identifiable, Serialize};
//! use mtproto_api::{functions, types, enums};
//!
//! /// `help.getNearestDc`: DC 2, from everywhere, for anyone.
//! struct Nearest;
//!
//! impl Service for Nearest {
//!     fn methods(&self) -> Vec<u32> {
//!         vec![functions::help::GetNearestDc::CONSTRUCTOR_ID]
//!     }
//!     fn policy(&self, _method: u32) -> Policy {
//!         Policy::SIGNED_IN.without_auth()
//!     }
//!     fn call<'a>(&'a self, _: &'a Arc<Node>, _: Caller, _: Vec<u8>) -> BoxFuture<'a, RpcResult> {
//!         let answer = types::NearestDc { country: "NL".into(), this_dc: 2, nearest_dc: 2 };
//!         Box::pin(async move { Ok(answer.to_bytes()) })
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // Any `store::Store` does; the embedded SQLite one also runs in memory.
//! let store = Arc::new(server_kit_sqlite::SqliteStore::in_memory().unwrap());
//! let rsa = mtproto::crypto::RsaPrivateKey::generate(512, &mut server_kit_core::state::rng());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let options = Options::new(listener.local_addr().unwrap());
//! let node = NodeBuilder::new(options, store, Arc::new(MemoryStorage::default()), rsa)
//!     .service(Arc::new(Nearest))
//!     .build()
//!     .unwrap();
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(server_kit_core::gateway::serve_until(
//!     node.clone(),
//!     listener,
//!     async { let _ = stopped.await; },
//!     std::time::Duration::from_secs(1),
//! ));
//!
//! // A call as a connection would hand it over, wrappers and all.
//! let caller = Caller { key_id: 1, session_id: 1, user_id: None, layer: 0 };
//! let call = functions::InvokeWithLayer { layer: 229, query: functions::help::GetNearestDc {} };
//! let answer = node.dispatch(caller, call.to_bytes()).await.unwrap();
//! let enums::NearestDc::NearestDc(nearest) = enums::NearestDc::from_bytes(answer).unwrap();
//! assert_eq!(nearest.this_dc, 2);
//!
//! // Anything else is not a method here.
//! let other = functions::help::GetConfig {}.to_bytes();
//! assert!(node.dispatch(caller, other).await.unwrap_err().is("INPUT_METHOD_INVALID"));
//!
//! let _ = stop.send(());
//! server.await.unwrap();
//! # }
//! ```

pub mod bus;
mod call_order;
mod carrier;
pub mod gateway;
mod in_flight;
pub mod keys;
pub mod media;
pub mod observe;
pub mod os;
pub mod presence;
pub mod push;
pub mod push_routing;
pub mod rpc;
pub mod sms;
pub mod state;
pub mod stats;
pub mod websocket;

/// The storage interface: the `server-kit-store` crate.
pub use server_kit_store as store;

pub use state::{Node, NodeBuilder, Options, PresenceChanges, RemoteChanges, Service};

/// A boxed future: what the interfaces here return, so that they can be used as objects.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
