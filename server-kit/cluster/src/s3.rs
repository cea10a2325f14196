//! Media in S3-compatible object storage (feature `cluster`, `--media s3://BUCKET?...`).
//!
//! Layout in the bucket: `uploads/OWNER_FILEID/PART` while uploading (one object per client
//! part), `files/SHA256` after assembly (content-addressed, stored once), `tmp/...` during an
//! assembly.
//!
//! Why the client parts are objects of their own: clients send 512 KiB parts (S3 wants 5 MiB
//! or more for every multipart part but the last), in any order, several at once, possibly
//! through different nodes, re-sent after reconnects. A 5 MiB S3 part can only be written
//! once its ten client parts are all there, so holding them in a node's memory until then
//! would lose them when the node restarts, and a client could not finish the upload through
//! another node. As objects, every part the client was told is saved is durable and seen by
//! every node; the bucket is made for bytes, where the shared SQL store is not. Assembly
//! then streams the parts in order into one multipart upload, re-chunked into 5 MiB parts,
//! hashing as it goes (SHA-256 names the file, MD5 is checked against the client's), and
//! copies the result to its content address (a copy inside the bucket).
//!
//! An assembly cut short by a crash leaves its `tmp/` object (removed by
//! [`expire_uploads`](FileStorage::expire_uploads)) or an unfinished multipart upload:
//! give the bucket a lifecycle rule that aborts incomplete multipart uploads after a day.
//!
//! [`FileStorage`] is synchronous (called on tokio's blocking pool); each call runs its
//! requests on the runtime the storage was made on.

use futures_util::{StreamExt as _, TryStreamExt as _};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use server_kit_core::media::{AssembleError, FileStorage, Stored, hex};
use sha2::Digest as _;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// The size of each multipart part (the S3 minimum; the last may be smaller).
pub const MULTIPART_PART: usize = 5 << 20;
/// Client parts fetched at once during an assembly.
const FETCH_AHEAD: usize = 8;
/// Multipart parts in flight at once.
const UPLOADS_IN_FLIGHT: usize = 4;
/// File sizes remembered (files never change, so sizes never go stale).
const SIZE_CACHE: usize = 16_384;

/// Why an `s3://` address could not be used.
#[derive(Debug, thiserror::Error)]
pub enum S3ConfigError {
    /// The address is malformed.
    #[error("media address: {0}")]
    Address(String),
    /// The object store client could not be made.
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// Not inside a tokio runtime.
    #[error("S3 storage must be made inside a tokio runtime")]
    NoRuntime,
}

/// Files in an S3-compatible bucket.
pub struct S3Storage {
    store: Arc<dyn ObjectStore>,
    runtime: tokio::runtime::Handle,
    sizes: Mutex<HashMap<String, u64>>,
}

impl std::fmt::Debug for S3Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Storage")
            .field("store", &self.store.to_string())
            .finish_non_exhaustive()
    }
}

fn io(e: object_store::Error) -> std::io::Error {
    match e {
        object_store::Error::NotFound { .. } => {
            std::io::Error::new(std::io::ErrorKind::NotFound, e.to_string())
        }
        e => std::io::Error::other(e.to_string()),
    }
}

fn not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}

