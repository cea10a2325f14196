//! The reference Telegram-compatible server and the `server-kit` binary, wired from the
//! server-kit crates; this crate re-exports them under one roof.
//!
//! - `server-kit-core` ([`gateway`], [`state`], [`rpc`], [`bus`], [`presence`], [`media`],
//!   [`push`], [`push_routing`], [`sms`], [`stats`], [`observe`], [`keys`]): the tokio
//!   driver of mtproto's `ServerEndpoint`, dispatch to services, the interfaces with light
//!   defaults. Take it alone to build a server with your own store and services.
//! - `server-kit-reference` ([`services`], [`photos`], [`bot_token`]): the
//!   Telegram-compatible services; [`reference()`] adds them to a [`NodeBuilder`].
//! - [`store`]: the storage interface (`server-kit-store`), the embedded SQLite store and,
//!   with the feature `postgres`, the PostgreSQL one; [`store::StoreLocation`] reads `--store`.
//! - `server-kit-cluster` (feature `cluster`): the Redis bus and presence, S3 media,
//!   re-exported in [`bus`], [`presence`] and [`media`].
//! - The binary's parts: [`deploy`] (`--media`, `--bus`), [`config_file`] (`--config FILE`),
//!   [`provider_flags`] and, with the feature `providers`, `providers` (FCM, APNs, Twilio,
//!   an HTTP template), [`web`] (`--web DIR`: a web client's static files).

pub use server_kit_core::{
    gateway, keys, observe, push, push_routing, rpc, sms, state, stats, websocket,
};
pub use server_kit_reference::{bot_token, photos, reference, services};

/// How server nodes tell each other that something changed ([`server_kit_core::bus`]; the
/// Redis bus with the feature `cluster`).
pub mod bus {
    #[cfg(feature = "cluster")]
    pub use server_kit_cluster::RedisBus;
    pub use server_kit_core::bus::*;
}

/// Presence and rate limits shared by the nodes ([`server_kit_core::presence`]; in Redis
/// with the feature `cluster`).
pub mod presence {
    #[cfg(feature = "cluster")]
    pub use server_kit_cluster::RedisPresence;
    pub use server_kit_core::presence::*;
}

/// File bytes and uploads ([`server_kit_core::media`]; S3 with the feature `cluster`).
pub mod media {
    #[cfg(feature = "cluster")]
    pub use server_kit_cluster::{MULTIPART_PART, S3ConfigError, S3Storage};
    pub use server_kit_core::media::*;
}

pub mod config_file;
pub mod deploy;
/// Entry point of the fuzz target (`fuzz/`); not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod provider_error;
pub mod provider_flags;
#[cfg(feature = "providers")]
pub mod providers;
pub mod store;
pub mod web;

pub use server_kit_core::{BoxFuture, RemoteChanges, Service};
pub use state::{Node, NodeBuilder, Options};
