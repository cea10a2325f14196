//! A tokio MTProto client built on the sans-IO [`mtproto`] crate: connect to Telegram or to
//! your own server (e.g. server-kit's), sign in, call any RPC of the typed API — or of types
//! you generate yourself from the full schema — receive updates in order with gaps filled,
//! and move files with several parts in flight.
//!
//! ```no_run
//! use client_sdk::{Client, Config, FileSessionStore};
//! use std::sync::Arc;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = Config::default();
//! config.init.api_id = 12345;
//! config.api_hash = "0123456789abcdef0123456789abcdef".into();
//! config.session = Arc::new(FileSessionStore::new("me.session"));
//! let client = Client::connect(config).await?;
//! if !client.is_authorized() {
//!     let token = client.request_login_code("+15550001234").await?;
//!     client.sign_in(&token, "12345").await?;
//! }
//! let peer = client.resolve_username("durov").await?;
//! client.send_message(&peer, "Hello!").await?;
//! while let Some(update) = client.next_update().await {
//!     println!("{update:?}");
//! }
//! # Ok(()) }
//! ```
//!
//! Messages come back as [`Message`] values (text, entities, sender, chat, reply, forward
//! header, media, with the raw TL message behind them); [`InputMessage`] builds what to send,
//! from plain text or from Markdown / HTML ([`parse_mode`], features `markdown` and `html`,
//! both on by default):
//!
//! ```no_run
//! # #[cfg(feature = "markdown")]
//! # async fn demo(client: client_sdk::Client, peer: client_sdk::PeerRef) -> Result<(), client_sdk::InvocationError> {
//! use client_sdk::InputMessage;
//! let sent = client.send_message(&peer, InputMessage::markdown("**Hi** 👋")).await?;
//! assert_eq!(sent.text(), "Hi 👋");
//! match client.send_message(&peer, "again").await {
//!     Err(e) if e.is("FLOOD_WAIT_*") => println!("{} asks to wait {:?}", e.request().unwrap_or("?"), e.flood_wait()),
//!     other => { other?; }
//! }
//! # Ok(()) }
//! ```
//!
//! Each DC has its own connection task; calls are queued to it and answered through a
//! channel, so a slow DC never blocks another. A lost connection is re-established with
//! backoff and the requests the server had not acknowledged are sent again.

mod auth;
mod client;
mod config;
mod connection;
mod error;
mod files;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod input_message;
mod link;
mod message;
mod messages;
pub mod parse_mode;
mod password;
mod peer;
mod storage;
pub mod updates;

pub use auth::LoginToken;
pub use client::Client;
pub use config::{Config, InitParams, ReconnectPolicy, TELEGRAM_DCS, TELEGRAM_RSA_KEY, Transport};
pub use error::{DecodeError, InvocationError, PasswordError, RpcError, SignInError};
pub use files::{DOWNLOAD_CHUNK, FileLocation, Progress, TransferError};
pub use input_message::InputMessage;
pub use message::Message;
pub use messages::{Dialog, DialogIter, MessageIter, message_id_date};
pub use parse_mode::ParseMode;
pub use password::PasswordToken;
pub use peer::{Peer, PeerRef, peer_key};
pub use storage::{
    DcEntry, FileSessionStore, MemorySessionStore, PeerKind, SessionData, SessionError,
    SessionStore, UpdateState,
};

/// The RSA public key type, to trust your own server's key.
pub use mtproto::crypto::RsaPublicKey;
/// The typed API this client speaks (layer 229), re-exported.
pub use mtproto_api as api;
