//! Pinned messages in private chats: `messages.updatePinnedMessage` pins or unpins one
//! message for both sides (or only the caller's, `pm_oneside`), `messages.unpinAllMessages`
//! unpins every one. Each side's box logs `updatePinnedMessages` (pts-ordered, recoverable
//! through getDifference) and the other side's sessions get it pushed; the newest pinned
//! message is `userFull.pinned_msg_id`. Pins in channels are not kept yet: those calls are
//! refused with `PEER_ID_INVALID`.

use super::{ok, push_committed, resolve_peer, update_tl, updates_tl};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Node, unix_now};
use crate::store::StoreError;
use mtproto_api::{enums, functions, types};
use std::sync::Arc;

/// The pins service.
#[derive(Debug, Clone, Copy)]
pub struct PinsService;

service!(PinsService {
    functions::messages::UpdatePinnedMessage => update_pinned_message,
    functions::messages::UnpinAllMessages => unpin_all_messages,
});

/// The user of a private chat a pin call names (channels refused, see the module doc).
async fn chat_peer(server: &Arc<Node>, me: i64, peer: &enums::InputPeer) -> Result<i64, RpcError> {
    if matches!(
        peer,
        enums::InputPeer::Channel(_) | enums::InputPeer::ChannelFromMessage(_)
    ) {
        return Err(RpcError::bad_request("PEER_ID_INVALID"));
    }
    Ok(resolve_peer(server, me, peer).await?.id)
}

async fn update_pinned_message(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::UpdatePinnedMessage,
) -> RpcResult {
    let me = caller.user()?;
    let peer = chat_peer(server, me, &call.peer).await?;
    let (id, pinned, both_sides) = (call.id, !call.unpin, !call.pm_oneside);
    let committed = server
        .store
        .run(move |s| s.set_pinned(me, peer, Some(&[id]), pinned, both_sides, unix_now()))
        .await
        .map_err(|e| match e {
            StoreError::NotFound { .. } => RpcError::bad_request("MESSAGE_ID_INVALID"),
            other => other.into(),
        })?;
    push_committed(server, &caller, &committed).await;
    let own: Vec<enums::Update> = committed
        .iter()
        .filter(|c| c.user_id == me)
        .filter_map(|c| update_tl(&c.entry, None, &Default::default()))
        .collect();
    ok(updates_tl(server, me, own, vec![me, peer]).await?)
}

async fn unpin_all_messages(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::UnpinAllMessages,
) -> RpcResult {
    let me = caller.user()?;
    let peer = chat_peer(server, me, &call.peer).await?;
    let committed = server
        .store
        .run(move |s| s.set_pinned(me, peer, None, false, true, unix_now()))
        .await?;
    push_committed(server, &caller, &committed).await;
    let own = committed.iter().find(|c| c.user_id == me);
    let pts = match own {
        Some(c) => c.entry.pts,
        None => server.store.run(move |s| s.pts(me)).await?,
    };
    ok(types::messages::AffectedHistory {
        pts,
        pts_count: own.map_or(0, |c| c.entry.pts_count),
        offset: 0,
    })
}
