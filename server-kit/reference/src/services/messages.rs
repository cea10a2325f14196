//! Private chats: `messages.sendMessage` (idempotent on random_id), `getHistory` (newest
//! first, every offset argument), `getDialogs`, `getMessages`, `readHistory`, `editMessage`,
//! `deleteMessages`; a send with `schedule_date` goes to [`scheduled`](super::scheduled).

use super::scheduled::ToSchedule;
use super::{
    media_of, message_tl, ok, push_committed, resolve_peer, update_tl, updates_tl, users_tl,
};
use crate::media::AssembleError;
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Node, random_array, random_i64, unix_now};
use crate::store::DialogPeer;
use crate::store::devices::NotifyScope;
use crate::store::{
    DialogPosition, Document, Extras, HistoryQuery, MediaRef, Message, MessageEdit, Photo,
    PhotoSize, StoreError,
};
use mtproto_api::{enums, functions, types};
use std::collections::HashMap;
use std::sync::Arc;

pub use super::MAX_MESSAGE_LENGTH;

/// The messages service.
#[derive(Debug, Clone, Copy)]
pub struct MessagesService;

service!(MessagesService {
    functions::messages::SendMessage => send_message,
    functions::messages::SendMedia => send_media,
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
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::SendMessage,
) -> RpcResult {
    let me = caller.user()?;
    check_text(&call.message)?;
    if call.clear_draft {
        super::drafts::clear_on_send(server, &caller, &call.peer).await;
    }
    let extras = super::markup::extras(
        server,
        me,
        super::replied_id(&call.reply_to),
        call.entities.as_ref(),
        call.reply_markup.as_ref(),
    )
    .await?;
    if let Some(date) = call.schedule_date {
        let later = ToSchedule {
            text: call.message,
            random_id: call.random_id,
            date,
            media: None,
            reply_to: extras.reply_to,
        };
        return super::scheduled::schedule(server, caller, &call.peer, later).await;
    }
    if let enums::InputPeer::Channel(channel) = &call.peer {
        let post = super::channels::NewPost {
            text: call.message,
            random_id: call.random_id,
            extras,
        };
        return super::channels::post(server, caller, channel, vec![post]).await;
    }
    if let enums::InputPeer::Chat(chat) = &call.peer {
        let post = (call.message, call.random_id, extras);
        return super::groups::send(server, caller, chat.chat_id, vec![post]).await;
    }
    let to = resolve_peer(server, me, &call.peer).await?;
    super::users::check_not_blocked(server, me, to.id).await?;
    let (text, random_id, to_id) = (call.message.clone(), call.random_id, to.id);
    let sent = server
        .store
        .run(move |s| s.send(me, to_id, &text, random_id, unix_now(), extras))
        .await?;
    answer_sent(server, &caller, me, to_id, vec![(random_id, sent)]).await
}

/// The answer to sends of one chat (`updateMessageID` + `updateNewMessage` for each, in
/// order), after pushing the new messages to the recipient's sessions and the sender's other
/// ones.
pub(crate) async fn answer_sent(
    server: &Arc<Node>,
    caller: &Caller,
    me: i64,
    to_id: i64,
    sent: Vec<(i64, crate::store::Sent)>,
) -> RpcResult {
    let messages: Vec<&Message> = sent
        .iter()
        .filter_map(|(_, s)| s.own.message.as_ref())
        .collect();
    let media = media_of(server, messages.iter().copied()).await?;
    let mut updates = Vec::with_capacity(2 * sent.len());
    let mut users = vec![me, to_id];
    for (random_id, sent) in &sent {
        let message = sent.own.message.as_ref().ok_or_else(RpcError::internal)?;
        updates.push(
            types::UpdateMessageID {
                id: message.id,
                random_id: *random_id,
            }
            .into(),
        );
        updates.extend(update_tl(&sent.own.entry, Some(message), &media));
        if let Some(crate::store::Forward {
            from: crate::store::ForwardFrom::User(origin),
            ..
        }) = message.forward
        {
            users.push(origin);
        }
    }
    let mut answer = updates_tl(server, me, updates, users).await?;
    let channels =
        super::forwarded_channels(sent.iter().filter_map(|(_, s)| s.own.message.as_ref()));
    if let enums::Updates::Updates(u) = &mut answer {
        u.chats = super::channels::chats_tl(server, me, channels).await?;
    }
    for (_, sent) in sent {
        if !sent.duplicate {
            let mut committed = vec![sent.own];
            committed.extend(sent.peer);
            push_committed(server, caller, &committed).await;
        }
    }
    ok(answer)
}

/// The longest media caption.
pub const MAX_CAPTION_LENGTH: usize = 1024;

async fn send_media(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::SendMedia,
) -> RpcResult {
    let me = caller.user()?;
    if call.message.chars().count() > MAX_CAPTION_LENGTH {
        return Err(RpcError::bad_request("MEDIA_CAPTION_TOO_LONG"));
    }
    let attached = match call.media {
        enums::InputMedia::UploadedDocument(d) => {
            let name = d.attributes.iter().find_map(|a| match a {
                enums::DocumentAttribute::Filename(f) => Some(f.file_name.clone()),
                _ => None,
            });
            let mime = if d.mime_type.is_empty() {
                "application/octet-stream".to_owned()
            } else {
                d.mime_type.clone()
            };
            MediaRef::Document(uploaded_document(server, me, d.file, name, mime).await?)
        }
        enums::InputMedia::UploadedPhoto(p) => {
            MediaRef::Photo(uploaded_photo(server, me, p.file).await?)
        }
        enums::InputMedia::Photo(p) => {
            let enums::InputPhoto::InputPhoto(input) = p.id else {
                return Err(RpcError::bad_request("MEDIA_INVALID"));
            };
            let photo = super::upload::photo_for(
                server,
                input.id,
                input.access_hash,
                Some(&input.file_reference),
            )
            .await?;
            MediaRef::Photo(photo.id)
        }
        enums::InputMedia::Document(d) => {
            let enums::InputDocument::InputDocument(input) = d.id else {
                return Err(RpcError::bad_request("MEDIA_INVALID"));
            };
            let document = super::upload::document_for(
                server,
                input.id,
                input.access_hash,
                Some(&input.file_reference),
            )
            .await?;
            MediaRef::Document(document.id)
        }
        _ => return Err(RpcError::bad_request("MEDIA_INVALID")),
    };
    if call.clear_draft {
        super::drafts::clear_on_send(server, &caller, &call.peer).await;
    }
    let extras = Extras {
        media: Some(attached),
        ..super::markup::extras(
            server,
            me,
            super::replied_id(&call.reply_to),
            call.entities.as_ref(),
            call.reply_markup.as_ref(),
        )
        .await?
    };
    if let Some(date) = call.schedule_date {
        let later = ToSchedule {
            text: call.message,
            random_id: call.random_id,
            date,
            media: extras.media,
            reply_to: extras.reply_to,
        };
        return super::scheduled::schedule(server, caller, &call.peer, later).await;
    }
    if let enums::InputPeer::Channel(channel) = &call.peer {
        let post = super::channels::NewPost {
            text: call.message,
            random_id: call.random_id,
            extras,
        };
        return super::channels::post(server, caller, channel, vec![post]).await;
    }
    if let enums::InputPeer::Chat(chat) = &call.peer {
        let post = (call.message, call.random_id, extras);
        return super::groups::send(server, caller, chat.chat_id, vec![post]).await;
    }
    let to = resolve_peer(server, me, &call.peer).await?;
    super::users::check_not_blocked(server, me, to.id).await?;
    let (text, random_id, to_id) = (call.message.clone(), call.random_id, to.id);
    let sent = server
        .store
        .run(move |s| s.send(me, to_id, &text, random_id, unix_now(), extras))
        .await?;
    answer_sent(server, &caller, me, to_id, vec![(random_id, sent)]).await
}

/// Assembles an uploaded photo, makes its standard sizes, stores them, and returns the
/// photo's id.
pub(crate) async fn uploaded_photo(
    server: &Arc<Node>,
    me: i64,
    file: enums::InputFile,
) -> Result<i64, RpcError> {
    let (file_id, parts) = match file {
        enums::InputFile::InputFile(f) => (f.id, f.parts),
        _ => return Err(RpcError::bad_request("PHOTO_FILE_MISSING")),
    };
    let media = server.media.clone();
    let sizes = tokio::task::spawn_blocking(move || -> Result<Vec<PhotoSize>, RpcError> {
        let size = media
            .check_complete(me, file_id, parts)
            .map_err(|_| RpcError::internal())?
            .map_err(|e| RpcError::bad_request(e.rpc_message()))?;
        if size > crate::photos::MAX_PHOTO_BYTES {
            return Err(RpcError::bad_request("PHOTO_INVALID"));
        }
        let stored = media
            .storage
            .assemble(me, file_id, parts as u32, false)
            .map_err(|e| match e {
                AssembleError::Missing(x) => {
                    RpcError::bad_request(format!("FILE_PART_{x}_MISSING"))
                }
                AssembleError::Io(_) => RpcError::internal(),
            })?;
        media.forget(me, file_id);
        let original = media
            .storage
            .read(&stored.content, 0, stored.size as usize)
            .map_err(|_| RpcError::internal())?;
        let encoded = crate::photos::make_sizes(&original)
            .map_err(|e| RpcError::bad_request(e.rpc_error_name()))?;
        encoded
            .into_iter()
            .map(|s| {
                let stored = media
                    .storage
                    .put(&s.jpeg)
                    .map_err(|_| RpcError::internal())?;
                Ok(PhotoSize {
                    kind: s.kind.to_string(),
                    w: s.w as i32,
                    h: s.h as i32,
                    size: s.jpeg.len() as i32,
                    content: stored.content,
                })
            })
            .collect()
    })
    .await
    .map_err(|_| RpcError::internal())??;
    let photo = Photo {
        id: random_i64() & i64::MAX,
        access_hash: random_i64(),
        file_reference: random_array::<8>().to_vec(),
        date: unix_now(),
        sizes,
    };
    let id = photo.id;
    server.store.run(move |s| s.insert_photo(&photo)).await?;
    Ok(id)
}

/// Assembles an upload into a stored document (checking parts and, for small files, the
/// MD5) and returns its id.
async fn uploaded_document(
    server: &Arc<Node>,
    me: i64,
    file: enums::InputFile,
    name: Option<String>,
    mime_type: String,
) -> Result<i64, RpcError> {
    let (file_id, parts, file_name, md5) = match file {
        enums::InputFile::InputFile(f) => (f.id, f.parts, f.name, Some(f.md5_checksum)),
        enums::InputFile::Big(f) => (f.id, f.parts, f.name, None),
        _ => return Err(RpcError::bad_request("FILE_PARTS_INVALID")),
    };
    let stored = super::assembled::assemble(server, me, file_id, parts, md5).await?;
    let document = Document {
        id: random_i64() & i64::MAX,
        access_hash: random_i64(),
        file_reference: random_array::<8>().to_vec(),
        content: stored.content,
        size: stored.size as i64,
        mime_type,
        file_name: name.unwrap_or(file_name),
        date: unix_now(),
    };
    let id = document.id;
    server
        .store
        .run(move |s| s.insert_document(&document))
        .await?;
    Ok(id)
}

/// `messages.messages` (or a slice of `count`) with `messages`; with `requested`, in that
/// order with `messageEmpty` for the ids not found (`messages.getMessages`).
pub(crate) async fn messages_answer(
    server: &Arc<Node>,
    me: i64,
    messages: Vec<Message>,
    count: Option<i32>,
    requested: Option<&[i32]>,
) -> RpcResult {
    let users: Vec<i64> = messages
        .iter()
        .flat_map(|m| [m.from_id, m.peer])
        .chain(super::forwarded_users(&messages))
        .chain([me])
        .collect();
    let users = users_tl(server, me, users).await?;
    let mut chats =
        super::channels::chats_tl(server, me, super::groups::channels_of(&messages)).await?;
    chats.extend(super::groups::chats_tl(server, me, super::groups::chats_of(&messages)).await?);
    let media = media_of(server, &messages).await?;
    let mut list: Vec<enums::Message> = messages.iter().map(|m| message_tl(m, &media)).collect();
    super::reactions::attach_private(server, me, &mut list).await?;
    if let Some(requested) = requested {
        list = super::in_request_order(requested, list);
    }
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
                chats,
                users,
            },
        )),
        _ => ok(enums::messages::Messages::Messages(
            types::messages::Messages {
                messages: list,
                topics: Vec::new(),
                chats,
                users,
            },
        )),
    }
}

