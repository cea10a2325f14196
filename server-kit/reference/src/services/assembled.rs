//! Finished uploads: a client's parts (`upload.saveFilePart` / `saveBigFilePart`) checked
//! complete, assembled into one stored file, and its MD5 checked when the client gave one.

use crate::media::{AssembleError, Stored};
use crate::rpc::RpcError;
use crate::state::Node;
use std::sync::Arc;

/// Assembles `me`'s upload `file_id` of `parts` parts (`FILE_PART_X_MISSING` and the other
/// upload errors as the client must see them); with `md5` (empty counts as none) the stored
/// file's checksum must match (`MD5_CHECKSUM_INVALID`).
pub(crate) async fn assemble(
    server: &Arc<Node>,
    me: i64,
    file_id: i64,
    parts: i32,
    md5: Option<String>,
) -> Result<Stored, RpcError> {
    let md5 = md5.filter(|m| !m.is_empty());
    let want_md5 = md5.is_some();
    let media = server.media.clone();
    let stored = tokio::task::spawn_blocking(move || -> Result<Stored, RpcError> {
        media
            .check_complete(me, file_id, parts)
            .map_err(|_| RpcError::internal())?
            .map_err(|e| RpcError::bad_request(e.rpc_message()))?;
        let stored = media
            .storage
            .assemble(me, file_id, parts as u32, want_md5)
            .map_err(|e| match e {
                AssembleError::Missing(x) => {
                    RpcError::bad_request(format!("FILE_PART_{x}_MISSING"))
                }
                AssembleError::Io(e) => {
                    tracing::error!("assembling an upload: {e}");
                    RpcError::internal()
                }
            })?;
        media.forget(me, file_id);
        Ok(stored)
    })
    .await
    .map_err(|_| RpcError::internal())??;
    if let Some(md5) = md5 {
        if !stored
            .md5
            .as_ref()
            .is_some_and(|m| md5.eq_ignore_ascii_case(m))
        {
            return Err(RpcError::bad_request("MD5_CHECKSUM_INVALID"));
        }
    }
    Ok(stored)
}
