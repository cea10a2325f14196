//! Pinned dialogs: `messages.toggleDialogPin` pins a chat on top of the user's dialog list
//! (at most [`MAX_PINNED_DIALOGS`]) or unpins it, `reorderPinnedDialogs` orders them,
//! `getPinnedDialogs` lists them; `getDialogs` starts with them. The user's other sessions
//! get `updateDialogPinned` / `updatePinnedDialogs`. Only the main folder has pins here
//! (folder pins are refused with `FOLDER_ID_INVALID`).

use super::dialog_peer::{dialog_peer, peer_tl};
use super::messages::{DialogPage, DialogsTl, dialog_page};
use super::{bool_true, ok};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Node, unix_now};
use crate::store::DialogPeer;
use crate::store::pinned_dialogs::MAX_PINNED_DIALOGS;
use mtproto_api::{enums, functions, types};
use std::sync::Arc;
use tl_runtime::Serialize;

/// The pinned dialogs service.
#[derive(Debug, Clone, Copy)]
pub struct DialogPinsService;

service!(DialogPinsService {
    functions::messages::ToggleDialogPin => toggle_dialog_pin,
    functions::messages::ReorderPinnedDialogs => reorder_pinned_dialogs,
    functions::messages::GetPinnedDialogs => get_pinned_dialogs,
});

/// The chat an `InputDialogPeer` names, if `me` is in it.
async fn pinnable(
    server: &Arc<Node>,
    me: i64,
    peer: &enums::InputDialogPeer,
) -> Result<DialogPeer, RpcError> {
    match peer {
        enums::InputDialogPeer::InputDialogPeer(p) => dialog_peer(server, me, &p.peer).await,
        _ => Err(RpcError::bad_request("PEER_ID_INVALID")),
    }
}

/// Only the main folder (0) has pinned dialogs here.
fn main_folder(folder_id: i32) -> Result<(), RpcError> {
    match folder_id {
        0 => Ok(()),
        _ => Err(RpcError::bad_request("FOLDER_ID_INVALID")),
    }
}

/// Pushes `update` to `me`'s sessions on this node but the caller's.
fn push_others(server: &Node, caller: &Caller, me: i64, update: enums::Update) {
    let body = enums::Updates::from(types::UpdateShort {
        update,
        date: unix_now(),
    })
    .to_bytes();
    server.push_to_user(me, &body, Some((caller.key_id, caller.session_id)));
}

fn dialog_peer_tl(peer: DialogPeer) -> enums::DialogPeer {
    types::DialogPeer {
        peer: peer_tl(peer),
    }
    .into()
}

async fn toggle_dialog_pin(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::ToggleDialogPin,
) -> RpcResult {
    let me = caller.user()?;
    let peer = pinnable(server, me, &call.peer).await?;
    let pinned = call.pinned;
    if pinned {
        let now = server.store.run(move |s| s.pinned_dialogs(me)).await?;
        if !now.contains(&peer) && now.len() >= MAX_PINNED_DIALOGS {
            return Err(RpcError::bad_request("PINNED_DIALOGS_TOO_MUCH"));
        }
    }
    let changed = server
        .store
        .run(move |s| s.pin_dialog(me, peer, pinned))
        .await?;
    if changed {
        let update = types::UpdateDialogPinned {
            pinned,
            folder_id: None,
            peer: dialog_peer_tl(peer),
        };
        push_others(server, &caller, me, update.into());
    }
    bool_true()
}

async fn reorder_pinned_dialogs(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::ReorderPinnedDialogs,
) -> RpcResult {
    let me = caller.user()?;
    main_folder(call.folder_id)?;
    let mut order = Vec::with_capacity(call.order.len());
    for peer in &call.order {
        let peer = pinnable(server, me, peer).await?;
        if !order.contains(&peer) {
            order.push(peer);
        }
    }
    let force = call.force;
    let now = server.store.run(move |s| s.pinned_dialogs(me)).await?;
    let kept = if force {
        0
    } else {
        now.iter().filter(|p| !order.contains(p)).count()
    };
    if order.len() + kept > MAX_PINNED_DIALOGS {
        return Err(RpcError::bad_request("PINNED_DIALOGS_TOO_MUCH"));
    }
    let store_order = order.clone();
    server
        .store
        .run(move |s| s.reorder_pinned_dialogs(me, &store_order, force))
        .await?;
    let after = server.store.run(move |s| s.pinned_dialogs(me)).await?;
    if after != now {
        let update = types::UpdatePinnedDialogs {
            folder_id: None,
            order: Some(after.into_iter().map(dialog_peer_tl).collect()),
        };
        push_others(server, &caller, me, update.into());
    }
    bool_true()
}

async fn get_pinned_dialogs(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::GetPinnedDialogs,
) -> RpcResult {
    let me = caller.user()?;
    main_folder(call.folder_id)?;
    let DialogsTl {
        dialogs,
        messages,
        chats,
        users,
        ..
    } = dialog_page(server, me, DialogPage::Pinned).await?;
    let key = caller.key_id;
    let (pts, qts) = server
        .store
        .run(move |s| Ok((s.pts(me)?, s.qts(key)?)))
        .await?;
    ok(enums::messages::PeerDialogs::from(
        types::messages::PeerDialogs {
            dialogs,
            messages,
            chats,
            users,
            state: super::updates::state(pts, qts).into(),
        },
    ))
}
