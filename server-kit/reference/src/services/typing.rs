//! Typing and other chat actions: `messages.setTyping` shows `updateUserTyping` to the other
//! user of a private chat, `updateChatUserTyping` to the members of a basic group,
//! `updateChannelUserTyping` to the members of a megagroup. Nothing
//! is stored and no pts moves: the sessions connected now see it, on this node directly and
//! on the others through a [`ChangeNotice::Typing`] on the bus.

use super::{bool_true, push_short, resolve_channel_peer, resolve_peer};
use crate::bus::{ChangeNotice, TypingTo};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::Node;
use mtproto_api::{enums, functions, types};
use std::sync::Arc;
use tl_runtime::{Deserialize, Serialize};

/// The typing service.
#[derive(Debug, Clone, Copy)]
pub struct TypingService;

service!(TypingService {
    functions::messages::SetTyping => set_typing,
});

async fn set_typing(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::SetTyping,
) -> RpcResult {
    let me = caller.user()?;
    let to = match &call.peer {
        enums::InputPeer::Channel(peer) => {
            let ch = resolve_channel_peer(server, peer).await?;
            let id = ch.id;
            if server.store.run(move |s| s.member(id, me)).await?.is_none() {
                return Err(RpcError::bad_request("CHANNEL_PRIVATE"));
            }
            if ch.broadcast {
                // Nobody sees who types in a broadcast channel.
                return bool_true();
            }
            TypingTo::Channel(ch.id)
        }
        enums::InputPeer::Chat(chat) => {
            let chat_id = chat.chat_id;
            let members = server.store.run(move |s| s.chat_members(chat_id)).await?;
            if !members.iter().any(|m| m.user_id == me) {
                return Err(RpcError::bad_request("CHAT_ID_INVALID"));
            }
            TypingTo::Chat(chat_id)
        }
        peer => {
            let user = resolve_peer(server, me, peer).await?;
            if user.id == me {
                return bool_true();
            }
            TypingTo::User(user.id)
        }
    };
    let (action, progress) = action_code(&call.action);
    show(server, to, me, &call.action).await;
    server.bus.publish(ChangeNotice::Typing {
        to,
        from: me,
        action,
        progress,
    });
    bool_true()
}

/// The action as a bus notice carries it: its constructor id and, for the upload actions,
/// its progress.
fn action_code(action: &enums::SendMessageAction) -> (u32, i32) {
    let bytes = action.to_bytes();
    let word = |at: usize| -> Option<[u8; 4]> { bytes.get(at..at + 4)?.try_into().ok() };
    let id = word(0).map_or(0, u32::from_le_bytes);
    let progress = if bytes.len() == 8 {
        word(4).map_or(0, i32::from_le_bytes)
    } else {
        0
    };
    (id, progress)
}

/// The action a bus notice names: the constructor alone, or with its progress; `None` for
/// one that needs more (it is not shown on other nodes).
pub(crate) fn action_from_code(id: u32, progress: i32) -> Option<enums::SendMessageAction> {
    let bare = id.to_le_bytes().to_vec();
    if let Ok(action) = enums::SendMessageAction::from_bytes(bare.clone()) {
        return Some(action);
    }
    let mut with_progress = bare;
    with_progress.extend_from_slice(&progress.to_le_bytes());
    enums::SendMessageAction::from_bytes(with_progress).ok()
}

/// Shows `from`'s action to the sessions connected to this node: the other user's, or every
/// member's but `from`'s.
pub(crate) async fn show(
    server: &Arc<Node>,
    to: TypingTo,
    from: i64,
    action: &enums::SendMessageAction,
) {
    match to {
        TypingTo::User(user) => {
            if !server.is_online(user) {
                return;
            }
            let update = types::UpdateUserTyping {
                user_id: from,
                top_msg_id: None,
                action: action.clone(),
            };
            push_short(server, user, update.into());
        }
        TypingTo::Channel(channel) => {
            let members = match server.store.run(move |s| s.member_ids(channel)).await {
                Ok(members) => members,
                Err(e) => {
                    tracing::warn!("typing in channel {channel}: {e}");
                    return;
                }
            };
            let online: Vec<i64> = members
                .into_iter()
                .filter(|u| *u != from && server.is_online(*u))
                .collect();
            if online.is_empty() {
                return;
            }
            let update: enums::Update = types::UpdateChannelUserTyping {
                channel_id: channel,
                top_msg_id: None,
                from_id: types::PeerUser { user_id: from }.into(),
                action: action.clone(),
            }
            .into();
            for user in online {
                push_short(server, user, update.clone());
            }
        }
        TypingTo::Chat(chat) => {
            let members = match server.store.run(move |s| s.chat_members(chat)).await {
                Ok(members) => members,
                Err(e) => {
                    tracing::warn!("typing in chat {chat}: {e}");
                    return;
                }
            };
            let update: enums::Update = types::UpdateChatUserTyping {
                chat_id: chat,
                from_id: types::PeerUser { user_id: from }.into(),
                action: action.clone(),
            }
            .into();
            for member in members {
                if member.user_id != from && server.is_online(member.user_id) {
                    push_short(server, member.user_id, update.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_survive_the_bus_code() {
        let typing: enums::SendMessageAction = types::SendMessageTypingAction {}.into();
        let upload: enums::SendMessageAction =
            types::SendMessageUploadPhotoAction { progress: 40 }.into();
        let cancel: enums::SendMessageAction = types::SendMessageCancelAction {}.into();
        for action in [typing, upload, cancel] {
            let (id, progress) = action_code(&action);
            assert_eq!(action_from_code(id, progress), Some(action));
        }
        assert_eq!(action_from_code(0xdead_beef, 0), None, "an unknown id");
    }
}