async fn get_history(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::GetHistory,
) -> RpcResult {
    let me = caller.user()?;
    let query = HistoryQuery {
        offset_id: call.offset_id,
        offset_date: call.offset_date,
        add_offset: call.add_offset,
        limit: call.limit,
        max_id: call.max_id,
        min_id: call.min_id,
    };
    if let enums::InputPeer::Channel(channel) = &call.peer {
        return super::channels::history(server, caller, channel, query).await;
    }
    let peer = super::groups::box_peer(server, me, &call.peer).await?;
    let (messages, count) = server
        .store
        .run(move |s| s.history(me, peer, query))
        .await?;
    messages_answer(server, me, messages, Some(count), None).await
}

async fn get_messages(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::GetMessages,
) -> RpcResult {
    let me = caller.user()?;
    let lookups = super::reply_lookups(&call.id);
    let replied: HashMap<i32, i32> = if lookups.is_empty() {
        HashMap::new()
    } else {
        let found = server.store.run(move |s| s.messages(me, &lookups)).await?;
        found
            .into_iter()
            .filter_map(|m| Some((m.id, m.reply_to?)))
            .collect()
    };
    let requested = super::requested_ids(&call.id, &replied);
    let ids = requested.clone();
    let messages = server.store.run(move |s| s.messages(me, &ids)).await?;
    messages_answer(server, me, messages, None, Some(&requested)).await
}

