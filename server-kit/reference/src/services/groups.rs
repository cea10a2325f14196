//! Basic groups: `messages.createChat`, `addChatUser`, `deleteChatUser`, `editChatTitle`,
//! `getChats`, `getFullChat`, `migrateChat`, and messages sent to a chat (`sendMessage` and
//! `sendMedia` with an `inputPeerChat` come here from the messages service). The store copies
//! each message and each service message into every member's box
//! ([`ChatStore`](crate::store::ChatStore)); members see them as `updateNewMessage` with the
//! chat's peer, like private messages.

use super::{media_of, ok, push_committed, resolve_input_user, update_tl, updates_tl, users_tl};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Node, random_i64, unix_now};
use crate::store::channels::Role;
use crate::store::chats::{Chat, ChatMember, ChatSent, MAX_MEMBERS, chat_peer, peer_chat};
use crate::store::devices::NotifyScope;
use crate::store::{Extras, Message, ServiceAction, StoreError};
use mtproto_api::{enums, functions, types};
use std::sync::Arc;

/// The longest chat title (Telegram's limit).
pub const MAX_TITLE_LENGTH: usize = 128;

/// The basic groups service.
#[derive(Debug, Clone, Copy)]
pub struct GroupsService;

service!(GroupsService {
    functions::messages::CreateChat => create_chat,
    functions::messages::AddChatUser => add_chat_user,
    functions::messages::DeleteChatUser => delete_chat_user,
    functions::messages::EditChatTitle => edit_chat_title,
    functions::messages::GetChats => get_chats,
    functions::messages::GetFullChat => get_full_chat,
    functions::messages::MigrateChat => migrate_chat,
});

fn check_title(title: &str) -> Result<String, RpcError> {
    let title = title.trim();
    if title.is_empty() {
        return Err(RpcError::bad_request("CHAT_TITLE_EMPTY"));
    }
    if title.chars().count() > MAX_TITLE_LENGTH {
        return Err(RpcError::bad_request("CHAT_TITLE_TOO_LONG"));
    }
    Ok(title.to_owned())
}

/// A store refusal of a chat call as the error Telegram gives.
fn chat_error(e: StoreError) -> RpcError {
    match e {
        StoreError::NotFound { what: "user" } => RpcError::bad_request("USER_ID_INVALID"),
        StoreError::NotFound { .. } => RpcError::bad_request("CHAT_ID_INVALID"),
        StoreError::Taken { .. } => RpcError::bad_request("USERS_TOO_MUCH"),
        other => other.into(),
    }
}

/// A chat `me` is a member of, with its members; `CHAT_ID_INVALID` otherwise.
async fn member_chat(
    server: &Arc<Node>,
    me: i64,
    chat_id: i64,
) -> Result<(Chat, Vec<ChatMember>), RpcError> {
    let (chat, members) = server
        .store
        .run(move |s| Ok((s.chat(chat_id)?, s.chat_members(chat_id)?)))
        .await?;
    match chat {
        Some(chat) if members.iter().any(|m| m.user_id == me) => Ok((chat, members)),
        _ => Err(RpcError::bad_request("CHAT_ID_INVALID")),
    }
}

/// The chats with these ids as `viewer` sees them: a member sees `chat` (deactivated and
/// naming its megagroup once migrated), anyone else `chatForbidden`.
pub(crate) async fn chats_tl(
    server: &Arc<Node>,
    viewer: i64,
    mut ids: Vec<i64>,
) -> Result<Vec<enums::Chat>, RpcError> {
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found = server
        .store
        .run(move |s| {
            let mut found = Vec::with_capacity(ids.len());
            for chat in s.chats(&ids)? {
                let member = s.chat_members(chat.id)?.iter().any(|m| m.user_id == viewer);
                let megagroup = match chat.migrated_to {
                    Some(channel) => s.channel(channel)?,
                    None => None,
                };
                found.push((chat, member, megagroup));
            }
            Ok(found)
        })
        .await?;
    Ok(found
        .into_iter()
        .map(|(chat, member, megagroup)| {
            if !member {
                return types::ChatForbidden {
                    id: chat.id,
                    title: chat.title,
                }
                .into();
            }
            types::Chat {
                creator: chat.creator == viewer,
                left: false,
                deactivated: chat.migrated_to.is_some(),
                call_active: false,
                call_not_empty: false,
                noforwards: false,
                id: chat.id,
                title: chat.title,
                photo: enums::ChatPhoto::Empty,
                participants_count: chat.members,
                date: chat.date,
                version: chat.version,
                migrated_to: megagroup.map(|ch| {
                    types::InputChannel {
                        channel_id: ch.id,
                        access_hash: ch.access_hash,
                    }
                    .into()
                }),
                admin_rights: None,
                default_banned_rights: None,
            }
            .into()
        })
        .collect())
}

