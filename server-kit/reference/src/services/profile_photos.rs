//! Profile photos: `photos.uploadProfilePhoto` (an uploaded picture, cut to the standard
//! sizes, becomes the current photo), `photos.updateProfilePhoto` (an earlier one again, or
//! `inputPhotoEmpty` to drop the current one), `photos.getUserPhotos`, `photos.deletePhotos`.
//! Users carry their current photo (`userProfilePhoto`), which anyone who sees the user may
//! download with `inputPeerPhotoFileLocation` (the upload service serves it). Video avatars and
//! photos set for bots are refused.

use super::{ok, photo_tl, resolve_input_user, users_tl};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Node, unix_now};
use crate::store::Photo;
use mtproto_api::{enums, functions, types};
use std::sync::Arc;

/// The data centre photos are served from.
const PHOTO_DC: i32 = 2;

/// The profile photos service.
#[derive(Debug, Clone, Copy)]
pub struct ProfilePhotosService;

service!(ProfilePhotosService {
    functions::photos::UploadProfilePhoto => upload_profile_photo,
    functions::photos::UpdateProfilePhoto => update_profile_photo,
    functions::photos::GetUserPhotos => get_user_photos,
    functions::photos::DeletePhotos => delete_photos,
});

/// `photos.photo` with the photo and the caller as they now look.
async fn photo_answer(server: &Arc<Node>, me: i64, photo: Option<&Photo>) -> RpcResult {
    let photo = match photo {
        Some(p) => photo_tl(p, PHOTO_DC),
        None => enums::Photo::Empty(types::PhotoEmpty { id: 0 }),
    };
    ok(enums::photos::Photo::from(types::photos::Photo {
        photo,
        users: users_tl(server, me, [me]).await?,
    }))
}

async fn upload_profile_photo(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::photos::UploadProfilePhoto,
) -> RpcResult {
    let me = caller.user()?;
    if call.bot.is_some() || call.video.is_some() || call.video_emoji_markup.is_some() {
        return Err(RpcError::bad_request("PHOTO_INVALID"));
    }
    let file = call
        .file
        .ok_or_else(|| RpcError::bad_request("PHOTO_FILE_MISSING"))?;
    let id = super::messages::uploaded_photo(server, me, file).await?;
    let photo = server
        .store
        .run(move |s| {
            s.set_profile_photo(me, id, unix_now())?;
            s.photo(id)
        })
        .await?;
    photo_answer(server, me, photo.as_ref()).await
}

async fn update_profile_photo(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::photos::UpdateProfilePhoto,
) -> RpcResult {
    let me = caller.user()?;
    if call.bot.is_some() {
        return Err(RpcError::bad_request("PHOTO_INVALID"));
    }
    match call.id {
        enums::InputPhoto::InputPhoto(input) => {
            let photo = super::upload::photo_for(server, input.id, input.access_hash, None).await?;
            let id = photo.id;
            let mine = server
                .store
                .run(move |s| s.is_profile_photo(me, id))
                .await?;
            if !mine {
                return Err(RpcError::bad_request("PHOTO_ID_INVALID"));
            }
            server
                .store
                .run(move |s| s.set_profile_photo(me, id, unix_now()))
                .await?;
            photo_answer(server, me, Some(&photo)).await
        }
        enums::InputPhoto::Empty => {
            // The current photo goes; the one before it, if any, is current again.
            let current = server
                .store
                .run(move |s| s.user(me))
                .await?
                .and_then(|u| u.photo);
            let next = server
                .store
                .run(move |s| {
                    if let Some(id) = current {
                        s.delete_profile_photos(me, &[id])?;
                    }
                    let (mut photos, _) = s.profile_photos(me, 0, 1)?;
                    Ok(photos.pop())
                })
                .await?;
            photo_answer(server, me, next.as_ref()).await
        }
    }
}

async fn get_user_photos(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::photos::GetUserPhotos,
) -> RpcResult {
    let me = caller.user()?;
    let user = resolve_input_user(server, me, &call.user_id).await?;
    let (id, offset, limit) = (user.id, call.offset, call.limit);
    let (photos, count) = server
        .store
        .run(move |s| s.profile_photos(id, offset, limit))
        .await?;
    let users = users_tl(server, me, [user.id]).await?;
    let photos: Vec<enums::Photo> = photos.iter().map(|p| photo_tl(p, PHOTO_DC)).collect();
    if (offset.max(0) as usize + photos.len()) < count as usize {
        ok(enums::photos::Photos::Slice(types::photos::PhotosSlice {
            count,
            photos,
            users,
        }))
    } else {
        ok(enums::photos::Photos::Photos(types::photos::Photos {
            photos,
            users,
        }))
    }
}

async fn delete_photos(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::photos::DeletePhotos,
) -> RpcResult {
    let me = caller.user()?;
    let ids: Vec<i64> = call
        .id
        .iter()
        .filter_map(|p| match p {
            enums::InputPhoto::InputPhoto(p) => Some(p.id),
            enums::InputPhoto::Empty => None,
        })
        .collect();
    let deleted = server
        .store
        .run(move |s| s.delete_profile_photos(me, &ids))
        .await?;
    ok(deleted)
}