/// Where a dialog stands in `messages.getDialogs`' order, newest first: its top message's
/// date and id, then its peer as [`channel_key`] / user id (private chats before channels
/// when date and id are equal, since the ids of different boxes may meet).
type DialogKey = (i32, i32, i64);

/// The peer part of a channel's [`DialogKey`]: below every user id.
pub(crate) fn channel_key(channel_id: i64) -> i64 {
    -1_000_000_000_000 - channel_id
}

/// The page a `messages.getDialogs` asks for (core.telegram.org/api/offsets): the dialogs
/// strictly after `(offset_date, offset_id, offset_peer)` in [`DialogKey`] order. Clients
/// (Telethon, Pyrogram, mtcute, GramJS) page with the last dialog's top message date and id
/// and its peer, so dialogs whose top messages share one second are neither skipped nor
/// repeated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DialogOffset {
    /// The date and id part, which the store filters by.
    position: DialogPosition,
    /// The peer part: `i64::MIN` when the call names no peer (then a dialog with the same
    /// date and id is after the offset only if it is that dialog itself, i.e. never).
    peer: i64,
}

impl DialogOffset {
    /// `None` for the first page (no `offset_date`).
    fn of(call: &functions::messages::GetDialogs, me: i64) -> Option<Self> {
        if call.offset_date <= 0 {
            return None;
        }
        let peer = match &call.offset_peer {
            enums::InputPeer::User(u) => u.user_id,
            enums::InputPeer::UserFromMessage(u) => u.user_id,
            enums::InputPeer::InputPeerSelf => me,
            enums::InputPeer::Channel(c) => channel_key(c.channel_id),
            enums::InputPeer::ChannelFromMessage(c) => channel_key(c.channel_id),
            enums::InputPeer::Chat(c) => crate::store::chats::chat_peer(c.chat_id),
            _ => i64::MIN,
        };
        Some(DialogOffset {
            position: DialogPosition {
                date: call.offset_date,
                id: call.offset_id.max(0),
            },
            peer,
        })
    }

