//! Pinned messages in private chats, basic groups and channels: `messages.updatePinnedMessage` pins or
//! unpins one message — in a private chat for both sides (or only the caller's,
//! `pm_oneside`), in a group for every member, with a `messageActionPinMessage` notice
//! replying to it — and `messages.unpinAllMessages` unpins every one. Each box logs
//! `updatePinnedMessages` (pts-ordered, recoverable through getDifference) and the other
//! sessions concerned get it pushed; the newest pinned message is `userFull.pinned_msg_id` /
//! `chatFull.pinned_msg_id`. In channels and megagroups admins pin posts for everyone
//! (`updatePinnedChannelMessages` in the channel's pts box, a service post for a pin,
//! `channelFull.pinned_msg_id`).

use super::{ok, push_committed, resolve_peer, update_tl, updates_tl};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Node, unix_now};
use crate::store::{Committed, StoreError};
use mtproto_api::{enums, functions, types};
use std::sync::Arc;

/// The pins service.
#[derive(Debug, Clone, Copy)]
pub struct PinsService;

service!(PinsService {
    functions::messages::UpdatePinnedMessage => update_pinned_message,
    functions::messages::UnpinAllMessages => unpin_all_messages,
});

/// The chat a pin call names.
enum Pinned {
    /// A private chat with this user.
    Private(i64),
    /// A basic group.
    Group(i64),
    /// A channel or megagroup.
    Channel(types::InputPeerChannel),
}

async fn pinned_in(
    server: &Arc<Node>,
    me: i64,
    peer: &enums::InputPeer,
) -> Result<Pinned, RpcError> {
    match peer {
        enums::InputPeer::Channel(channel) => Ok(Pinned::Channel(channel.clone())),
        enums::InputPeer::ChannelFromMessage(_) => Err(RpcError::bad_request("PEER_ID_INVALID")),
        enums::InputPeer::Chat(chat) => Ok(Pinned::Group(chat.chat_id)),
        other => Ok(Pinned::Private(resolve_peer(server, me, other).await?.id)),
    }
}

/// Pins or unpins in a group (`id` `None`: unpins all), pushes what changed to every member's
/// sessions, and answers with the caller's own updates.
async fn pin_in_group(
    server: &Arc<Node>,
    caller: &Caller,
    chat: i64,
    id: Option<i32>,
    pinned: bool,
) -> Result<Vec<Committed>, RpcError> {
    let me = caller.user()?;
    let committed = server
        .store
        .run(move |s| s.pin_chat_message(chat, me, id, pinned, unix_now()))
        .await
        .map_err(|e| match e {
            StoreError::NotFound { what: "message" } => RpcError::bad_request("MESSAGE_ID_INVALID"),
            StoreError::NotFound { .. } => RpcError::bad_request("CHAT_ID_INVALID"),
            other => other.into(),
        })?;
    push_committed(server, caller, &committed).await;
    Ok(committed)
}

async fn update_pinned_message(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::UpdatePinnedMessage,
) -> RpcResult {
    let me = caller.user()?;
    let (id, pinned, both_sides) = (call.id, !call.unpin, !call.pm_oneside);
    let (committed, users, chats) = match pinned_in(server, me, &call.peer).await? {
        Pinned::Channel(channel) => {
            let done = super::channels::pin_posts(server, &caller, &channel, Some(id), pinned);
            return ok(done.await?.updates);
        }
        Pinned::Group(chat) => {
            let committed = pin_in_group(server, &caller, chat, Some(id), pinned).await?;
            (committed, vec![me], vec![chat])
        }
        Pinned::Private(peer) => {
            let committed = server
                .store
                .run(move |s| s.set_pinned(me, peer, Some(&[id]), pinned, both_sides, unix_now()))
                .await
                .map_err(|e| match e {
                    StoreError::NotFound { .. } => RpcError::bad_request("MESSAGE_ID_INVALID"),
                    other => other.into(),
                })?;
            push_committed(server, &caller, &committed).await;
            (committed, vec![me, peer], Vec::new())
        }
    };
    let own_messages: Vec<&crate::store::Message> = committed
        .iter()
        .filter(|c| c.user_id == me)
        .filter_map(|c| c.message.as_ref())
        .collect();
    let media = super::media_of(server, own_messages).await?;
    let own: Vec<enums::Update> = committed
        .iter()
        .filter(|c| c.user_id == me)
        .filter_map(|c| update_tl(&c.entry, c.message.as_ref(), &media))
        .collect();
    let mut answer = updates_tl(server, me, own, users).await?;
    if let enums::Updates::Updates(u) = &mut answer {
        u.chats = super::groups::chats_tl(server, me, chats).await?;
    }
    ok(answer)
}

async fn unpin_all_messages(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::UnpinAllMessages,
) -> RpcResult {
    let me = caller.user()?;
    let committed = match pinned_in(server, me, &call.peer).await? {
        Pinned::Channel(channel) => {
            return unpin_all_posts(server, &caller, &channel).await;
        }
        Pinned::Group(chat) => pin_in_group(server, &caller, chat, None, false).await?,
        Pinned::Private(peer) => {
            let committed = server
                .store
                .run(move |s| s.set_pinned(me, peer, None, false, true, unix_now()))
                .await?;
            push_committed(server, &caller, &committed).await;
            committed
        }
    };
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

/// `unpinAllMessages` in a channel: `messages.affectedHistory` at the channel's pts.
async fn unpin_all_posts(
    server: &Arc<Node>,
    caller: &Caller,
    channel: &types::InputPeerChannel,
) -> RpcResult {
    let done = super::channels::pin_posts(server, caller, channel, None, false).await?;
    ok(types::messages::AffectedHistory {
        pts: done.pts,
        pts_count: done.pts_count,
        offset: 0,
    })
}
