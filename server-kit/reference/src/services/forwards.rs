//! Forwarding: `messages.forwardMessages` copies messages of a private chat or a basic group
//! (from the caller's own box) or of a channel the caller may read into a private chat, a
//! basic group or a channel,
//! in the order asked, each with a `fwd_from` header naming who wrote it first (the first
//! origin when the message was itself a forward) unless `drop_author`, and with its media.

use super::channels::{self, NewPost};
use super::{resolve_channel_peer, resolve_peer};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Node, unix_now};
use crate::store::{Extras, Forward, ForwardFrom, MediaRef};
use mtproto_api::{enums, functions};
use std::sync::Arc;

/// The most messages one call forwards.
pub const MAX_FORWARDED: usize = 100;

/// The forwarding service.
#[derive(Debug, Clone, Copy)]
pub struct ForwardsService;

service!(ForwardsService {
    functions::messages::ForwardMessages => forward_messages,
});

/// A message about to be forwarded, as read from its chat.
#[derive(Debug, Clone)]
struct Source {
    /// Its id in the chat it is forwarded from.
    id: i32,
    text: String,
    media: Option<MediaRef>,
    /// Who wrote it first, and when.
    origin: Forward,
}

async fn forward_messages(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::ForwardMessages,
) -> RpcResult {
    let me = caller.user()?;
    if call.id.is_empty() {
        return Err(RpcError::bad_request("MESSAGE_IDS_EMPTY"));
    }
    if call.id.len() > MAX_FORWARDED {
        return Err(RpcError::bad_request("MESSAGE_ID_INVALID"));
    }
    if call.id.len() != call.random_id.len() {
        return Err(RpcError::bad_request("RANDOM_ID_INVALID"));
    }
    let sources = sources(server, me, &call.from_peer, &call.id).await?;
    // In the order asked, each with the random_id given beside its id; ids not found are
    // skipped, as Telegram does, unless none is left.
    let mut posts = Vec::with_capacity(call.id.len());
    for (id, random_id) in call.id.iter().zip(&call.random_id) {
        let Some(source) = sources.iter().find(|s| s.id == *id) else {
            continue;
        };
        let text = if call.drop_media_captions && source.media.is_some() {
            String::new()
        } else {
            source.text.clone()
        };
        posts.push(NewPost {
            text,
            random_id: *random_id,
            extras: Extras {
                media: source.media,
                reply_to: None,
                forward: (!call.drop_author).then_some(source.origin),
                ..Extras::default()
            },
        });
    }
    if posts.is_empty() {
        return Err(RpcError::bad_request("MESSAGE_ID_INVALID"));
    }
    if let enums::InputPeer::Channel(peer) = &call.to_peer {
        return channels::post(server, caller, peer, posts).await;
    }
    if let enums::InputPeer::Chat(chat) = &call.to_peer {
        let posts = posts
            .into_iter()
            .map(|p| (p.text, p.random_id, p.extras))
            .collect();
        return super::groups::send(server, caller, chat.chat_id, posts).await;
    }
    let to = resolve_peer(server, me, &call.to_peer).await?.id;
    let mut sent = Vec::with_capacity(posts.len());
    for post in posts {
        let random_id = post.random_id;
        let one = server
            .store
            .run(move |s| s.send(me, to, &post.text, random_id, unix_now(), post.extras))
            .await?;
        sent.push((random_id, one));
    }
    super::messages::answer_sent(server, &caller, me, to, sent).await
}

/// The messages `ids` of the chat `from` names, as the caller may read them.
async fn sources(
    server: &Arc<Node>,
    me: i64,
    from: &enums::InputPeer,
    ids: &[i32],
) -> Result<Vec<Source>, RpcError> {
    let ids = ids.to_vec();
    if let enums::InputPeer::Channel(peer) = from {
        let ch = resolve_channel_peer(server, peer).await?;
        channels::readable(server, &ch, me).await?;
        let channel = ch.id;
        let posts = server
            .store
            .run(move |s| s.channel_messages(channel, &ids))
            .await?;
        return Ok(posts
            .into_iter()
            .map(|p| {
                // A broadcast channel signs its posts; a megagroup's messages are their
                // senders'.
                let from = if ch.broadcast {
                    ForwardFrom::Channel {
                        channel,
                        post: p.id,
                    }
                } else {
                    ForwardFrom::User(p.from_id)
                };
                Source {
                    id: p.id,
                    origin: p.forward.unwrap_or(Forward { from, date: p.date }),
                    text: p.text,
                    media: p.media,
                }
            })
            .collect());
    }
    let peer = super::groups::box_peer(server, me, from).await?;
    let messages = server.store.run(move |s| s.messages(me, &ids)).await?;
    Ok(messages
        .into_iter()
        // Service messages are not forwarded.
        .filter(|m| m.peer == peer && m.action.is_none())
        .map(|m| Source {
            id: m.id,
            origin: m.forward.unwrap_or(Forward {
                from: ForwardFrom::User(m.from_id),
                date: m.date,
            }),
            text: m.text,
            media: m.media,
        })
        .collect())
}
