//! `updates.getState` and `updates.getDifference`, from each user's durable log, and the
//! caller's device's qts box of secret chat messages ([`super::secret_chats`]).

use super::{media_of, message_tl, ok, update_tl, users_tl};
use crate::rpc::{Caller, RpcResult};
use crate::state::{Node, unix_now};
use crate::store::Change;
use mtproto_api::{enums, functions, types};
use std::sync::Arc;

/// Log entries per difference slice.
pub const DIFFERENCE_SLICE: usize = 100;

/// The updates service.
#[derive(Debug, Clone, Copy)]
pub struct UpdatesService;

service!(UpdatesService {
    functions::updates::GetState => get_state,
    functions::updates::GetDifference => get_difference,
});

/// The `updates.state` at `pts` and `qts` now (no seq or unread count kept here).
pub(crate) fn state(pts: i32, qts: i32) -> types::updates::State {
    types::updates::State {
        pts,
        qts,
        date: unix_now(),
        seq: 0,
        unread_count: 0,
    }
}

async fn get_state(
    server: &Arc<Node>,
    caller: Caller,
    _: functions::updates::GetState,
) -> RpcResult {
    let me = caller.user()?;
    let key = caller.key_id;
    let (pts, qts) = server
        .store
        .run(move |s| Ok((s.pts(me)?, s.qts(key)?)))
        .await?;
    ok(state(pts, qts))
}

async fn get_difference(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::updates::GetDifference,
) -> RpcResult {
    let me = caller.user()?;
    let current = server.store.run(move |s| s.pts(me)).await?;
    let secret =
        super::secret_chats::difference(server, me, caller.key_id, call.qts, call.date).await?;
    // Channels with posts since the client's state date: it should fetch them with
    // getChannelDifference.
    let channels = super::channels::dialogs(server, me).await?;
    let mut channel_updates = Vec::new();
    let mut channel_chats = Vec::new();
    for (date, dialog, _, chat) in channels {
        if date > call.date {
            if let (enums::Dialog::Dialog(d), enums::Chat::Channel(c)) = (&dialog, &chat) {
                channel_updates.push(
                    types::UpdateChannelTooLong {
                        channel_id: c.id,
                        pts: d.pts,
                    }
                    .into(),
                );
                channel_chats.push(chat);
            }
        }
    }
    if call.pts >= current && (!channel_updates.is_empty() || !secret.is_empty()) {
        let users = users_tl(server, me, secret.users).await?;
        let mut other_updates = channel_updates;
        other_updates.extend(secret.updates);
        if secret.more {
            return ok(enums::updates::Difference::Slice(
                types::updates::DifferenceSlice {
                    new_messages: Vec::new(),
                    new_encrypted_messages: secret.messages,
                    other_updates,
                    chats: channel_chats,
                    users,
                    intermediate_state: state(current, secret.qts).into(),
                },
            ));
        }
        return ok(enums::updates::Difference::Difference(
            types::updates::Difference {
                new_messages: Vec::new(),
                new_encrypted_messages: secret.messages,
                other_updates,
                chats: channel_chats,
                users,
                state: state(current, secret.qts).into(),
            },
        ));
    }
    if call.pts >= current {
        return ok(enums::updates::Difference::Empty(
            types::updates::DifferenceEmpty {
                date: unix_now(),
                seq: 0,
            },
        ));
    }
    if current - call.pts > server.options.difference_too_long {
        return ok(enums::updates::Difference::TooLong(
            types::updates::DifferenceTooLong { pts: current },
        ));
    }
    let from = call.pts.max(0);
    let (changes, messages) = server
        .store
        .run(move |s| s.changes_since(me, from, DIFFERENCE_SLICE))
        .await?;
    let media = media_of(server, &messages).await?;
    let mut new_messages = Vec::new();
    let mut other_updates = Vec::new();
    let mut user_ids = vec![me];
    user_ids.extend(secret.users.iter().copied());
    let mut chat_ids = super::groups::chats_of(&messages);
    for change in &changes {
        let message = match change.change {
            Change::NewMessage { id } | Change::EditMessage { id } => {
                messages.iter().find(|m| m.id == id)
            }
            _ => None,
        };
        if let Some(m) = message {
            user_ids.extend([m.from_id, m.peer]);
            user_ids.extend(super::groups::action_users(m.action.as_ref()));
        }
        match (&change.change, message) {
            (Change::NewMessage { .. }, Some(m)) => new_messages.push(message_tl(m, &media)),
            // A message deleted since: its later deletion entry says so.
            (Change::NewMessage { .. }, None) => {}
            _ => other_updates.extend(update_tl(change, message, &media)),
        }
        if let Change::ReadInbox { peer, .. }
        | Change::ReadOutbox { peer, .. }
        | Change::Pin { peer, .. } = change.change
        {
            user_ids.push(peer);
            chat_ids.extend(crate::store::chats::peer_chat(peer));
        }
    }
    super::reactions::attach_private(server, me, &mut new_messages).await?;
    super::reactions::attach_to_edits(server, me, &mut other_updates).await?;
    let last = changes.last().map_or(current, |c| c.pts);
    user_ids.extend(super::forwarded_users(&messages));
    let users = users_tl(server, me, user_ids).await?;
    let mut forwarded_from =
        super::channels::chats_tl(server, me, super::groups::channels_of(&messages)).await?;
    forwarded_from.extend(super::groups::chats_tl(server, me, chat_ids).await?);
    other_updates.extend(secret.updates);
    if last < current || secret.more {
        ok(enums::updates::Difference::Slice(
            types::updates::DifferenceSlice {
                new_messages,
                new_encrypted_messages: secret.messages,
                other_updates,
                chats: forwarded_from,
                users,
                intermediate_state: state(last, secret.qts).into(),
            },
        ))
    } else {
        other_updates.extend(channel_updates);
        let mut chats = channel_chats;
        chats.append(&mut forwarded_from);
        ok(enums::updates::Difference::Difference(
            types::updates::Difference {
                new_messages,
                new_encrypted_messages: secret.messages,
                other_updates,
                chats,
                users,
                state: state(current, secret.qts).into(),
            },
        ))
    }
}
