//! Scheduled messages: `messages.sendMessage` / `sendMedia` with `schedule_date` keep the
//! message in the author's scheduled list for its chat (`updateNewScheduledMessage` to every
//! session of theirs) instead of sending it; `messages.getScheduledHistory`,
//! `getScheduledMessages` and `deleteScheduledMessages` work on that list.
//! [`scheduled_sending`](super::scheduled_sending) sends them.

use super::dialog_peer::{chats_tl, dialog_peer, peer_tl, split};
use super::{media_of, message_tl, ok, updates_tl, users_tl};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Node, unix_now};
use crate::store::channels::Role;
use crate::store::chats::chat_peer;
use crate::store::scheduled::{MAX_SCHEDULED_PER_CHAT, NewScheduled, ScheduledMessage};
use crate::store::{DialogPeer, MediaRef, Message};
use mtproto_api::{enums, functions, types};
use std::sync::Arc;
use tl_runtime::Serialize;

/// The latest a message may be scheduled for, from now (Telegram: a year).
pub const MAX_SCHEDULE_AHEAD_SECONDS: i32 = 366 * 24 * 3600;

/// The scheduled messages service.
#[derive(Debug, Clone, Copy)]
pub struct ScheduledService;

service!(ScheduledService {
    functions::messages::GetScheduledHistory => get_scheduled_history,
    functions::messages::GetScheduledMessages => get_scheduled_messages,
    functions::messages::DeleteScheduledMessages => delete_scheduled_messages,
});

/// What a send with `schedule_date` asks to keep.
#[derive(Debug, Clone)]
pub(crate) struct ToSchedule {
    /// The text or caption.
    pub text: String,
    /// The client's random_id.
    pub random_id: i64,
    /// When to send it.
    pub date: i32,
    /// Its media, already stored.
    pub media: Option<MediaRef>,
    /// The message it replies to.
    pub reply_to: Option<i32>,
}

/// Keeps a message for later (the `schedule_date` branch of `sendMessage` / `sendMedia`):
/// the answer has `updateMessageID` and `updateNewScheduledMessage`, which the author's other
/// sessions get too.
pub(crate) async fn schedule(
    server: &Arc<Node>,
    caller: Caller,
    peer: &enums::InputPeer,
    message: ToSchedule,
) -> RpcResult {
    let me = caller.user()?;
    let now = unix_now();
    if message.date > now.saturating_add(MAX_SCHEDULE_AHEAD_SECONDS) {
        return Err(RpcError::bad_request("SCHEDULE_DATE_TOO_LATE"));
    }
    if message.date <= now {
        return Err(RpcError::bad_request("SCHEDULE_DATE_INVALID"));
    }
    let author = server.store.run(move |s| s.user(me)).await?;
    if author.is_some_and(|u| u.bot_info_version.is_some()) {
        return Err(RpcError::bad_request("SCHEDULE_BOT_NOT_ALLOWED"));
    }
    let peer = dialog_peer(server, me, peer).await?;
    may_send(server, me, peer).await?;
    let kept = server
        .store
        .run(move |s| s.scheduled(me, peer, None))
        .await?;
    if kept.len() >= MAX_SCHEDULED_PER_CHAT
        && !kept
            .iter()
            .any(|k| k.message.random_id == message.random_id)
    {
        return Err(RpcError::bad_request("SCHEDULE_TOO_MUCH"));
    }
    let new = NewScheduled {
        peer,
        text: message.text,
        random_id: message.random_id,
        date: message.date,
        media: message.media,
        reply_to: message.reply_to,
    };
    let scheduled = server.store.run(move |s| s.schedule(me, &new)).await?;
    let tl = scheduled_tl(server, std::slice::from_ref(&scheduled)).await?;
    let update: enums::Update = types::UpdateNewScheduledMessage {
        message: tl[0].clone(),
    }
    .into();
    push_others(server, &caller, me, peer, update.clone()).await;
    let id_update = types::UpdateMessageID {
        id: scheduled.id,
        random_id: scheduled.message.random_id,
    }
    .into();
    ok(answer(server, me, peer, vec![id_update, update]).await?)
}

/// Whether `me` may still send to `peer` (membership was checked when it was resolved):
/// not blocked by the user, an admin of a broadcast channel.
pub(crate) async fn may_send(
    server: &Arc<Node>,
    me: i64,
    peer: DialogPeer,
) -> Result<(), RpcError> {
    match peer {
        DialogPeer::User(to) => super::users::check_not_blocked(server, me, to).await,
        DialogPeer::Chat(_) => Ok(()),
        DialogPeer::Channel(id) => {
            let channel = server.store.run(move |s| s.channel(id)).await?;
            let member = server.store.run(move |s| s.member(id, me)).await?;
            match (channel, member) {
                (Some(ch), Some(m)) if ch.broadcast && m.role < Role::Admin => {
                    Err(RpcError::bad_request("CHAT_ADMIN_REQUIRED"))
                }
                (Some(_), Some(_)) => Ok(()),
                _ => Err(RpcError::bad_request("CHANNEL_PRIVATE")),
            }
        }
    }
}