impl S3Storage {
    /// Storage at `s3://BUCKET[?endpoint=URL][&region=REGION]`, with credentials and any
    /// other settings from the usual AWS environment variables (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, ...). An `http://` endpoint is allowed (a
    /// test server on loopback). Must be called inside a tokio runtime; requests run on it.
    pub fn from_url(url: &str) -> Result<Self, S3ConfigError> {
        let bad = |why: &str| S3ConfigError::Address(format!("{url}: {why}"));
        let rest = url.strip_prefix("s3://").ok_or_else(|| bad("not s3://"))?;
        let (bucket, query) = rest.split_once('?').unwrap_or((rest, ""));
        if bucket.is_empty() || bucket.contains('/') {
            return Err(bad("expected s3://BUCKET"));
        }
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| bad("expected KEY=VALUE"))?;
            match key {
                "endpoint" => {
                    builder = builder
                        .with_endpoint(value)
                        .with_allow_http(value.starts_with("http://"));
                }
                "region" => builder = builder.with_region(value),
                _ => return Err(bad(&format!("unknown setting {key}"))),
            }
        }
        Self::new(Arc::new(builder.build()?))
    }

    /// Storage over any object store (the tests use this with an in-memory one).
    pub fn new(store: Arc<dyn ObjectStore>) -> Result<Self, S3ConfigError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| S3ConfigError::NoRuntime)?;
        Ok(S3Storage {
            store,
            runtime,
            sizes: Mutex::new(HashMap::new()),
        })
    }

    fn upload_prefix(owner: i64, file_id: i64) -> ObjectPath {
        ObjectPath::from(format!("uploads/{owner}_{file_id}"))
    }

    fn part_path(owner: i64, file_id: i64, part: u32) -> ObjectPath {
        ObjectPath::from(format!("uploads/{owner}_{file_id}/{part}"))
    }

    fn file_path(content: &str) -> Option<ObjectPath> {
        (content.len() == 64 && content.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| ObjectPath::from(format!("files/{content}")))
    }

    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    async fn size_of(&self, content: &str, path: &ObjectPath) -> std::io::Result<u64> {
        if let Some(size) = self.sizes.lock().ok().and_then(|m| m.get(content).copied()) {
            return Ok(size);
        }
        let size = self.store.head(path).await.map_err(io)?.size;
        if let Ok(mut sizes) = self.sizes.lock() {
            if sizes.len() >= SIZE_CACHE {
                sizes.clear();
            }
            sizes.insert(content.to_owned(), size);
        }
        Ok(size)
    }

    /// Moves `tmp` to the content address `content` (unless it is there already) and
    /// removes `tmp`.
    async fn settle(&self, tmp: &ObjectPath, content: &str) -> std::io::Result<()> {
        let target = ObjectPath::from(format!("files/{content}"));
        match self.store.head(&target).await {
            Ok(_) => {}
            Err(e) if not_found(&e) => self.store.copy(tmp, &target).await.map_err(io)?,
            Err(e) => return Err(io(e)),
        }
        self.store.delete(tmp).await.map_err(io)
    }

    async fn assemble_async(
        &self,
        owner: i64,
        file_id: i64,
        parts: u32,
        want_md5: bool,
    ) -> Result<Stored, AssembleError> {
        let tmp = ObjectPath::from(format!(
            "tmp/{owner}_{file_id}_{:016x}",
            server_kit_core::state::random_i64()
        ));
        let upload = self.store.put_multipart(&tmp).await.map_err(io)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, MULTIPART_PART);
        let mut sha = sha2::Sha256::new();
        let mut md5 = want_md5.then(md5::Md5::new);
        let mut size = 0u64;
        let store = self.store.clone();
        let mut fetches = futures_util::stream::iter(0..parts)
            .map(|part| {
                let store = store.clone();
                async move {
                    let path = Self::part_path(owner, file_id, part);
                    match store.get(&path).await {
                        Ok(found) => found.bytes().await.map_err(|e| (part, e)),
                        Err(e) => Err((part, e)),
                    }
                }
            })
            .buffered(FETCH_AHEAD);
        while let Some(fetched) = fetches.next().await {
            let bytes = match fetched {
                Ok(b) => b,
                Err((part, e)) => {
                    let _ = writer.abort().await;
                    return Err(if not_found(&e) {
                        AssembleError::Missing(part)
                    } else {
                        io(e).into()
                    });
                }
            };
            sha.update(&bytes);
            if let Some(md5) = &mut md5 {
                md5.update(&bytes);
            }
            size += bytes.len() as u64;
            if let Err(e) = writer.wait_for_capacity(UPLOADS_IN_FLIGHT).await {
                let _ = writer.abort().await;
                return Err(io(e).into());
            }
            writer.write(&bytes);
        }
        writer.finish().await.map_err(io)?;
        let content = hex(&sha.finalize());
        self.settle(&tmp, &content).await?;
        // The parts go last: until the file is in place, a retry can assemble again.
        let prefix = Self::upload_prefix(owner, file_id);
        let leftovers: Vec<_> = self
            .store
            .list(Some(&prefix))
            .map_ok(|m| m.location)
            .collect::<Vec<_>>()
            .await;
        for location in leftovers.into_iter().flatten() {
            if let Err(e) = self.store.delete(&location).await {
                tracing::warn!("removing an assembled part: {e}");
            }
        }
        if let Ok(mut sizes) = self.sizes.lock() {
            sizes.insert(content.clone(), size);
        }
        Ok(Stored {
            content,
            size,
            md5: md5.map(|m| hex(&m.finalize())),
        })
    }
}

