//! Files: `upload.saveFilePart`, `upload.saveBigFilePart` (parts go to storage as they
//! arrive, in any order) and `upload.getFile` (offset and limit rules of PROTOCOL.md 2,
//! access hash and file reference checked, empty bytes at the end of the file).

use super::ok;
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::Node;
use crate::store::{Document, Photo};
use mtproto::files::{FileError, check_get_file};
use mtproto_api::{enums, functions, types};
use std::sync::Arc;

/// The file service.
#[derive(Debug, Clone, Copy)]
pub struct UploadService;

service!(UploadService {
    functions::upload::SaveFilePart => save_file_part,
    functions::upload::SaveBigFilePart => save_big_file_part,
    functions::upload::GetFile => get_file,
});

fn file_error(e: FileError) -> RpcError {
    RpcError::bad_request(e.rpc_message())
}

fn io_error(e: std::io::Error) -> RpcError {
    tracing::error!("file storage: {e}");
    RpcError::internal()
}

async fn save_part(
    server: &Arc<Node>,
    caller: Caller,
    file_id: i64,
    part: i32,
    total: Option<i32>,
    bytes: tl_runtime::Bytes,
) -> RpcResult {
    let me = caller.user()?;
    let media = server.media.clone();
    let len = bytes.len();
    tokio::task::spawn_blocking(move || -> Result<(), RpcError> {
        media
            .check_part(me, file_id, part, total, len)
            .map_err(io_error)?
            .map_err(file_error)?;
        media
            .storage
            .save_part(me, file_id, part as u32, &bytes)
            .map_err(io_error)
    })
    .await
    .map_err(|_| RpcError::internal())??;
    metrics::counter!(crate::stats::FILE_BYTES, "direction" => "uploaded").increment(len as u64);
    ok(true)
}

async fn save_file_part(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::upload::SaveFilePart,
) -> RpcResult {
    save_part(
        server,
        caller,
        call.file_id,
        call.file_part,
        None,
        call.bytes,
    )
    .await
}

async fn save_big_file_part(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::upload::SaveBigFilePart,
) -> RpcResult {
    save_part(
        server,
        caller,
        call.file_id,
        call.file_part,
        Some(call.file_total_parts),
        call.bytes,
    )
    .await
}

/// A document a client names, with its access hash (and file reference, when given) checked.
pub(crate) async fn document_for(
    server: &Arc<Node>,
    id: i64,
    access_hash: i64,
    file_reference: Option<&[u8]>,
) -> Result<Document, RpcError> {
    let document = server
        .store
        .run(move |s| s.document(id))
        .await?
        .filter(|d| d.access_hash == access_hash)
        .ok_or_else(|| RpcError::bad_request("FILE_ID_INVALID"))?;
    if let Some(reference) = file_reference {
        if reference != document.file_reference.as_slice() {
            return Err(RpcError::bad_request("FILE_REFERENCE_INVALID"));
        }
    }
    Ok(document)
}

/// A photo a client names, with its access hash (and file reference, when given) checked.
pub(crate) async fn photo_for(
    server: &Arc<Node>,
    id: i64,
    access_hash: i64,
    file_reference: Option<&[u8]>,
) -> Result<Photo, RpcError> {
    let photo = server
        .store
        .run(move |s| s.photo(id))
        .await?
        .filter(|p| p.access_hash == access_hash)
        .ok_or_else(|| RpcError::bad_request("FILE_ID_INVALID"))?;
    if let Some(reference) = file_reference {
        if reference != photo.file_reference.as_slice() {
            return Err(RpcError::bad_request("FILE_REFERENCE_INVALID"));
        }
    }
    Ok(photo)
}

async fn get_file(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::upload::GetFile,
) -> RpcResult {
    let me = caller.user()?;
    check_get_file(call.offset, call.limit, call.precise).map_err(file_error)?;
    let (content, mtime) = match call.location {
        enums::InputFileLocation::InputDocumentFileLocation(location) => {
            let document = document_for(
                server,
                location.id,
                location.access_hash,
                Some(&location.file_reference),
            )
            .await?;
            (document.content, document.date)
        }
        enums::InputFileLocation::InputPhotoFileLocation(location) => {
            let photo = photo_for(
                server,
                location.id,
                location.access_hash,
                Some(&location.file_reference),
            )
            .await?;
            let size = photo
                .sizes
                .iter()
                .find(|s| s.kind == location.thumb_size)
                .ok_or_else(|| RpcError::bad_request("LOCATION_INVALID"))?;
            (size.content.clone(), photo.date)
        }
        enums::InputFileLocation::InputPeerPhotoFileLocation(location) => {
            peer_photo_content(server, me, &location).await?
        }
        enums::InputFileLocation::InputEncryptedFileLocation(location) => {
            super::secret_chats::file_content(server, &location).await?
        }
        _ => return Err(RpcError::bad_request("LOCATION_INVALID")),
    };
    let (offset, limit) = (call.offset as u64, call.limit as usize);
    let media = server.media.clone();
    let bytes = tokio::task::spawn_blocking(move || media.storage.read(&content, offset, limit))
        .await
        .map_err(|_| RpcError::internal())?
        .map_err(io_error)?;
    metrics::counter!(crate::stats::FILE_BYTES, "direction" => "downloaded")
        .increment(bytes.len() as u64);
    ok(types::upload::File {
        r#type: enums::storage::FileType::FilePartial,
        mtime,
        bytes: bytes.into(),
    })
}

/// The content to serve for `inputPeerPhotoFileLocation`: the user's profile photo, its
/// largest size for `big`, else its smallest; `LOCATION_INVALID` for a photo that is not one
/// of theirs.
pub(crate) async fn peer_photo_content(
    server: &Arc<Node>,
    me: i64,
    location: &types::InputPeerPhotoFileLocation,
) -> Result<(String, i32), RpcError> {
    let user = super::resolve_peer(server, me, &location.peer)
        .await
        .map_err(|_| RpcError::bad_request("LOCATION_INVALID"))?;
    let (owner, id) = (user.id, location.photo_id);
    let photo = server
        .store
        .run(move |s| {
            Ok(if s.is_profile_photo(owner, id)? {
                s.photo(id)?
            } else {
                None
            })
        })
        .await?
        .ok_or_else(|| RpcError::bad_request("LOCATION_INVALID"))?;
    let size = if location.big {
        photo.sizes.iter().max_by_key(|s| s.w)
    } else {
        photo.sizes.iter().min_by_key(|s| s.w)
    }
    .ok_or_else(|| RpcError::bad_request("LOCATION_INVALID"))?;
    Ok((size.content.clone(), photo.date))
}
