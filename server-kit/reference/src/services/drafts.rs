//! Drafts: `messages.saveDraft` keeps what a user typed in a chat (text, reply, link preview
//! choice) for all their sessions, which see it as `updateDraftMessage`;
//! `messages.getAllDrafts` lists them; `getDialogs` shows each in its dialog; a send with
//! `clear_draft` clears the chat's draft. Entities and media of a draft are not kept.

use super::dialog_peer::{chats_tl, dialog_peer, peer_tl, split};
use super::{bool_true, ok, replied_id, updates_tl};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Node, unix_now};
use crate::store::DialogPeer;
use crate::store::drafts::Draft;
use mtproto_api::{enums, functions, types};
use std::sync::Arc;
use tl_runtime::Serialize;

/// The longest draft (as a message).
pub const MAX_DRAFT_LENGTH: usize = super::MAX_MESSAGE_LENGTH;

/// A draft as TL (`None`: the empty draft of a cleared one, dated `date`).
pub(crate) fn draft_tl(draft: Option<&Draft>, date: i32) -> enums::DraftMessage {
    match draft {
        None => types::DraftMessageEmpty { date: Some(date) }.into(),
        Some(d) => types::DraftMessage {
            no_webpage: d.no_webpage,
            invert_media: false,
            reply_to: d.reply_to.map(|id| {
                types::InputReplyToMessage {
                    reply_to_msg_id: id,
                    ..Default::default()
                }
                .into()
            }),
            message: d.text.clone(),
            entities: None,
            media: None,
            date: d.date,
            effect: None,
            suggested_post: None,
            rich_message: None,
        }
        .into(),
    }
}

/// The drafts service.
#[derive(Debug, Clone, Copy)]
pub struct DraftsService;

service!(DraftsService {
    functions::messages::SaveDraft => save_draft,
    functions::messages::GetAllDrafts => get_all_drafts,
});

/// Tells the owner's other sessions (on this node) that a chat's draft changed.
fn push_draft(server: &Node, caller: &Caller, me: i64, peer: DialogPeer, draft: Option<&Draft>) {
    let now = unix_now();
    let update = types::UpdateDraftMessage {
        peer: peer_tl(peer),
        top_msg_id: None,
        saved_peer_id: None,
        draft: draft_tl(draft, now),
    };
    let body = enums::Updates::from(types::UpdateShort {
        update: update.into(),
        date: now,
    })
    .to_bytes();
    server.push_to_user(me, &body, Some((caller.key_id, caller.session_id)));
}

async fn save_draft(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::SaveDraft,
) -> RpcResult {
    let me = caller.user()?;
    if call.message.chars().count() > MAX_DRAFT_LENGTH {
        return Err(RpcError::bad_request("MESSAGE_TOO_LONG"));
    }
    let peer = dialog_peer(server, me, &call.peer).await?;
    let reply_to = replied_id(&call.reply_to);
    let draft = (!call.message.is_empty() || reply_to.is_some()).then(|| Draft {
        text: call.message,
        reply_to,
        no_webpage: call.no_webpage,
        date: unix_now(),
    });
    let saved = draft.clone();
    let changed = server
        .store
        .run(move |s| s.save_draft(me, peer, saved.as_ref()))
        .await?;
    if changed {
        push_draft(server, &caller, me, peer, draft.as_ref());
    }
    bool_true()
}

async fn get_all_drafts(
    server: &Arc<Node>,
    caller: Caller,
    _call: functions::messages::GetAllDrafts,
) -> RpcResult {
    let me = caller.user()?;
    let drafts = server.store.run(move |s| s.drafts(me)).await?;
    let (mut users, chats, channels) = split(drafts.iter().map(|(peer, _)| *peer));
    users.push(me);
    let updates = drafts
        .iter()
        .map(|(peer, draft)| {
            types::UpdateDraftMessage {
                peer: peer_tl(*peer),
                top_msg_id: None,
                saved_peer_id: None,
                draft: draft_tl(Some(draft), draft.date),
            }
            .into()
        })
        .collect();
    let mut answer = updates_tl(server, me, updates, users).await?;
    if let enums::Updates::Updates(u) = &mut answer {
        u.chats = chats_tl(server, me, chats, channels).await?;
    }
    ok(answer)
}

/// For a send with `clear_draft`: clears the chat's draft and tells the sender's other
/// sessions. Failures are logged, not answered: the message was what mattered.
pub(crate) async fn clear_on_send(server: &Arc<Node>, caller: &Caller, peer: &enums::InputPeer) {
    let Ok(me) = caller.user() else { return };
    let Ok(peer) = dialog_peer(server, me, peer).await else {
        return;
    };
    match server
        .store
        .run(move |s| s.save_draft(me, peer, None))
        .await
    {
        Ok(true) => push_draft(server, caller, me, peer, None),
        Ok(false) => {}
        Err(e) => tracing::warn!("clearing a draft: {e}"),
    }
}

/// The owner's drafts by chat, for `getDialogs`.
pub(crate) async fn by_peer(
    server: &Arc<Node>,
    me: i64,
) -> Result<std::collections::HashMap<DialogPeer, Draft>, RpcError> {
    Ok(server
        .store
        .run(move |s| s.drafts(me))
        .await?
        .into_iter()
        .collect())
}
