//! Uploads and downloads with several parts in flight, progress callbacks, md5 for small
//! files, the big-file path for large ones, and downloads that resume where a previous one
//! stopped.

use crate::client::Client;
use crate::error::InvocationError;
use md5::Digest as _;
use mtproto::files::UploadPlan;
use mtproto_api::{enums, functions, types};
use std::collections::BTreeMap;
use std::path::Path;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::task::JoinSet;

/// How much of a transfer is done: `(bytes done, bytes in all)`.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Send + Sync);

/// Bytes per `upload.getFile` request (the largest Telegram allows).
pub const DOWNLOAD_CHUNK: usize = 512 * 1024;

/// Why a transfer failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// A call failed.
    #[error(transparent)]
    Invocation(#[from] InvocationError),
    /// Reading or writing the local file failed.
    #[error("local file: {0}")]
    Io(#[from] std::io::Error),
    /// The file cannot be uploaded (empty, or too large for 4000 parts of 512 KiB).
    #[error("cannot upload this file: {0}")]
    Plan(#[from] mtproto::files::FileError),
    /// The server said a part was not saved.
    #[error("the server did not save part {0}")]
    PartNotSaved(u32),
    /// `upload.getFile` returned a chunk of another size than the file's size implies.
    #[error("upload.getFile at offset {offset} returned {got} bytes, expected {expected}")]
    WrongChunkSize {
        /// The chunk's offset in the file.
        offset: u64,
        /// The bytes it had.
        got: u64,
        /// The bytes it should have had.
        expected: u64,
    },
}

/// Where a message's file is and what it is.
#[derive(Debug, Clone)]
pub struct FileLocation {
    /// What to pass to `upload.getFile`.
    pub location: enums::InputFileLocation,
    /// The size in bytes (the largest photo size for photos).
    pub size: u64,
    /// The DC that has it.
    pub dc_id: i32,
    /// The file name, if the sender gave one.
    pub name: Option<String>,
}

impl FileLocation {
    /// The file of a document or photo message, if it has one.
    pub fn of_media(media: &enums::MessageMedia) -> Option<FileLocation> {
        match media {
            enums::MessageMedia::Document(m) => match m.document.as_ref()? {
                enums::Document::Document(d) => Some(FileLocation {
                    location: enums::InputFileLocation::InputDocumentFileLocation(
                        types::InputDocumentFileLocation {
                            id: d.id,
                            access_hash: d.access_hash,
                            file_reference: d.file_reference.clone(),
                            thumb_size: String::new(),
                        },
                    ),
                    size: u64::try_from(d.size).ok()?,
                    dc_id: d.dc_id,
                    name: d.attributes.iter().find_map(|a| match a {
                        enums::DocumentAttribute::Filename(f) => Some(f.file_name.clone()),
                        _ => None,
                    }),
                }),
                enums::Document::Empty(_) => None,
            },
            enums::MessageMedia::Photo(m) => match m.photo.as_ref()? {
                enums::Photo::Photo(p) => {
                    let (kind, size) = p
                        .sizes
                        .iter()
                        .filter_map(|s| match s {
                            enums::PhotoSize::PhotoSize(s) => Some((s.r#type.clone(), s.size)),
                            enums::PhotoSize::Progressive(s) => {
                                Some((s.r#type.clone(), s.sizes.iter().copied().max()?))
                            }
                            _ => None,
                        })
                        .max_by_key(|(_, size)| *size)?;
                    Some(FileLocation {
                        location: enums::InputFileLocation::InputPhotoFileLocation(
                            types::InputPhotoFileLocation {
                                id: p.id,
                                access_hash: p.access_hash,
                                file_reference: p.file_reference.clone(),
                                thumb_size: kind,
                            },
                        ),
                        size: u64::try_from(size).ok()?,
                        dc_id: p.dc_id,
                        name: None,
                    })
                }
                enums::Photo::Empty(_) => None,
            },
            _ => None,
        }
    }
}

fn random_file_id() -> i64 {
    let mut b = [0u8; 8];
    crate::connection::os_rng(&mut b);
    i64::from_le_bytes(b)
}

impl Client {
    /// Uploads a local file; returns the `InputFile` to send (e.g. with
    /// [`send_file`](Client::send_file)).
    pub async fn upload_file(
        &self,
        path: impl AsRef<Path>,
        progress: Option<Progress<'_>>,
    ) -> Result<enums::InputFile, TransferError> {
        let path = path.as_ref();
        let file = tokio::fs::File::open(path).await?;
        let size = file.metadata().await?.len();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        self.upload_stream(tokio::io::BufReader::new(file), size, &name, progress)
            .await
    }

    /// Uploads `size` bytes from `reader`, several parts in flight at once
    /// ([`Config::parts_in_flight`](crate::Config::parts_in_flight)). Files over 10 MiB take
    /// the big-file path (`upload.saveBigFilePart`, `inputFileBig`); smaller ones carry their
    /// md5.
    pub async fn upload_stream<R: AsyncRead + Unpin>(
        &self,
        mut reader: R,
        size: u64,
        name: &str,
        progress: Option<Progress<'_>>,
    ) -> Result<enums::InputFile, TransferError> {
        let plan = UploadPlan::new(size, mtproto::files::DEFAULT_MAX_PARTS)?;
        let file_id = random_file_id();
        let in_flight = self.0.config.parts_in_flight.max(1);
        let mut md5 = (!plan.big).then(md5::Md5::new);
        let mut tasks = JoinSet::new();
        let mut next = 0u32;
        let mut done = 0u64;
        if let Some(report) = progress {
            report(0, size);
        }
        while next < plan.parts || !tasks.is_empty() {
            while next < plan.parts && tasks.len() < in_flight {
                let (_, len) = plan.part(next);
                let mut bytes = vec![0u8; len];
                reader.read_exact(&mut bytes).await?;
                if let Some(md5) = &mut md5 {
                    md5.update(&bytes);
                }
                let client = self.clone();
                let part = next;
                tasks.spawn(async move {
                    let saved = save_part(&client, file_id, part, plan, bytes).await;
                    (part, len, saved)
                });
                next += 1;
            }
            if let Some(joined) = tasks.join_next().await {
                let (part, len, saved) = joined.map_err(|_| InvocationError::Dropped)?;
                if !saved? {
                    return Err(TransferError::PartNotSaved(part));
                }
                done += len as u64;
                if let Some(report) = progress {
                    report(done, size);
                }
            }
        }
        let parts = plan.parts as i32;
        Ok(match md5 {
            Some(md5) => enums::InputFile::InputFile(types::InputFile {
                id: file_id,
                parts,
                name: name.to_string(),
                md5_checksum: md5.finalize().iter().map(|b| format!("{b:02x}")).collect(),
            }),
            None => enums::InputFile::Big(types::InputFileBig {
                id: file_id,
                parts,
                name: name.to_string(),
            }),
        })
    }

    /// Downloads a file to `dest`. If `dest` already holds the start of it (an interrupted
    /// download), only the rest is fetched: whatever `dest` holds is taken to be that start,
    /// so give a new path (or remove the old file) for a fresh download. Returns the file's
    /// size.
    pub async fn download_file(
        &self,
        file: &FileLocation,
        dest: impl AsRef<Path>,
        progress: Option<Progress<'_>>,
    ) -> Result<u64, TransferError> {
        let mut out = tokio::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dest.as_ref())
            .await?;
        let chunk = DOWNLOAD_CHUNK as u64;
        let existing = out.metadata().await?.len().min(file.size);
        // Keep whole chunks only: a chunk cut short by a crash is fetched again.
        let mut written = existing / chunk * chunk;
        out.set_len(written).await?;
        out.seek(std::io::SeekFrom::Start(written)).await?;
        let in_flight = self.0.config.parts_in_flight.max(1) as u64;
        let home = self.home_dc();
        let dc = (file.dc_id != 0 && file.dc_id != home).then_some(file.dc_id);
        let mut tasks = JoinSet::new();
        let mut next = written;
        let mut ready: BTreeMap<u64, tl_runtime::Bytes> = BTreeMap::new();
        if let Some(report) = progress {
            report(written, file.size);
        }
        while written < file.size {
            // Never run more than `in_flight` chunks ahead of what is on disk.
            while next < file.size && next < written + in_flight * chunk {
                let client = self.clone();
                let request = functions::upload::GetFile {
                    precise: false,
                    cdn_supported: false,
                    location: file.location.clone(),
                    offset: next as i64,
                    limit: DOWNLOAD_CHUNK as i32,
                };
                let offset = next;
                tasks.spawn(async move {
                    let answer = match dc {
                        Some(dc) => client.invoke_in_dc(dc, &request).await,
                        None => client.invoke(&request).await,
                    };
                    (offset, answer)
                });
                next += chunk;
            }
            let Some(joined) = tasks.join_next().await else {
                break;
            };
            let (offset, answer) = joined.map_err(|_| InvocationError::Dropped)?;
            let bytes = match answer? {
                enums::upload::File::File(f) => f.bytes,
                enums::upload::File::CdnRedirect(_) => {
                    return Err(InvocationError::UnexpectedAnswer {
                        request: "upload.getFile",
                        answer: "upload.fileCdnRedirect",
                    }
                    .into());
                }
            };
            let expected = (file.size - offset).min(chunk);
            if bytes.len() as u64 != expected {
                return Err(TransferError::WrongChunkSize {
                    offset,
                    got: bytes.len() as u64,
                    expected,
                });
            }
            ready.insert(offset, bytes);
            while let Some(bytes) = ready.remove(&written) {
                out.write_all(&bytes).await?;
                written += bytes.len() as u64;
                if let Some(report) = progress {
                    report(written, file.size);
                }
            }
        }
        out.flush().await?;
        out.sync_all().await?;
        Ok(written)
    }
}

async fn save_part(
    client: &Client,
    file_id: i64,
    part: u32,
    plan: UploadPlan,
    bytes: Vec<u8>,
) -> Result<bool, InvocationError> {
    let bytes = tl_runtime::Bytes::from(bytes);
    if plan.big {
        client
            .invoke(&functions::upload::SaveBigFilePart {
                file_id,
                file_part: part as i32,
                file_total_parts: plan.parts as i32,
                bytes,
            })
            .await
    } else {
        client
            .invoke(&functions::upload::SaveFilePart {
                file_id,
                file_part: part as i32,
                bytes,
            })
            .await
    }
}