/// The chats that messages are in (their peers that name chats).
pub(crate) fn chats_of<'a>(messages: impl IntoIterator<Item = &'a Message>) -> Vec<i64> {
    messages
        .into_iter()
        .filter_map(|m| peer_chat(m.peer))
        .collect()
}

/// The channels messages name: where a forward comes from, the megagroup a chat became.
pub(crate) fn channels_of<'a>(messages: impl IntoIterator<Item = &'a Message>) -> Vec<i64> {
    messages
        .into_iter()
        .filter_map(|m| match (&m.action, m.forward.map(|f| f.from)) {
            (Some(ServiceAction::MigrateTo { channel }), _) => Some(*channel),
            (_, Some(crate::store::ForwardFrom::Channel { channel, .. })) => Some(channel),
            _ => None,
        })
        .collect()
}

/// The users a service action names.
pub(crate) fn action_users(action: Option<&ServiceAction>) -> Vec<i64> {
    match action {
        Some(ServiceAction::ChatCreate { users, .. } | ServiceAction::AddUsers { users }) => {
            users.clone()
        }
        Some(ServiceAction::DeleteUser { user }) => vec![*user],
        _ => Vec::new(),
    }
}

/// The `updates` answering chat writes, in order: for each, `updateMessageID` when it was a
/// send with a random_id, and the caller's copy as `updateNewMessage`; with the users and
/// chats they name. The other members' copies are pushed to them (and to the caller's other
/// sessions).
async fn answer(
    server: &Arc<Node>,
    caller: &Caller,
    me: i64,
    writes: Vec<(Option<i64>, ChatSent)>,
) -> Result<enums::Updates, RpcError> {
    let own: Vec<Message> = writes
        .iter()
        .map(|(_, sent)| sent.own.message.clone().ok_or_else(RpcError::internal))
        .collect::<Result<_, _>>()?;
    let media = media_of(server, &own).await?;
    let mut updates = Vec::new();
    let mut users = vec![me];
    for ((random_id, sent), message) in writes.iter().zip(&own) {
        if let Some(random_id) = random_id {
            updates.push(
                types::UpdateMessageID {
                    id: message.id,
                    random_id: *random_id,
                }
                .into(),
            );
        }
        updates.extend(update_tl(&sent.own.entry, Some(message), &media));
        users.extend(action_users(message.action.as_ref()));
        users.push(message.from_id);
    }
    users.extend(super::forwarded_users(&own));
    let mut answer = updates_tl(server, me, updates, users).await?;
    if let enums::Updates::Updates(u) = &mut answer {
        u.chats = chats_tl(server, me, chats_of(&own)).await?;
        u.chats
            .extend(super::channels::chats_tl(server, me, channels_of(&own)).await?);
    }
    for (_, sent) in writes {
        if !sent.duplicate {
            push_committed(server, caller, &sent.all()).await;
        }
    }
    Ok(answer)
}

/// A message for [`send`]: its text, random_id and extras.
pub(crate) type ChatPost = (String, i64, Extras);

/// Sends messages (text, media, reply, forward), in order, to a chat the caller is a member
/// of; for the messages service's `sendMessage` and `sendMedia` and for forwards.
pub(crate) async fn send(
    server: &Arc<Node>,
    caller: Caller,
    chat_id: i64,
    posts: Vec<ChatPost>,
) -> RpcResult {
    let me = caller.user()?;
    let mut writes = Vec::with_capacity(posts.len());
    for (text, random_id, extras) in posts {
        let sent = server
            .store
            .run(move |s| s.send_to_chat(chat_id, me, &text, random_id, unix_now(), extras))
            .await
            .map_err(chat_error)?;
        writes.push((Some(random_id), sent));
    }
    ok(answer(server, &caller, me, writes).await?)
}