    /// Whether a dialog at `key` comes after the offset (is on this page or a later one).
    fn is_before(self, key: DialogKey) -> bool {
        key < (self.position.date, self.position.id, self.peer)
    }
}

/// Which dialogs a [`dialog_page`] holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DialogPage {
    /// A `getDialogs` page: the dialogs after `offset` (`None`: the first page, which starts
    /// with the pinned dialogs unless `exclude_pinned`), pinned ones left out of the rest.
    List {
        /// Where the page starts.
        offset: Option<DialogOffset>,
        /// How many dialogs past the pinned ones.
        limit: i32,
        /// No pinned dialogs on the first page either.
        exclude_pinned: bool,
    },
    /// The pinned dialogs alone, top first (`getPinnedDialogs`).
    Pinned,
}

/// A page of dialogs as TL, with the messages, chats and users it names, and how many
/// dialogs there are in all.
pub(crate) struct DialogsTl {
    /// The dialogs, in order.
    pub dialogs: Vec<enums::Dialog>,
    /// Their top messages.
    pub messages: Vec<enums::Message>,
    /// The groups and channels they name.
    pub chats: Vec<enums::Chat>,
    /// The users they name.
    pub users: Vec<enums::User>,
    /// Every dialog of the user.
    pub count: i32,
}

