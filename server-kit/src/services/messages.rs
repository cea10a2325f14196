//! Private chats: `messages.sendMessage` (idempotent on random_id), `getHistory` (newest
//! first, every offset argument), `getDialogs`, `getMessages`, `readHistory`, `editMessage`,
//! `deleteMessages`.

use super::{message_tl, ok, push_committed, resolve_peer, update_tl, updates_tl, users_tl};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Server, unix_now};
use crate::store::{HistoryQuery, Message, StoreError};
use mtproto_api::{enums, functions, types};
use std::sync::Arc;

/// The longest message text.
pub const MAX_MESSAGE_LENGTH: usize = 4096;

/// The messages service.
#[derive(Debug, Clone, Copy)]
pub struct MessagesService;

service!(MessagesService {
    functions::messages::SendMessage => send_message,
    functions::messages::GetHistory => get_history,
    functions::messages::GetDialogs => get_dialogs,
    functions::messages::GetMessages => get_messages,
    functions::messages::ReadHistory => read_history,
    functions::messages::EditMessage => edit_message,
    functions::messages::DeleteMessages => delete_messages,
});

fn check_text(text: &str) -> Result<(), RpcError> {
    if text.trim().is_empty() {
        return Err(RpcError::bad_request("MESSAGE_EMPTY"));
    }
    if text.chars().count() > MAX_MESSAGE_LENGTH {
        return Err(RpcError::bad_request("MESSAGE_TOO_LONG"));
    }
    Ok(())
}

async fn send_message(
    server: &Arc<Server>,
    caller: Caller,
    call: functions::messages::SendMessage,
) -> RpcResult {
    let me = caller.user()?;
    check_text(&call.message)?;
    let to = resolve_peer(server, me, &call.peer).await?;
    let (text, random_id, to_id) = (call.message.clone(), call.random_id, to.id);
    let sent = server
        .store
        .run(move |s| s.send_message(me, to_id, &text, random_id, unix_now()))
        .await?;
    let own = &sent.own;
    let message = own.message.as_ref().ok_or_else(RpcError::internal)?;
    let mut updates = vec![
        types::UpdateMessageID {
            id: message.id,
            random_id,
        }
        .into(),
    ];
    updates.extend(update_tl(&own.entry, Some(message)));
    let answer = updates_tl(server, me, updates, vec![me, to_id]).await?;
    if !sent.duplicate {
        let mut committed = vec![own.clone()];
        committed.extend(sent.peer.clone());
        push_committed(server, &caller, &committed).await;
    }
    ok(answer)
}

async fn messages_answer(
    server: &Arc<Server>,
    me: i64,
    messages: Vec<Message>,
    count: Option<i32>,
) -> RpcResult {
    let users: Vec<i64> = messages
        .iter()
        .flat_map(|m| [m.from_id, m.peer])
        .chain([me])
        .collect();
    let users = users_tl(server, me, users).await?;
    let list: Vec<enums::Message> = messages.iter().map(message_tl).collect();
    match count {
        Some(count) if count as usize > list.len() => ok(enums::messages::Messages::Slice(
            types::messages::MessagesSlice {
                inexact: false,
                count,
                next_rate: None,
                offset_id_offset: None,
                search_flood: None,
                messages: list,
                topics: Vec::new(),
                chats: Vec::new(),
                users,
            },
        )),
        _ => ok(enums::messages::Messages::Messages(
            types::messages::Messages {
                messages: list,
                topics: Vec::new(),
                chats: Vec::new(),
                users,
            },
        )),
    }
}

async fn get_history(
    server: &Arc<Server>,
    caller: Caller,
    call: functions::messages::GetHistory,
) -> RpcResult {
    let me = caller.user()?;
    let peer = resolve_peer(server, me, &call.peer).await?;
    let query = HistoryQuery {
        offset_id: call.offset_id,
        offset_date: call.offset_date,
        add_offset: call.add_offset,
        limit: call.limit,
        max_id: call.max_id,
        min_id: call.min_id,
    };
    let (messages, count) = server
        .store
        .run(move |s| s.history(me, peer.id, query))
        .await?;
    messages_answer(server, me, messages, Some(count)).await
}

async fn get_messages(
    server: &Arc<Server>,
    caller: Caller,
    call: functions::messages::GetMessages,
) -> RpcResult {
    let me = caller.user()?;
    let ids: Vec<i32> = call
        .id
        .iter()
        .filter_map(|m| match m {
            enums::InputMessage::ID(m) => Some(m.id),
            _ => None,
        })
        .collect();
    let messages = server.store.run(move |s| s.messages(me, &ids)).await?;
    messages_answer(server, me, messages, None).await
}

