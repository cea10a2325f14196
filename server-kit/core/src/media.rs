//! File bytes: uploads arrive as parts, written to storage as they come (in any order, in
//! parallel), are checked with the rules of PROTOCOL.md 2, and are assembled into one
//! content-addressed file (its SHA-256), so identical content is stored once.
//!
//! [`FileStorage`] is the storage interface; [`DiskStorage`] (a directory) is the default.
//! `server-kit-cluster`'s `S3Storage` keeps the bytes in S3-compatible object storage
//! (parts are objects, assembly a multipart upload of 5 MiB parts), so that several server
//! nodes share them.

use mtproto::files::{FileError, PartTracker};
use sha2::Digest as _;
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// A file assembled from its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its key in storage: the SHA-256 of the content, lowercase hex.
    pub content: String,
    /// Its size.
    pub size: u64,
    /// Its MD5, lowercase hex (what `inputFile.md5_checksum` must equal), when it was asked
    /// for: reading a big file once more for a checksum its client did not send costs a
    /// tenth of an upload's server time.
    pub md5: Option<String>,
}

/// Why assembling failed.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    /// A part is missing.
    #[error("part {0} is missing")]
    Missing(u32),
    /// Storage failed.
    #[error("storage: {0}")]
    Io(#[from] std::io::Error),
}

/// Where file bytes live.
pub trait FileStorage: Send + Sync + 'static {
    /// Stores part `part` of upload `file_id` of `owner` (replacing an earlier copy).
    fn save_part(&self, owner: i64, file_id: i64, part: u32, bytes: &[u8]) -> std::io::Result<()>;
    /// The parts of an upload that are stored, with their sizes.
    fn parts(&self, owner: i64, file_id: i64) -> std::io::Result<BTreeMap<u32, u64>>;
    /// Joins parts `0..parts` into one file, removes the parts, and returns where it is
    /// (with its MD5 if `md5`).
    fn assemble(
        &self,
        owner: i64,
        file_id: i64,
        parts: u32,
        md5: bool,
    ) -> Result<Stored, AssembleError>;
    /// Up to `limit` bytes of a file from `offset` (fewer at the end, none past it).
    fn read(&self, content: &str, offset: u64, limit: usize) -> std::io::Result<Vec<u8>>;
    /// Stores `bytes` as a file of its own (content-addressed, stored once; no MD5).
    fn put(&self, bytes: &[u8]) -> std::io::Result<Stored>;
    /// Removes uploads not touched for `age`.
    fn expire_uploads(&self, age: Duration) -> std::io::Result<usize>;
}

/// Files in a directory: `uploads/OWNER_FILEID/PART` while uploading, `files/SHA256` after.
#[derive(Debug, Clone)]
pub struct DiskStorage {
    root: PathBuf,
}

impl DiskStorage {
    /// Storage under `root` (created if needed).
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(root.join("uploads"))?;
        std::fs::create_dir_all(root.join("files"))?;
        Ok(DiskStorage { root })
    }

    fn upload_dir(&self, owner: i64, file_id: i64) -> PathBuf {
        self.root.join("uploads").join(format!("{owner}_{file_id}"))
    }

    fn file_path(&self, content: &str) -> Option<PathBuf> {
        // Content keys are hex digests; anything else never names a file.
        (content.len() == 64 && content.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| self.root.join("files").join(content))
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // A name of its own per write: two copies of the same part may be saved at once (a
    // client re-sending after a reconnect), and must not rename each other's file away.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_data()?;
    std::fs::rename(&tmp, path)
}

impl FileStorage for DiskStorage {
    fn save_part(&self, owner: i64, file_id: i64, part: u32, bytes: &[u8]) -> std::io::Result<()> {
        let dir = self.upload_dir(owner, file_id);
        std::fs::create_dir_all(&dir)?;
        write_atomically(&dir.join(part.to_string()), bytes)
    }

