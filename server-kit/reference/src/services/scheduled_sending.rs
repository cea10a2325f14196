//! Sending scheduled messages: [`run`] sends each message of the
//! [scheduled lists](super::scheduled) when its time comes — from the store, so across
//! restarts and whichever node claims it first — and `messages.sendScheduledMessages` sends
//! some at once. A message goes as its author through the ordinary send path (idempotent on
//! its random_id), then leaves the list (`updateDeleteScheduledMessages`). One its author can
//! no longer send (they left the chat, were blocked) is dropped.

use super::dialog_peer::dialog_peer;
use super::ok;
use super::scheduled::{answer, deleted_update, may_send, push_others};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Node, unix_now};
use crate::store::scheduled::ScheduledMessage;
use crate::store::{DialogPeer, Extras, StoreError};
use mtproto_api::{functions, types};
use std::sync::Arc;
use std::time::Duration;

/// How long a node's claim on a due message lasts: if the node dies while sending it, another
/// one sends it after this.
pub const CLAIM_SECONDS: i32 = 60;

/// How often [`run`] looks for due messages.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The most due messages taken in one claim.
const CLAIM_BATCH: usize = 100;

/// The service of `messages.sendScheduledMessages`.
#[derive(Debug, Clone, Copy)]
pub struct ScheduledSendingService;

service!(ScheduledSendingService {
    functions::messages::SendScheduledMessages => send_scheduled_messages,
});

async fn send_scheduled_messages(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::SendScheduledMessages,
) -> RpcResult {
    let me = caller.user()?;
    let peer = dialog_peer(server, me, &call.peer).await?;
    let (ids, now) = (call.id, unix_now());
    let claimed = server
        .store
        .run(move |s| s.claim_scheduled(me, peer, &ids, now, now + CLAIM_SECONDS))
        .await?;
    if claimed.is_empty() {
        return Err(RpcError::bad_request("MESSAGE_ID_INVALID"));
    }
    let mut sent = Vec::with_capacity(claimed.len());
    for message in claimed {
        let id = message.id;
        send(server, message).await?;
        sent.push(id);
    }
    // The new messages reached every session of the author through the send path.
    ok(answer(server, me, peer, vec![deleted_update(peer, sent)]).await?)
}

/// Sends the messages whose time has come, every [`POLL_INTERVAL`], for as long as the node
/// runs (spawn it next to the gateway).
pub async fn run(server: Arc<Node>) {
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = send_due(&server).await {
            tracing::warn!("scheduled messages: {e}");
        }
    }
}

/// Claims and sends every due message, a batch at a time.
async fn send_due(server: &Arc<Node>) -> Result<(), StoreError> {
    loop {
        let now = unix_now();
        let due = server
            .store
            .run(move |s| s.claim_due(now, now + CLAIM_SECONDS, CLAIM_BATCH))
            .await?;
        let full = due.len() == CLAIM_BATCH;
        for message in due {
            let (owner, id) = (message.owner, message.id);
            if let Err(e) = send(server, message).await {
                tracing::warn!(user_id = owner, id, "sending a scheduled message: {e:?}");
            }
        }
        if !full {
            return Ok(());
        }
    }
}

/// Sends one claimed message as its author, then takes it off their list. A refusal (the
/// author left the chat, was blocked) drops it; a server failure leaves it for the next claim.
async fn send(server: &Arc<Node>, message: ScheduledMessage) -> Result<(), RpcError> {
    let (owner, id, peer) = (message.owner, message.id, message.message.peer);
    let result = send_as_author(server, message).await;
    if let Err(e) = &result {
        if e.code >= 500 {
            return result;
        }
        tracing::info!(
            user_id = owner,
            id,
            "scheduled message dropped: {}",
            e.message
        );
    }
    server
        .store
        .run(move |s| s.delete_scheduled(owner, peer, &[id]))
        .await?;
    // Every session of the author, the one that asked included.
    let nobody = Caller {
        key_id: 0,
        session_id: 0,
        user_id: Some(owner),
        layer: mtproto_api::LAYER,
    };
    push_others(server, &nobody, owner, peer, deleted_update(peer, vec![id])).await;
    result
}

/// The ordinary send of a scheduled message, by its author, pushed to every session
/// concerned (the author's included).
async fn send_as_author(server: &Arc<Node>, m: ScheduledMessage) -> Result<(), RpcError> {
    let author = Caller {
        key_id: 0,
        session_id: 0,
        user_id: Some(m.owner),
        layer: mtproto_api::LAYER,
    };
    let (me, random_id) = (m.owner, m.message.random_id);
    let extras = Extras {
        media: m.message.media,
        reply_to: m.message.reply_to,
        ..Extras::default()
    };
    may_send(server, me, m.message.peer).await?;
    let text = m.message.text;
    match m.message.peer {
        DialogPeer::User(to) => {
            let sent = server
                .store
                .run(move |s| s.send(me, to, &text, random_id, unix_now(), extras))
                .await?;
            super::messages::answer_sent(server, &author, me, to, vec![(random_id, sent)]).await?;
        }
        DialogPeer::Chat(chat) => {
            super::groups::send(server, author, chat, vec![(text, random_id, extras)]).await?;
        }
        DialogPeer::Channel(id) => {
            let channel = server
                .store
                .run(move |s| s.channel(id))
                .await?
                .ok_or_else(|| RpcError::bad_request("CHANNEL_INVALID"))?;
            let input = types::InputPeerChannel {
                channel_id: id,
                access_hash: channel.access_hash,
            };
            let post = super::channels::NewPost {
                text,
                random_id,
                extras,
            };
            super::channels::post(server, author, &input, vec![post]).await?;
        }
    }
    Ok(())
}