/// The order key of a pinned dialog's peer (see [`DialogKey`]).
fn pinned_key(peer: DialogPeer) -> i64 {
    match peer {
        DialogPeer::User(id) => id,
        DialogPeer::Chat(id) => crate::store::chats::chat_peer(id),
        DialogPeer::Channel(id) => channel_key(id),
    }
}

async fn get_dialogs(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::GetDialogs,
) -> RpcResult {
    let me = caller.user()?;
    let page = DialogPage::List {
        offset: DialogOffset::of(&call, me),
        limit: call.limit,
        exclude_pinned: call.exclude_pinned,
    };
    let DialogsTl {
        dialogs,
        messages,
        chats,
        users,
        count,
    } = dialog_page(server, me, page).await?;
    if count as usize > dialogs.len() {
        ok(enums::messages::Dialogs::Slice(
            types::messages::DialogsSlice {
                count,
                dialogs,
                messages,
                chats,
                users,
            },
        ))
    } else {
        ok(enums::messages::Dialogs::Dialogs(
            types::messages::Dialogs {
                dialogs,
                messages,
                chats,
                users,
            },
        ))
    }
}

/// The dialogs of `page`: private chats and groups from the store, channels from the
/// memberships, newest first by top message, the pinned ones (flagged) on top of the first
/// page.
pub(crate) async fn dialog_page(
    server: &Arc<Node>,
    me: i64,
    page: DialogPage,
) -> Result<DialogsTl, RpcError> {
    let pinned = server.store.run(move |s| s.pinned_dialogs(me)).await?;
    let pinned_keys: Vec<i64> = pinned.iter().map(|p| pinned_key(*p)).collect();
    let (offset, limit, with_pinned) = match page {
        DialogPage::List {
            offset,
            limit,
            exclude_pinned,
        } => (
            offset,
            limit.clamp(1, 100),
            offset.is_none() && !exclude_pinned,
        ),
        DialogPage::Pinned => (None, 0, true),
    };
    // The page's private chats and groups past the pinned ones (fetched until `limit` of
    // them, as the pinned ones are left out), then the pinned ones.
    let mut dialogs = Vec::new();
    let mut count = 0;
    let mut position = offset.map(|o| o.position);
    while (dialogs.len() as i32) < limit {
        let want = limit - dialogs.len() as i32;
        let (found, all) = server
            .store
            .run(move |s| s.dialogs(me, position, want))
            .await?;
        count = all;
        let exhausted = (found.len() as i32) < want.min(100);
        position = found.last().map(|d| DialogPosition {
            date: d.top_message.date,
            id: d.top_message.id,
        });
        dialogs.extend(found.into_iter().filter(|d| !pinned_keys.contains(&d.peer)));
        if exhausted || position.is_none() {
            break;
        }
    }
    if with_pinned && !pinned_keys.is_empty() {
        let keys = pinned_keys.clone();
        dialogs.extend(server.store.run(move |s| s.dialogs_of(me, &keys)).await?);
    }
    let users = users_tl(
        server,
        me,
        dialogs
            .iter()
            .flat_map(|d| [d.peer, d.top_message.from_id])
            .chain([me]),
    )
    .await?;
    let media = media_of(server, dialogs.iter().map(|d| &d.top_message)).await?;
    let peers: Vec<i64> = dialogs.iter().map(|d| d.peer).collect();
    let settings = server
        .store
        .run(move |s| {
            peers
                .into_iter()
                .map(|p| {
                    let scope = match crate::store::chats::peer_chat(p) {
                        Some(chat) => NotifyScope::Chat(chat),
                        None => NotifyScope::User(p),
                    };
                    Ok((p, s.notify_settings(me, scope)?))
                })
                .collect::<Result<HashMap<_, _>, _>>()
        })
        .await?;
    // Private chats and channels, newest first: (order key, dialog, top message, chat).
    let mut entries: Vec<(
        DialogKey,
        enums::Dialog,
        Option<enums::Message>,
        Option<enums::Chat>,
    )> = dialogs
        .iter()
        .map(|d| {
            let dialog = types::Dialog {
                pinned: false,
                unread_mark: false,
                view_forum_as_messages: false,
                peer: super::box_peer_tl(d.peer),
                top_message: d.top_message.id,
                read_inbox_max_id: d.read_inbox_max_id,
                read_outbox_max_id: d.read_outbox_max_id,
                unread_count: d.unread_count,
                unread_mentions_count: 0,
                unread_reactions_count: 0,
                unread_poll_votes_count: 0,
                notify_settings: super::devices::settings_tl(
                    &settings.get(&d.peer).cloned().flatten().unwrap_or_default(),
                ),
                pts: None,
                draft: None,
                folder_id: None,
                ttl_period: None,
            };
            (
                (d.top_message.date, d.top_message.id, d.peer),
                dialog.into(),
                Some(message_tl(&d.top_message, &media)),
                None,
            )
        })
        .collect();
    let group_chats = super::groups::chats_tl(
        server,
        me,
        dialogs
            .iter()
            .filter_map(|d| crate::store::chats::peer_chat(d.peer))
            .collect(),
    )
    .await?;
    let channels = super::channels::dialogs(server, me).await?;
    let channel_count = channels.len() as i32;
    entries.extend(
        channels
            .into_iter()
            .map(|(date, dialog, top, chat)| {
                let (top_id, key) = match &dialog {
                    enums::Dialog::Dialog(d) => match &d.peer {
                        enums::Peer::Channel(c) => (d.top_message, channel_key(c.channel_id)),
                        _ => (d.top_message, 0),
                    },
                    _ => (0, 0),
                };
                ((date, top_id, key), dialog, top, Some(chat))
            })
            .filter(|(key, ..)| {
                (with_pinned && pinned_keys.contains(&key.2))
                    || offset.is_none_or(|o| o.is_before(*key))
            }),
    );
    let drafts = super::drafts::by_peer(server, me).await?;
    for (_, dialog, ..) in &mut entries {
        if let enums::Dialog::Dialog(d) = dialog {
            let peer = match &d.peer {
                enums::Peer::User(p) => DialogPeer::User(p.user_id),
                enums::Peer::Chat(p) => DialogPeer::Chat(p.chat_id),
                enums::Peer::Channel(p) => DialogPeer::Channel(p.channel_id),
            };
            d.draft = drafts
                .get(&peer)
                .map(|draft| super::drafts::draft_tl(Some(draft), draft.date));
        }
    }
    // The pinned ones on top in their order, then the rest newest first.
    let (mut on_top, mut rest): (Vec<_>, Vec<_>) = entries
        .into_iter()
        .partition(|(key, ..)| pinned_keys.contains(&key.2));
    if with_pinned {
        on_top.sort_by_key(|(key, ..)| pinned_keys.iter().position(|k| *k == key.2));
        for (_, dialog, ..) in &mut on_top {
            if let enums::Dialog::Dialog(d) = dialog {
                d.pinned = true;
            }
        }
    } else {
        on_top.clear();
    }
    rest.sort_by_key(|e| std::cmp::Reverse(e.0));
    rest.truncate(limit as usize);
    let count = count + channel_count;
    let mut list = Vec::new();
    let mut messages = Vec::new();
    let mut chats = group_chats;
    for (_, dialog, top, chat) in on_top.into_iter().chain(rest) {
        list.push(dialog);
        messages.extend(top);
        chats.extend(chat);
    }
    super::reactions::attach_private(server, me, &mut messages).await?;
    Ok(DialogsTl {
        dialogs: list,
        messages,
        chats,
        users,
        count,
    })
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
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::ReadHistory,
) -> RpcResult {
    let me = caller.user()?;
    let peer = super::groups::box_peer(server, me, &call.peer).await?;
    let max_id = call.max_id;
    let committed = server
        .store
        .run(move |s| s.read_history(me, peer, max_id, unix_now()))
        .await?;
    push_committed(server, &caller, &committed).await;
    let pts = server.store.run(move |s| s.pts(me)).await?;
    ok(affected(&committed, me, pts))
}