/// `messages.invitedUsers` around `updates` (nobody is ever refused here).
fn invited(updates: enums::Updates) -> RpcResult {
    ok(enums::messages::InvitedUsers::from(
        types::messages::InvitedUsers {
            updates,
            missing_invitees: Vec::new(),
        },
    ))
}

async fn create_chat(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::CreateChat,
) -> RpcResult {
    let me = caller.user()?;
    let title = check_title(&call.title)?;
    if call.users.len() >= MAX_MEMBERS {
        return Err(RpcError::bad_request("USERS_TOO_MUCH"));
    }
    let mut members = Vec::with_capacity(call.users.len());
    for user in &call.users {
        let user = resolve_input_user(server, me, user)
            .await
            .map_err(|_| RpcError::bad_request("USER_ID_INVALID"))?;
        super::users::check_not_blocked(server, me, user.id).await?;
        members.push(user.id);
    }
    if members.iter().all(|m| *m == me) {
        return Err(RpcError::bad_request("USERS_TOO_FEW"));
    }
    let (_, sent) = server
        .store
        .run(move |s| s.create_chat(me, &title, &members, unix_now()))
        .await
        .map_err(chat_error)?;
    invited(answer(server, &caller, me, vec![(None, sent)]).await?)
}

async fn add_chat_user(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::AddChatUser,
) -> RpcResult {
    let me = caller.user()?;
    let chat_id = call.chat_id;
    let (_, members) = member_chat(server, me, chat_id).await?;
    let user = resolve_input_user(server, me, &call.user_id)
        .await
        .map_err(|_| RpcError::bad_request("USER_ID_INVALID"))?;
    if members.iter().any(|m| m.user_id == user.id) {
        return Err(RpcError::bad_request("USER_ALREADY_PARTICIPANT"));
    }
    super::users::check_not_blocked(server, me, user.id).await?;
    let user_id = user.id;
    let sent = server
        .store
        .run(move |s| s.add_chat_members(chat_id, me, &[user_id], unix_now()))
        .await
        .map_err(chat_error)?
        .ok_or_else(|| RpcError::bad_request("USER_ALREADY_PARTICIPANT"))?;
    invited(answer(server, &caller, me, vec![(None, sent)]).await?)
}

async fn delete_chat_user(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::DeleteChatUser,
) -> RpcResult {
    let me = caller.user()?;
    let chat_id = call.chat_id;
    let (chat, members) = member_chat(server, me, chat_id).await?;
    let user = resolve_input_user(server, me, &call.user_id)
        .await
        .map_err(|_| RpcError::bad_request("USER_ID_INVALID"))?;
    let Some(member) = members.iter().find(|m| m.user_id == user.id) else {
        return Err(RpcError::bad_request("USER_NOT_PARTICIPANT"));
    };
    // Anyone may leave; the creator removes anyone, a member those they added.
    if user.id != me && chat.creator != me && member.inviter != me {
        return Err(RpcError::bad_request("CHAT_ADMIN_REQUIRED"));
    }
    let user_id = user.id;
    let sent = server
        .store
        .run(move |s| s.remove_chat_member(chat_id, me, user_id, unix_now()))
        .await
        .map_err(chat_error)?
        .ok_or_else(|| RpcError::bad_request("USER_NOT_PARTICIPANT"))?;
    ok(answer(server, &caller, me, vec![(None, sent)]).await?)
}

async fn edit_chat_title(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::EditChatTitle,
) -> RpcResult {
    let me = caller.user()?;
    let title = check_title(&call.title)?;
    let chat_id = call.chat_id;
    member_chat(server, me, chat_id).await?;
    let sent = server
        .store
        .run(move |s| s.edit_chat_title(chat_id, me, &title, unix_now()))
        .await
        .map_err(chat_error)?
        .ok_or_else(|| RpcError::bad_request("CHAT_NOT_MODIFIED"))?;
    ok(answer(server, &caller, me, vec![(None, sent)]).await?)
}

