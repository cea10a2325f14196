//! Tokio building blocks for MTProto servers on the [`mtproto`] crate, and the reference
//! Telegram-compatible server built from them.
//!
//! - [`gateway`]: TCP listener, transport detection (every transport of the mtproto crate,
//!   obfuscated2 included), the key exchange with per-IP rate limiting, sessions per
//!   (auth key, session id), several connections per key; a graceful stop
//!   ([`gateway::serve_until`]).
//! - [`state`]: the shared [`Node`]: keys, sessions, who is online, pushes.
//! - [`rpc`]: dispatch by constructor id to [`Service`](rpc::Service)s, RPC errors with
//!   Telegram's names.
//! - [`services`]: auth, cloud passwords (SRP 2FA), account, help, users & contacts, messages,
//!   updates.
//! - [`store`]: the [`Store`](store::Store) trait and its embedded SQLite implementation.
//! - [`bus`]: how server nodes tell each other that something changed (Redis with feature
//!   `cluster`).
//! - [`deploy`]: the `--media` (local disk or S3) and `--bus` flags; [`config_file`]: the
//!   same flags from a TOML file (`--config`).
//! - [`shared`]: presence and rate limits shared by the nodes (Redis with feature
//!   `cluster`).
//! - [`push`]: push notifications for users who are offline (log and webhook providers);
//!   [`push_routing`]: a provider per device token type.
//! - [`sms`]: where login codes go (the log, or a remote gateway run in the background).
//! - [`provider_flags`]: the flags of the real providers, which are in `providers` (feature
//!   `providers`: FCM, APNs, Twilio, an HTTP template).
//! - [`stats`]: the metrics the server records (through the `metrics` facade);
//!   [`observe`]: `--metrics ADDR`, serving them in Prometheus' format with `/healthz` and
//!   `/readyz`.
//! - [`bot_token`]: bot tokens (`BOT_ID:SECRET`); bot accounts are created with
//!   [`services::bots::create_bot`] (the binary's `create-bot`).

pub mod bot_token;
pub mod bus;
mod call_order;
pub mod config_file;
pub mod deploy;
/// Entry point of the fuzz target (`fuzz/`); not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod gateway;
mod in_flight;
pub mod keys;
pub mod media;
pub mod observe;
pub mod photos;
pub mod provider_flags;
#[cfg(feature = "providers")]
pub mod providers;
pub mod push;
pub mod push_routing;
pub mod rpc;
pub mod services;
pub mod shared;
pub mod sms;
pub mod state;
pub mod stats;
pub mod store;

pub use state::{Node, NodeBuilder, Options};
