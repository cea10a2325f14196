//! Several `server-kit` nodes as one server, each part behind an interface of
//! `server-kit-core`:
//!
//! - [`RedisBus`] ([`Bus`](server_kit_core::bus::Bus)): "box X changed" notices between
//!   nodes over Redis pub/sub;
//! - [`RedisPresence`] ([`Presence`](server_kit_core::presence::Presence)): who is online on
//!   any node, and rate limits counted across nodes, in Redis;
//! - [`S3Storage`] ([`FileStorage`](server_kit_core::media::FileStorage)): file bytes in
//!   S3-compatible object storage, shared by every node.
//!
//! The store is shared too: `server-kit-postgres`.

mod redis_bus;
mod redis_presence;
mod s3;

pub use redis_bus::RedisBus;
pub use redis_presence::RedisPresence;
pub use s3::{MULTIPART_PART, S3ConfigError, S3Storage};