    fn parts(&self, owner: i64, file_id: i64) -> std::io::Result<BTreeMap<u32, u64>> {
        let mut out = BTreeMap::new();
        let dir = self.upload_dir(owner, file_id);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            if let Some(part) = entry.file_name().to_str().and_then(|n| n.parse().ok()) {
                out.insert(part, entry.metadata()?.len());
            }
        }
        Ok(out)
    }

    fn assemble(
        &self,
        owner: i64,
        file_id: i64,
        parts: u32,
        want_md5: bool,
    ) -> Result<Stored, AssembleError> {
        let dir = self.upload_dir(owner, file_id);
        let tmp = self.root.join("files").join(format!(
            "assembling-{owner}-{file_id}-{}",
            std::process::id()
        ));
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        let mut sha = sha2::Sha256::new();
        let mut md5 = want_md5.then(md5::Md5::new);
        let mut size = 0u64;
        let mut buf = vec![0u8; 64 << 10];
        for part in 0..parts {
            let mut file = match std::fs::File::open(dir.join(part.to_string())) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(AssembleError::Missing(part));
                }
                Err(e) => return Err(e.into()),
            };
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                sha.update(&buf[..n]);
                if let Some(md5) = &mut md5 {
                    md5.update(&buf[..n]);
                }
                out.write_all(&buf[..n])?;
                size += n as u64;
            }
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_data()?;
        let content = hex(&sha.finalize());
        let target = self.root.join("files").join(&content);
        if target.exists() {
            std::fs::remove_file(&tmp)?;
        } else {
            std::fs::rename(&tmp, &target)?;
        }
        let _ = std::fs::remove_dir_all(&dir);
        Ok(Stored {
            content,
            size,
            md5: md5.map(|m| hex(&m.finalize())),
        })
    }

    fn read(&self, content: &str, offset: u64, limit: usize) -> std::io::Result<Vec<u8>> {
        use std::io::Seek;
        let path = self
            .file_path(content)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "bad content key"))?;
        let mut file = std::fs::File::open(path)?;
        let size = file.metadata()?.len();
        if offset >= size {
            return Ok(Vec::new());
        }
        file.seek(std::io::SeekFrom::Start(offset))?;
        let len = limit.min((size - offset) as usize);
        let mut out = vec![0u8; len];
        file.read_exact(&mut out)?;
        Ok(out)
    }

    fn put(&self, bytes: &[u8]) -> std::io::Result<Stored> {
        let content = hex(&sha2::Sha256::digest(bytes));
        let target = self.root.join("files").join(&content);
        if !target.exists() {
            write_atomically(&target, bytes)?;
        }
        Ok(Stored {
            content,
            size: bytes.len() as u64,
            md5: None,
        })
    }

    fn expire_uploads(&self, age: Duration) -> std::io::Result<usize> {
        let mut removed = 0;
        let cutoff = SystemTime::now() - age;
        for entry in std::fs::read_dir(self.root.join("uploads"))? {
            let entry = entry?;
            if entry.metadata()?.modified()? < cutoff {
                std::fs::remove_dir_all(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// The parts of each upload, by (owner, file id).
type Uploads = HashMap<(i64, i64), BTreeMap<u32, Vec<u8>>>;

/// File bytes in memory: for tests, fuzzing and examples (everything is lost when it is
/// dropped; nothing expires).
#[derive(Debug, Default)]
pub struct MemoryStorage {
    uploads: Mutex<Uploads>,
    files: Mutex<HashMap<String, Vec<u8>>>,
}

fn poisoned() -> std::io::Error {
    std::io::Error::other("lock poisoned")
}

impl FileStorage for MemoryStorage {
    fn save_part(&self, owner: i64, file_id: i64, part: u32, bytes: &[u8]) -> std::io::Result<()> {
        let mut uploads = self.uploads.lock().map_err(|_| poisoned())?;
        uploads
            .entry((owner, file_id))
            .or_default()
            .insert(part, bytes.to_vec());
        Ok(())
    }

    fn parts(&self, owner: i64, file_id: i64) -> std::io::Result<BTreeMap<u32, u64>> {
        let uploads = self.uploads.lock().map_err(|_| poisoned())?;
        Ok(uploads
            .get(&(owner, file_id))
            .map(|parts| parts.iter().map(|(i, b)| (*i, b.len() as u64)).collect())
            .unwrap_or_default())
    }

    fn assemble(
        &self,
        owner: i64,
        file_id: i64,
        parts: u32,
        md5: bool,
    ) -> Result<Stored, AssembleError> {
        let mut uploads = self.uploads.lock().map_err(|_| poisoned())?;
        let upload = uploads.get(&(owner, file_id));
        let mut content = Vec::new();
        for i in 0..parts {
            match upload.and_then(|u| u.get(&i)) {
                Some(bytes) => content.extend_from_slice(bytes),
                None => return Err(AssembleError::Missing(i)),
            }
        }
        uploads.remove(&(owner, file_id));
        let mut stored = self.put(&content)?;
        stored.md5 = md5.then(|| mtproto::files::md5_hex(&content));
        Ok(stored)
    }

    fn put(&self, bytes: &[u8]) -> std::io::Result<Stored> {
        let key = hex(&sha2::Sha256::digest(bytes));
        let stored = Stored {
            content: key.clone(),
            size: bytes.len() as u64,
            md5: None,
        };
        self.files
            .lock()
            .map_err(|_| poisoned())?
            .insert(key, bytes.to_vec());
        Ok(stored)
    }

    fn read(&self, content: &str, offset: u64, limit: usize) -> std::io::Result<Vec<u8>> {
        let files = self.files.lock().map_err(|_| poisoned())?;
        let file = files
            .get(content)
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))?;
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(file.len());
        let end = start.saturating_add(limit).min(file.len());
        Ok(file[start..end].to_vec())
    }

    fn expire_uploads(&self, _age: Duration) -> std::io::Result<usize> {
        Ok(0)
    }
}

/// Lowercase hex of `bytes`: how content keys and MD5 sums are written.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Uploads in progress: the storage, and the part checks of each upload.
pub struct Media {
    /// The bytes.
    pub storage: Arc<dyn FileStorage>,
    trackers: Mutex<HashMap<(i64, i64), PartTracker>>,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Media")
    }
}

/// The most parts per file (`upload_max_fileparts_default`).
pub const MAX_PARTS: u32 = mtproto::files::DEFAULT_MAX_PARTS;

impl Media {
    /// Uploads over `storage`.
    pub fn new(storage: Arc<dyn FileStorage>) -> Self {
        Media {
            storage,
            trackers: Mutex::new(HashMap::new()),
        }
    }

    fn trackers(&self) -> std::sync::MutexGuard<'_, HashMap<(i64, i64), PartTracker>> {
        self.trackers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The tracker of an upload, rebuilt from storage after a restart.
    fn ensure_tracker(&self, owner: i64, file_id: i64) -> std::io::Result<()> {
        if self.trackers().contains_key(&(owner, file_id)) {
            return Ok(());
        }
        let mut tracker = PartTracker::new(MAX_PARTS);
        for (part, len) in self.storage.parts(owner, file_id)? {
            // Parts on disk passed the checks when they arrived.
            let _ = tracker.save_part(part as i32, None, len as usize);
        }
        self.trackers().entry((owner, file_id)).or_insert(tracker);
        Ok(())
    }

    /// Checks a part and records it; the caller then writes it with
    /// [`FileStorage::save_part`].
    pub fn check_part(
        &self,
        owner: i64,
        file_id: i64,
        part: i32,
        total_parts: Option<i32>,
        len: usize,
    ) -> Result<Result<(), FileError>, std::io::Error> {
        self.ensure_tracker(owner, file_id)?;
        let mut trackers = self.trackers();
        let tracker = trackers
            .entry((owner, file_id))
            .or_insert_with(|| PartTracker::new(MAX_PARTS));
        Ok(tracker.save_part(part, total_parts, len))
    }

    /// Checks that an upload is complete with `parts` parts; returns its size.
    pub fn check_complete(
        &self,
        owner: i64,
        file_id: i64,
        parts: i32,
    ) -> Result<Result<u64, FileError>, std::io::Error> {
        self.ensure_tracker(owner, file_id)?;
        let result = match self.trackers().get(&(owner, file_id)) {
            Some(t) => t.finish(parts),
            None => Err(FileError::PartMissing(0)),
        };
        if !matches!(result, Err(FileError::PartMissing(_))) {
            return Ok(result);
        }
        // With storage shared by several nodes, parts may have come through another one:
        // the tracker is rebuilt from what storage holds before a part is called missing.
        self.forget(owner, file_id);
        self.ensure_tracker(owner, file_id)?;
        Ok(match self.trackers().get(&(owner, file_id)) {
            Some(t) => t.finish(parts),
            None => Err(FileError::PartMissing(0)),
        })
    }

    /// Forgets an upload's checks (after assembly).
    pub fn forget(&self, owner: i64, file_id: i64) {
        self.trackers().remove(&(owner, file_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("media-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn the_same_part_saved_twice_at_once_succeeds_both_times() {
        // Found by client-sdk's kill-the-server-mid-upload test: two copies of one part
        // shared a temporary name, and the second rename failed with "no such file".
        let root = temp("same-part");
        let disk = DiskStorage::new(&root).unwrap();
        for round in 0..50u8 {
            let results: Vec<std::io::Result<()>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..4)
                    .map(|_| s.spawn(|| disk.save_part(1, 2, 0, &[round; 4096])))
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for r in results {
                r.unwrap();
            }
        }
        assert_eq!(disk.parts(1, 2).unwrap().get(&0), Some(&4096));
    }

    #[test]
    fn parts_in_any_order_assemble_once_and_dedupe() {
        let root = temp("assemble");
        let disk = DiskStorage::new(&root).unwrap();
        assemble_and_dedupe(&disk);
        assert_eq!(std::fs::read_dir(root.join("files")).unwrap().count(), 1);
        assert!(disk.read("../../etc/passwd", 0, 10).is_err());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn memory_storage_keeps_the_same_rules() {
        let memory = MemoryStorage::default();
        assemble_and_dedupe(&memory);
        assert_eq!(memory.files.lock().unwrap().len(), 1);
        assert!(memory.read("no such content", 0, 10).is_err());
    }

    /// Parts saved in any order assemble once, in order, with their MD5; reads are cut at the
    /// end; the same content from another upload is the same file; a missing part is named.
    fn assemble_and_dedupe(storage: &dyn FileStorage) {
        let parts: Vec<Vec<u8>> = (0..3u8).map(|i| vec![i; 1024]).collect();
        for i in [2u32, 0, 1] {
            storage.save_part(7, 9, i, &parts[i as usize]).unwrap();
        }
        assert_eq!(storage.parts(7, 9).unwrap().len(), 3);
        let stored = storage.assemble(7, 9, 3, true).unwrap();
        assert_eq!(stored.size, 3072);
        assert_eq!(stored.md5, Some(mtproto::files::md5_hex(&parts.concat())));
        assert_eq!(
            storage.read(&stored.content, 1000, 100).unwrap(),
            [&[0u8; 24][..], &[1u8; 76][..]].concat()
        );
        assert!(storage.read(&stored.content, 3072, 100).unwrap().is_empty());
        assert!(storage.parts(7, 9).unwrap().is_empty(), "parts removed");
        for i in 0..3u32 {
            storage.save_part(8, 1, i, &parts[i as usize]).unwrap();
        }
        assert_eq!(
            storage.assemble(8, 1, 3, false).unwrap().content,
            stored.content
        );
        storage.save_part(8, 2, 1, &parts[0]).unwrap();
        assert!(matches!(
            storage.assemble(8, 2, 2, false),
            Err(AssembleError::Missing(0))
        ));
    }

    #[test]
    fn trackers_survive_a_restart() {
        let root = temp("tracker");
        let storage: Arc<dyn FileStorage> = Arc::new(DiskStorage::new(&root).unwrap());
        let media = Media::new(storage.clone());
        media.check_part(1, 5, 0, None, 2048).unwrap().unwrap();
        storage.save_part(1, 5, 0, &[0; 2048]).unwrap();
        // A new process: the part on disk counts.
        let media = Media::new(storage.clone());
        assert_eq!(
            media.check_part(1, 5, 1, None, 4096).unwrap(),
            Err(FileError::PartSizeChanged)
        );
        media.check_part(1, 5, 1, None, 100).unwrap().unwrap();
        storage.save_part(1, 5, 1, &[0; 100]).unwrap();
        assert_eq!(media.check_complete(1, 5, 2).unwrap(), Ok(2148));
        assert_eq!(
            media.check_complete(1, 5, 3).unwrap(),
            Err(FileError::PartMissing(2))
        );
        let _ = std::fs::remove_dir_all(&root);
    }
}