impl FileStorage for S3Storage {
    fn save_part(&self, owner: i64, file_id: i64, part: u32, bytes: &[u8]) -> std::io::Result<()> {
        let path = Self::part_path(owner, file_id, part);
        let payload = PutPayload::from(bytes.to_vec());
        self.block_on(self.store.put(&path, payload))
            .map(|_| ())
            .map_err(io)
    }

    fn parts(&self, owner: i64, file_id: i64) -> std::io::Result<BTreeMap<u32, u64>> {
        let prefix = Self::upload_prefix(owner, file_id);
        self.block_on(async {
            let mut out = BTreeMap::new();
            let mut listing = self.store.list(Some(&prefix));
            while let Some(meta) = listing.next().await {
                let meta = meta.map_err(io)?;
                if let Some(part) = meta.location.filename().and_then(|n| n.parse().ok()) {
                    out.insert(part, meta.size);
                }
            }
            Ok(out)
        })
    }

    fn assemble(
        &self,
        owner: i64,
        file_id: i64,
        parts: u32,
        md5: bool,
    ) -> Result<Stored, AssembleError> {
        self.block_on(self.assemble_async(owner, file_id, parts, md5))
    }

    fn read(&self, content: &str, offset: u64, limit: usize) -> std::io::Result<Vec<u8>> {
        let path = Self::file_path(content)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "bad content key"))?;
        self.block_on(async {
            let size = self.size_of(content, &path).await?;
            if offset >= size || limit == 0 {
                return Ok(Vec::new());
            }
            let end = size.min(offset.saturating_add(limit as u64));
            let bytes = self.store.get_range(&path, offset..end).await.map_err(io)?;
            Ok(bytes.to_vec())
        })
    }

    fn put(&self, bytes: &[u8]) -> std::io::Result<Stored> {
        let content = hex(&sha2::Sha256::digest(bytes));
        let path = ObjectPath::from(format!("files/{content}"));
        self.block_on(async {
            match self.store.head(&path).await {
                Ok(_) => Ok(()),
                Err(e) if not_found(&e) => self
                    .store
                    .put(&path, PutPayload::from(bytes.to_vec()))
                    .await
                    .map(|_| ())
                    .map_err(io),
                Err(e) => Err(io(e)),
            }
        })?;
        Ok(Stored {
            content,
            size: bytes.len() as u64,
            md5: None,
        })
    }

    fn expire_uploads(&self, age: Duration) -> std::io::Result<usize> {
        let cutoff = SystemTime::now() - age;
        self.block_on(async {
            // An upload expires when its newest part is older than `age`.
            let mut uploads: HashMap<String, (SystemTime, Vec<ObjectPath>)> = HashMap::new();
            let mut stale_tmp = Vec::new();
            for prefix in ["uploads", "tmp"] {
                let prefix = ObjectPath::from(prefix);
                let mut listing = self.store.list(Some(&prefix));
                while let Some(meta) = listing.next().await {
                    let meta = meta.map_err(io)?;
                    let modified = SystemTime::from(meta.last_modified);
                    let mut segments = meta.location.parts();
                    match (segments.next(), segments.next()) {
                        (Some(top), Some(upload)) if top.as_ref() == "uploads" => {
                            let entry = uploads
                                .entry(upload.as_ref().to_owned())
                                .or_insert((SystemTime::UNIX_EPOCH, Vec::new()));
                            entry.0 = entry.0.max(modified);
                            entry.1.push(meta.location.clone());
                        }
                        _ if modified < cutoff => stale_tmp.push(meta.location.clone()),
                        _ => {}
                    }
                }
            }
            let mut removed = 0;
            for (_, (newest, paths)) in uploads {
                if newest < cutoff {
                    for path in paths {
                        self.store.delete(&path).await.map_err(io)?;
                    }
                    removed += 1;
                }
            }
            for path in stale_tmp {
                self.store.delete(&path).await.map_err(io)?;
            }
            Ok(removed)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = rt.enter();
        for bad in [
            "file:/x",
            "s3://",
            "s3://a/b",
            "s3://b?nope=1",
            "s3://b?endpoint",
        ] {
            assert!(
                matches!(S3Storage::from_url(bad), Err(S3ConfigError::Address(_))),
                "{bad}"
            );
        }
        assert!(S3Storage::from_url("s3://media?endpoint=http://127.0.0.1:9&region=x").is_ok());
    }

    #[test]
    fn small_parts_become_five_mib_parts_and_survive_a_new_instance() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let memory: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let first = {
            let _guard = rt.enter();
            S3Storage::new(memory.clone()).unwrap()
        };
        let part = |i: u32| vec![(i % 251) as u8; 512 << 10];
        // 13 parts (6.5 MiB): two multipart parts. Saved out of order, half by one node.
        for i in (0..7u32).rev() {
            first.save_part(3, 4, i, &part(i)).unwrap();
        }
        // "Another node" (or the same one restarted) sees them and finishes the upload.
        let second = {
            let _guard = rt.enter();
            S3Storage::new(memory.clone()).unwrap()
        };
        assert_eq!(second.parts(3, 4).unwrap().len(), 7);
        for i in 7..13u32 {
            second.save_part(3, 4, i, &part(i)).unwrap();
        }
        assert!(matches!(
            second.assemble(3, 4, 14, true),
            Err(AssembleError::Missing(13))
        ));
        let all: Vec<u8> = (0..13).flat_map(part).collect();
        let stored = second.assemble(3, 4, 13, true).unwrap();
        assert_eq!(stored.size, all.len() as u64);
        assert_eq!(stored.md5, Some(mtproto::files::md5_hex(&all)));
        assert!(first.parts(3, 4).unwrap().is_empty());
        assert_eq!(
            first.read(&stored.content, 5 << 20, 1 << 20).unwrap(),
            all[5 << 20..6 << 20]
        );
        assert_eq!(
            first
                .read(&stored.content, all.len() as u64 - 10, 100)
                .unwrap(),
            all[all.len() - 10..]
        );
        assert!(
            first
                .read(&stored.content, all.len() as u64, 10)
                .unwrap()
                .is_empty()
        );
        assert!(first.read("../x", 0, 1).is_err());
        let put = first.put(b"hello").unwrap();
        assert_eq!(first.read(&put.content, 0, 100).unwrap(), b"hello");
        // Old uploads go; tmp objects too.
        first.save_part(3, 5, 0, b"x").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(first.expire_uploads(Duration::from_secs(3600)).unwrap(), 0);
        assert_eq!(first.expire_uploads(Duration::ZERO).unwrap(), 1);
        assert!(first.parts(3, 5).unwrap().is_empty());
    }
}
