//! The chat a call about one of the caller's dialogs names (drafts, scheduled messages):
//! an `InputPeer` resolved to a [`DialogPeer`] the caller belongs to, and back to a `Peer`.

use super::{resolve_channel_peer, resolve_peer};
use crate::rpc::RpcError;
use crate::state::Node;
use crate::store::DialogPeer;
use mtproto_api::{enums, types};
use std::sync::Arc;

/// The chat an `InputPeer` names, if `me` is in it (a member of the group or channel).
pub(crate) async fn dialog_peer(
    server: &Arc<Node>,
    me: i64,
    peer: &enums::InputPeer,
) -> Result<DialogPeer, RpcError> {
    match peer {
        enums::InputPeer::Chat(chat) => {
            let chat_id = chat.chat_id;
            let members = server.store.run(move |s| s.chat_members(chat_id)).await?;
            if !members.iter().any(|m| m.user_id == me) {
                return Err(RpcError::bad_request("CHAT_ID_INVALID"));
            }
            Ok(DialogPeer::Chat(chat_id))
        }
        enums::InputPeer::Channel(channel) => {
            let ch = resolve_channel_peer(server, channel).await?;
            let id = ch.id;
            if server.store.run(move |s| s.member(id, me)).await?.is_none() {
                return Err(RpcError::bad_request("CHANNEL_PRIVATE"));
            }
            Ok(DialogPeer::Channel(id))
        }
        other => Ok(DialogPeer::User(resolve_peer(server, me, other).await?.id)),
    }
}

/// The `Peer` of a dialog's chat.
pub(crate) fn peer_tl(peer: DialogPeer) -> enums::Peer {
    match peer {
        DialogPeer::User(user_id) => types::PeerUser { user_id }.into(),
        DialogPeer::Chat(chat_id) => types::PeerChat { chat_id }.into(),
        DialogPeer::Channel(channel_id) => types::PeerChannel { channel_id }.into(),
    }
}

/// The users, basic groups and channels among `peers`, each in the order first named.
pub(crate) fn split(peers: impl IntoIterator<Item = DialogPeer>) -> (Vec<i64>, Vec<i64>, Vec<i64>) {
    let (mut users, mut chats, mut channels) = (Vec::new(), Vec::new(), Vec::new());
    for peer in peers {
        let list = match peer {
            DialogPeer::User(_) => &mut users,
            DialogPeer::Chat(_) => &mut chats,
            DialogPeer::Channel(_) => &mut channels,
        };
        let id = peer.to_columns().1;
        if !list.contains(&id) {
            list.push(id);
        }
    }
    (users, chats, channels)
}

/// The `chats` of an answer naming these basic groups and channels, as `me` sees them.
pub(crate) async fn chats_tl(
    server: &Arc<Node>,
    me: i64,
    chats: Vec<i64>,
    channels: Vec<i64>,
) -> Result<Vec<enums::Chat>, RpcError> {
    let mut all = super::groups::chats_tl(server, me, chats).await?;
    all.extend(super::channels::chats_tl(server, me, channels).await?);
    Ok(all)
}