async fn get_dialogs(
    server: &Arc<Server>,
    caller: Caller,
    call: functions::messages::GetDialogs,
) -> RpcResult {
    let me = caller.user()?;
    let (offset_date, limit) = (call.offset_date, call.limit);
    let (dialogs, count) = server
        .store
        .run(move |s| s.dialogs(me, offset_date, limit))
        .await?;
    let users = users_tl(
        server,
        me,
        dialogs
            .iter()
            .flat_map(|d| [d.peer, d.top_message.from_id])
            .chain([me]),
    )
    .await?;
    let messages = dialogs.iter().map(|d| message_tl(&d.top_message)).collect();
    let list: Vec<enums::Dialog> = dialogs
        .iter()
        .map(|d| {
            types::Dialog {
                pinned: false,
                unread_mark: false,
                view_forum_as_messages: false,
                peer: types::PeerUser { user_id: d.peer }.into(),
                top_message: d.top_message.id,
                read_inbox_max_id: d.read_inbox_max_id,
                read_outbox_max_id: d.read_outbox_max_id,
                unread_count: d.unread_count,
                unread_mentions_count: 0,
                unread_reactions_count: 0,
                unread_poll_votes_count: 0,
                notify_settings: types::PeerNotifySettings::default().into(),
                pts: None,
                draft: None,
                folder_id: None,
                ttl_period: None,
            }
            .into()
        })
        .collect();
    if count as usize > list.len() {
        ok(enums::messages::Dialogs::Slice(
            types::messages::DialogsSlice {
                count,
                dialogs: list,
                messages,
                chats: Vec::new(),
                users,
            },
        ))
    } else {
        ok(enums::messages::Dialogs::Dialogs(
            types::messages::Dialogs {
                dialogs: list,
                messages,
                chats: Vec::new(),
                users,
            },
        ))
    }
}

fn affected(
    committed: &[crate::store::Committed],
    me: i64,
    fallback_pts: i32,
) -> types::messages::AffectedMessages {
    let own = committed.iter().find(|c| c.user_id == me);
    types::messages::AffectedMessages {
        pts: own.map_or(fallback_pts, |c| c.entry.pts),
        pts_count: own.map_or(0, |c| c.entry.pts_count),
    }
}

async fn read_history(
    server: &Arc<Server>,
    caller: Caller,
    call: functions::messages::ReadHistory,
) -> RpcResult {
    let me = caller.user()?;
    let peer = resolve_peer(server, me, &call.peer).await?;
    let max_id = call.max_id;
    let committed = server
        .store
        .run(move |s| s.read_history(me, peer.id, max_id, unix_now()))
        .await?;
    push_committed(server, &caller, &committed).await;
    let pts = server.store.run(move |s| s.pts(me)).await?;
    ok(affected(&committed, me, pts))
}

async fn edit_message(
    server: &Arc<Server>,
    caller: Caller,
    call: functions::messages::EditMessage,
) -> RpcResult {
    let me = caller.user()?;
    resolve_peer(server, me, &call.peer).await?;
    let text = call
        .message
        .ok_or_else(|| RpcError::bad_request("MESSAGE_EMPTY"))?;
    check_text(&text)?;
    let id = call.id;
    let committed = server
        .store
        .run(move |s| s.edit_message(me, id, &text, unix_now()))
        .await
        .map_err(|e| match e {
            StoreError::NotFound { .. } => RpcError::bad_request("MESSAGE_ID_INVALID"),
            other => other.into(),
        })?;
    push_committed(server, &caller, &committed).await;
    let own: Vec<enums::Update> = committed
        .iter()
        .filter(|c| c.user_id == me)
        .filter_map(|c| update_tl(&c.entry, c.message.as_ref()))
        .collect();
    let users = committed
        .iter()
        .filter_map(|c| c.message.as_ref())
        .flat_map(|m| [m.from_id, m.peer])
        .collect();
    ok(updates_tl(server, me, own, users).await?)
}

async fn delete_messages(
    server: &Arc<Server>,
    caller: Caller,
    call: functions::messages::DeleteMessages,
) -> RpcResult {
    let me = caller.user()?;
    let (ids, revoke) = (call.id, call.revoke);
    let committed = server
        .store
        .run(move |s| s.delete_messages(me, &ids, revoke, unix_now()))
        .await?;
    push_committed(server, &caller, &committed).await;
    let pts = server.store.run(move |s| s.pts(me)).await?;
    ok(affected(&committed, me, pts))
}