/// Scheduled messages as TL: outgoing, dated when they will be sent, `from_scheduled`.
async fn scheduled_tl(
    server: &Arc<Node>,
    list: &[ScheduledMessage],
) -> Result<Vec<enums::Message>, RpcError> {
    let stored: Vec<Message> = list.iter().map(as_message).collect();
    let media = media_of(server, &stored).await?;
    Ok(stored
        .iter()
        .zip(list)
        .map(|(m, s)| {
            let mut tl = message_tl(m, &media);
            if let enums::Message::Message(tl) = &mut tl {
                tl.from_scheduled = true;
                tl.peer_id = peer_tl(s.message.peer);
            }
            tl
        })
        .collect())
}

/// A scheduled message in the shape of a stored one (for its TL view).
fn as_message(s: &ScheduledMessage) -> Message {
    let peer = match s.message.peer {
        DialogPeer::User(id) => id,
        DialogPeer::Chat(id) => chat_peer(id),
        // Replaced by the channel's peer in the TL view.
        DialogPeer::Channel(id) => id,
    };
    Message {
        owner: s.owner,
        id: s.id,
        peer,
        out: true,
        from_id: s.owner,
        text: s.message.text.clone(),
        date: s.message.date,
        edit_date: None,
        random_id: Some(s.message.random_id),
        media: s.message.media,
        reply_to: s.message.reply_to,
        forward: None,
        pinned: false,
        action: None,
        entities: None,
        reply_markup: None,
    }
}

/// `updates` with the users and chat of `peer` as `me` sees them.
pub(crate) async fn answer(
    server: &Arc<Node>,
    me: i64,
    peer: DialogPeer,
    updates: Vec<enums::Update>,
) -> Result<enums::Updates, RpcError> {
    let (mut users, chats, channels) = split([peer]);
    users.push(me);
    let mut answer = updates_tl(server, me, updates, users).await?;
    if let enums::Updates::Updates(u) = &mut answer {
        u.chats = chats_tl(server, me, chats, channels).await?;
    }
    Ok(answer)
}

/// Pushes `update` to `me`'s sessions on this node but the caller's.
pub(crate) async fn push_others(
    server: &Arc<Node>,
    caller: &Caller,
    me: i64,
    peer: DialogPeer,
    update: enums::Update,
) {
    match answer(server, me, peer, vec![update]).await {
        Ok(body) => server.push_to_user(
            me,
            &body.to_bytes(),
            Some((caller.key_id, caller.session_id)),
        ),
        Err(e) => tracing::warn!(user_id = me, "scheduled message update: {e:?}"),
    }
}

/// `updateDeleteScheduledMessages` for `ids` of `peer`.
pub(crate) fn deleted_update(peer: DialogPeer, ids: Vec<i32>) -> enums::Update {
    types::UpdateDeleteScheduledMessages {
        peer: peer_tl(peer),
        messages: ids,
        sent_messages: None,
    }
    .into()
}

async fn get_scheduled_history(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::GetScheduledHistory,
) -> RpcResult {
    list(server, caller, &call.peer, None).await
}

async fn get_scheduled_messages(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::GetScheduledMessages,
) -> RpcResult {
    list(server, caller, &call.peer, Some(call.id)).await
}

/// `messages.messages` of the caller's scheduled messages in `peer` (those of `ids`).
async fn list(
    server: &Arc<Node>,
    caller: Caller,
    peer: &enums::InputPeer,
    ids: Option<Vec<i32>>,
) -> RpcResult {
    let me = caller.user()?;
    let peer = dialog_peer(server, me, peer).await?;
    let kept = server
        .store
        .run(move |s| s.scheduled(me, peer, ids.as_deref()))
        .await?;
    let messages = scheduled_tl(server, &kept).await?;
    let (mut users, chats, channels) = split([peer]);
    users.push(me);
    ok(enums::messages::Messages::Messages(
        types::messages::Messages {
            messages,
            topics: Vec::new(),
            chats: chats_tl(server, me, chats, channels).await?,
            users: users_tl(server, me, users).await?,
        },
    ))
}

async fn delete_scheduled_messages(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::DeleteScheduledMessages,
) -> RpcResult {
    let me = caller.user()?;
    let peer = dialog_peer(server, me, &call.peer).await?;
    let ids = call.id;
    let deleted = server
        .store
        .run(move |s| s.delete_scheduled(me, peer, &ids))
        .await?;
    let update = deleted_update(peer, deleted);
    push_others(server, &caller, me, peer, update.clone()).await;
    ok(answer(server, me, peer, vec![update]).await?)
}