async fn get_chats(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::GetChats,
) -> RpcResult {
    let me = caller.user()?;
    let chats = chats_tl(server, me, call.id).await?;
    ok(enums::messages::Chats::from(types::messages::Chats {
        chats,
    }))
}

async fn get_full_chat(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::GetFullChat,
) -> RpcResult {
    let me = caller.user()?;
    let chat_id = call.chat_id;
    let (chat, members) = member_chat(server, me, chat_id).await?;
    let participants = members
        .iter()
        .map(|m| {
            if m.user_id == chat.creator {
                types::ChatParticipantCreator {
                    user_id: m.user_id,
                    rank: None,
                }
                .into()
            } else {
                types::ChatParticipant {
                    user_id: m.user_id,
                    inviter_id: m.inviter,
                    date: m.date,
                    rank: None,
                }
                .into()
            }
        })
        .collect();
    let notify_settings =
        super::devices::stored_settings_tl(server, me, NotifyScope::Chat(chat_id)).await?;
    let pinned = server
        .store
        .run(move |s| s.pinned(me, chat_peer(chat_id)))
        .await?;
    let full = types::ChatFull {
        can_set_username: false,
        has_scheduled: false,
        translations_disabled: false,
        has_welcome_messages: false,
        id: chat.id,
        about: String::new(),
        participants: types::ChatParticipants {
            chat_id: chat.id,
            participants,
            version: chat.version,
        }
        .into(),
        chat_photo: None,
        notify_settings,
        exported_invite: None,
        bot_info: None,
        pinned_msg_id: pinned.first().copied(),
        folder_id: None,
        call: None,
        ttl_period: None,
        groupcall_default_join_as: None,
        theme_emoticon: None,
        requests_pending: None,
        recent_requesters: None,
        available_reactions: None,
        reactions_limit: None,
    };
    let users = users_tl(server, me, members.iter().map(|m| m.user_id)).await?;
    let chats = chats_tl(server, me, vec![chat.id]).await?;
    ok(enums::messages::ChatFull::from(types::messages::ChatFull {
        full_chat: full.into(),
        chats,
        users,
    }))
}

/// `messages.migrateChat`: the creator turns the chat into a megagroup with the same title and
/// members; the chat gets the `MigrateTo` service message and takes nothing more. (The old
/// history stays in the chat, as on Telegram.)
async fn migrate_chat(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::MigrateChat,
) -> RpcResult {
    let me = caller.user()?;
    let chat_id = call.chat_id;
    let (chat, members) = member_chat(server, me, chat_id).await?;
    if chat.creator != me {
        return Err(RpcError::bad_request("CHAT_ADMIN_REQUIRED"));
    }
    if chat.migrated_to.is_some() {
        return Err(RpcError::bad_request("CHAT_ID_INVALID"));
    }
    let access_hash = random_i64();
    let title = chat.title.clone();
    let member_ids: Vec<i64> = members.iter().map(|m| m.user_id).collect();
    // The megagroup goes with the answer and the pushes: the `MigrateTo` message names it.
    let sent = server
        .store
        .run(move |s| {
            let now = unix_now();
            let channel = s.create_channel(me, &title, "", false, true, access_hash, now)?;
            for user in member_ids.iter().filter(|u| **u != me) {
                s.add_member(channel.id, *user, Role::Member, me, now)?;
            }
            s.migrate_chat(chat_id, me, channel.id, now)
        })
        .await
        .map_err(chat_error)?;
    ok(answer(server, &caller, me, vec![(None, sent)]).await?)
}

/// The box peer an `InputPeer` names for reading a box (history, read marks, search): a user
/// (see [`resolve_peer`](super::resolve_peer)) or a chat the caller has in their box (a
/// member, or one who was).
pub(crate) async fn box_peer(
    server: &Arc<Node>,
    me: i64,
    peer: &enums::InputPeer,
) -> Result<i64, RpcError> {
    if let enums::InputPeer::Chat(chat) = peer {
        let chat_id = chat.chat_id;
        return match server.store.run(move |s| s.chat(chat_id)).await? {
            Some(chat) => Ok(chat_peer(chat.id)),
            None => Err(RpcError::bad_request("CHAT_ID_INVALID")),
        };
    }
    Ok(super::resolve_peer(server, me, peer).await?.id)
}