async fn edit_message(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::EditMessage,
) -> RpcResult {
    let me = caller.user()?;
    super::groups::box_peer(server, me, &call.peer).await?;
    let bot = super::markup::is_bot(server, me).await?;
    // A person edits the text; a bot may edit only its keyboard (an edit without one removes
    // the keyboard, as on Telegram).
    if call.message.is_none() && !bot {
        return Err(RpcError::bad_request("MESSAGE_EMPTY"));
    }
    if let Some(text) = &call.message {
        check_text(text)?;
    }
    let edit = MessageEdit {
        entities: super::markup::entities_bytes(call.entities.as_ref()),
        reply_markup: if bot {
            super::markup::markup_bytes(call.reply_markup.as_ref())
        } else {
            None
        },
        text: call.message,
    };
    let id = call.id;
    let committed = server
        .store
        .run(move |s| s.edit(me, id, &edit, unix_now()))
        .await
        .map_err(|e| match e {
            StoreError::NotFound { .. } => RpcError::bad_request("MESSAGE_ID_INVALID"),
            other => other.into(),
        })?;
    push_committed(server, &caller, &committed).await;
    let media = media_of(server, committed.iter().filter_map(|c| c.message.as_ref())).await?;
    let mut own: Vec<enums::Update> = committed
        .iter()
        .filter(|c| c.user_id == me)
        .filter_map(|c| update_tl(&c.entry, c.message.as_ref(), &media))
        .collect();
    super::reactions::attach_to_edits(server, me, &mut own).await?;
    let messages: Vec<&Message> = committed
        .iter()
        .filter_map(|c| c.message.as_ref())
        .collect();
    let users = messages.iter().flat_map(|m| [m.from_id, m.peer]).collect();
    let mut answer = updates_tl(server, me, own, users).await?;
    if let enums::Updates::Updates(u) = &mut answer {
        u.chats = super::groups::chats_tl(server, me, super::groups::chats_of(messages)).await?;
    }
    ok(answer)
}

