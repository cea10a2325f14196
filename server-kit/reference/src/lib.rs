//! The Telegram-compatible services of the reference server, on `server-kit-core`: auth and
//! cloud passwords (SRP 2FA), account, help, users and contacts, messages, groups and
//! channels, uploads and downloads, updates and getDifference, devices and push settings,
//! bots. [`services::builtin`] lists them; [`services::RemotePushes`] pushes what other nodes
//! committed. [`photos`] makes the sizes of uploaded photos; [`bot_token`] reads and makes
//! bot tokens.
//!
//! ```
//! use server_kit_core::{NodeBuilder, Options};
//! # fn build(store: std::sync::Arc<dyn server_kit_core::store::Store>,
//! #          files: std::sync::Arc<dyn server_kit_core::media::FileStorage>,
//! #          rsa: mtproto::crypto::RsaPrivateKey) {
//! let builder = NodeBuilder::new(Options::new("127.0.0.1:4430".parse().unwrap()), store, files, rsa);
//! let builder = server_kit_reference::reference(builder);
//! # let _ = builder;
//! # }
//! ```

pub mod bot_token;
pub mod photos;
pub mod push_jobs;
pub mod services;

// The core's modules under the names the services use.
use server_kit_core::{bus, media, push, rpc, state, stats, store};

use std::sync::Arc;

/// `builder` with every built-in service and the pushes of changes made on other nodes: the
/// reference server.
pub fn reference(builder: server_kit_core::NodeBuilder) -> server_kit_core::NodeBuilder {
    builder
        .services(services::builtin())
        .remote_changes(Arc::new(services::RemotePushes))
        .presence_changes(Arc::new(services::status::StatusPushes))
}
