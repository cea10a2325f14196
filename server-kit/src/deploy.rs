//! Where a node keeps its file bytes and how it finds the other nodes: the `--media` and
//! `--bus` flags of the server binary (the store is `--store`, see
//! [`StoreLocation`](crate::store::StoreLocation)).
//!
//! - `--media file:DIR` (default: `DATA/media`) or `--media s3://BUCKET?endpoint=URL`
//!   (feature `cluster`; credentials from the usual AWS variables).
//! - `--bus redis://HOST:PORT` (feature `cluster`); without it, one node and no bus. The same
//!   Redis holds presence and the shared rate limits ([`presence`](crate::presence)).
//!
//! Several nodes share one store: PostgreSQL (`--store postgres://...`), or, on one machine,
//! one SQLite file (`--store sqlite:PATH`, WAL works across processes).

use crate::bus::{Bus, LocalBus};
use crate::media::{DiskStorage, FileStorage};
use crate::presence::{LocalPresence, Presence};
use std::path::Path;
use std::sync::Arc;

/// The deployment flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DeployArgs {
    /// Where file bytes live: `file:DIR` (default: DATA/media) or
    /// `s3://BUCKET[?endpoint=URL][&region=REGION]` (feature `cluster`; credentials from
    /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
    #[arg(long, value_name = "file:DIR | s3://BUCKET?endpoint=URL")]
    pub media: Option<String>,
    /// The bus to the other server nodes: `redis://HOST:PORT` (feature `cluster`).
    #[arg(long, value_name = "redis://HOST:PORT")]
    pub bus: Option<String>,
}

/// A flag that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// Not a form the flag takes.
    #[error("--{flag} {value}: {why}")]
    Invalid {
        /// The flag.
        flag: &'static str,
        /// Its value.
        value: String,
        /// What is wrong.
        why: String,
    },
    /// The media directory could not be made.
    #[error("media directory: {0}")]
    Io(#[from] std::io::Error),
}

fn invalid(flag: &'static str, value: &str, why: impl Into<String>) -> DeployError {
    DeployError::Invalid {
        flag,
        value: value.to_owned(),
        why: why.into(),
    }
}

impl DeployArgs {
    /// The file storage. S3 storage must be made inside a tokio runtime.
    pub fn file_storage(&self, data: &Path) -> Result<Arc<dyn FileStorage>, DeployError> {
        let Some(media) = &self.media else {
            return Ok(Arc::new(DiskStorage::new(data.join("media"))?));
        };
        if let Some(dir) = media.strip_prefix("file:") {
            if dir.is_empty() {
                return Err(invalid("media", media, "expected file:DIR"));
            }
            return Ok(Arc::new(DiskStorage::new(dir)?));
        }
        if media.starts_with("s3://") {
            #[cfg(feature = "cluster")]
            {
                let storage = server_kit_cluster::S3Storage::from_url(media)
                    .map_err(|e| invalid("media", media, e.to_string()))?;
                return Ok(Arc::new(storage));
            }
            #[cfg(not(feature = "cluster"))]
            return Err(invalid(
                "media",
                media,
                "this server was built without feature `cluster`",
            ));
        }
        Err(invalid("media", media, "expected file:DIR or s3://BUCKET"))
    }

    /// The bus. The Redis bus starts its connection tasks on the current tokio runtime.
    pub fn bus(&self) -> Result<Arc<dyn Bus>, DeployError> {
        let Some(bus) = &self.bus else {
            return Ok(Arc::new(LocalBus));
        };
        if bus.starts_with("redis://") {
            #[cfg(feature = "cluster")]
            {
                let redis = server_kit_cluster::RedisBus::start(bus)
                    .map_err(|e| invalid("bus", bus, e.to_string()))?;
                return Ok(Arc::new(redis));
            }
            #[cfg(not(feature = "cluster"))]
            return Err(invalid(
                "bus",
                bus,
                "this server was built without feature `cluster`",
            ));
        }
        Err(invalid("bus", bus, "expected redis://HOST:PORT"))
    }
}

impl DeployArgs {
    /// Presence and rate limits: in the `--bus` Redis when there is one (checked by
    /// [`bus`](Self::bus)), else in this node's memory. The node's name among the others is
    /// kept in `DATA/node-id` (made on first start).
    pub fn presence(&self, data: &Path) -> Result<Arc<dyn Presence>, DeployError> {
        let Some(bus) = &self.bus else {
            return Ok(Arc::new(LocalPresence::default()));
        };
        #[cfg(feature = "cluster")]
        {
            let node = node_id(data)?;
            let state = server_kit_cluster::RedisPresence::start(bus, &node)
                .map_err(|e| invalid("bus", bus, e.to_string()))?;
            Ok(state)
        }
        #[cfg(not(feature = "cluster"))]
        {
            let _ = data;
            Err(invalid(
                "bus",
                bus,
                "this server was built without feature `cluster`",
            ))
        }
    }
}

/// This node's name among the nodes (16 hex digits), kept in `DATA/node-id` so that a
/// restarted node is the same node.
pub fn node_id(data: &Path) -> Result<String, DeployError> {
    let path = data.join("node-id");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let id = text.trim();
        if id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(id.to_owned());
        }
    }
    let id = format!("{:016x}", u64::from_le_bytes(crate::state::random_array()));
    std::fs::write(&path, format!("{id}\n"))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_one_node_on_local_disk() {
        let dir = std::env::temp_dir().join(format!("deploy-{}", std::process::id()));
        let args = DeployArgs::default();
        assert!(args.file_storage(&dir).is_ok());
        assert!(dir.join("media").join("uploads").is_dir());
        assert!(args.bus().unwrap().events().is_none());
        assert!(!args.presence(&dir).unwrap().is_shared());
        let id = node_id(&dir).unwrap();
        assert_eq!(node_id(&dir).unwrap(), id, "kept across restarts");
        assert_eq!(id.len(), 16);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn unknown_forms_are_refused() {
        let dir = std::env::temp_dir();
        for media in ["file:", "ftp://x", "/plain/path"] {
            let args = DeployArgs {
                media: Some(media.into()),
                ..DeployArgs::default()
            };
            assert!(args.file_storage(&dir).is_err(), "{media}");
        }
        let args = DeployArgs {
            bus: Some("nats://127.0.0.1:4222".into()),
            ..DeployArgs::default()
        };
        assert!(args.bus().is_err());
    }
}