async fn delete_messages(
    server: &Arc<Node>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn get_dialogs(date: i32, id: i32, peer: enums::InputPeer) -> functions::messages::GetDialogs {
        functions::messages::GetDialogs {
            exclude_pinned: false,
            folder_id: None,
            offset_date: date,
            offset_id: id,
            offset_peer: peer,
            limit: 3,
            hash: 0,
        }
    }

    #[test]
    fn dialog_pages_follow_date_then_id_then_peer() {
        let me = 7;
        assert!(DialogOffset::of(&get_dialogs(0, 9, enums::InputPeer::Empty), me).is_none());
        // The last dialog of the page before: a private chat with user 42, top message 10 at 1000.
        let user = types::InputPeerUser {
            user_id: 42,
            access_hash: 1,
        };
        let after_user = DialogOffset::of(&get_dialogs(1000, 10, user.into()), me).unwrap();
        assert!(
            !after_user.is_before((1000, 10, 42)),
            "the offset dialog itself"
        );
        assert!(
            !after_user.is_before((1000, 11, 43)),
            "newer id, same second"
        );
        assert!(after_user.is_before((1000, 9, 44)), "older id, same second");
        assert!(
            after_user.is_before((1000, 10, channel_key(5))),
            "a channel whose top post has the same date and id comes after the private chat"
        );
        assert!(after_user.is_before((999, 99, 1)));
        // The last dialog was a channel: a private chat with the same date and id came before it.
        let channel = types::InputPeerChannel {
            channel_id: 5,
            access_hash: 1,
        };
        let after_channel = DialogOffset::of(&get_dialogs(1000, 10, channel.into()), me).unwrap();
        assert!(!after_channel.is_before((1000, 10, 42)));
        assert!(!after_channel.is_before((1000, 10, channel_key(5))));
        assert!(after_channel.is_before((1000, 10, channel_key(6))));
        // No peer: the date and id alone.
        let no_peer =
            DialogOffset::of(&get_dialogs(1000, 10, enums::InputPeer::Empty), me).unwrap();
        assert!(!no_peer.is_before((1000, 10, channel_key(6))));
        assert!(no_peer.is_before((1000, 9, 1)));
        let self_peer =
            DialogOffset::of(&get_dialogs(1000, 10, enums::InputPeer::InputPeerSelf), me);
        assert_eq!(self_peer.unwrap().peer, me);
    }
}
