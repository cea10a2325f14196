//! Secret chats (core.telegram.org/api/end-to-end): the server's half. It hands out the DH
//! parameters (`messages.getDhConfig`), relays the public DH values and the key fingerprint
//! between the two devices (`requestEncryption`, `acceptEncryption`: nothing is checked
//! but the range of `g_a`, since the server never has the key), and relays the encrypted
//! messages it cannot read (`sendEncrypted`, `sendEncryptedService`, `sendEncryptedFile`)
//! through the receiving device's qts box ([`crate::store::secret_chats`]), from which
//! `messages.receivedQueue` deletes them.
//!
//! Each chat is bound to the auth key that requested it and the one that accepted it: other
//! keys of the same users get `CHAT_ID_INVALID` (`ENCRYPTION_ID_INVALID` from
//! `discardEncryption`), as for a chat that does not exist, and no update of it. While a
//! request waits, every device of the participant sees it and may accept; the others are
//! then told it is gone (`encryptedChatDiscarded`). State changes (`updateEncryption`),
//! typing and read receipts are pushed to the device's sessions on any node (the bus);
//! `updates.getDifference` gives the state changes since the client's date and the queued
//! messages after its qts.

use super::{bool_true, ok, users_tl};
use crate::bus::{ChangeNotice, SecretChatEvent};
use crate::rpc::{Caller, RpcError, RpcResult};
use crate::state::{Node, os_random, random_array, random_i64, unix_now};
use crate::store::StoreError;
use crate::store::secret_chats::{
    EncryptedFile, EncryptedMessage, Queued, SecretChat, SecretChatState,
};
use mtproto::crypto::{TELEGRAM_DH_PRIME, check_g_a};
use mtproto_api::{enums, functions, types};
use std::sync::Arc;
use tl_runtime::Serialize;

/// The version of the DH parameters `messages.getDhConfig` hands out (Telegram's prime and
/// g = 3 never change here).
pub const DH_CONFIG_VERSION: i32 = 1;
/// The generator handed out with Telegram's prime.
pub const DH_G: i32 = 3;
/// The most random bytes `messages.getDhConfig` gives at once.
pub const MAX_RANDOM_LENGTH: i32 = 1024;
/// The largest encrypted message accepted (a decrypted message of the longest text, its
/// entities and a media description fit well within it).
pub const MAX_ENCRYPTED_BYTES: usize = 256 * 1024;
/// Encrypted messages per `updates.getDifference` slice.
pub const QUEUE_SLICE: usize = 100;

/// The secret chats service.
#[derive(Debug, Clone, Copy)]
pub struct SecretChatsService;

service!(SecretChatsService {
    functions::messages::GetDhConfig => get_dh_config,
    functions::messages::RequestEncryption => request_encryption,
    functions::messages::AcceptEncryption => accept_encryption,
    functions::messages::DiscardEncryption => discard_encryption,
    functions::messages::SendEncrypted => send_encrypted,
    functions::messages::SendEncryptedService => send_encrypted_service,
    functions::messages::SendEncryptedFile => send_encrypted_file,
    functions::messages::ReadEncryptedHistory => read_encrypted_history,
    functions::messages::SetEncryptedTyping => set_encrypted_typing,
    functions::messages::ReceivedQueue => received_queue,
});

fn chat_invalid() -> RpcError {
    RpcError::bad_request("CHAT_ID_INVALID")
}

async fn get_dh_config(
    _: &Arc<Node>,
    caller: Caller,
    call: functions::messages::GetDhConfig,
) -> RpcResult {
    caller.user()?;
    let length = usize::try_from(call.random_length)
        .ok()
        .filter(|n| *n <= MAX_RANDOM_LENGTH as usize)
        .ok_or_else(|| RpcError::bad_request("RANDOM_LENGTH_INVALID"))?;
    let mut random = vec![0u8; length];
    os_random(&mut random);
    if call.version == DH_CONFIG_VERSION {
        return ok(enums::messages::DhConfig::NotModified(
            types::messages::DhConfigNotModified {
                random: random.into(),
            },
        ));
    }
    ok(enums::messages::DhConfig::DhConfig(
        types::messages::DhConfig {
            g: DH_G,
            p: TELEGRAM_DH_PRIME.to_vec().into(),
            version: DH_CONFIG_VERSION,
            random: random.into(),
        },
    ))
}

/// The chat as device `key` of `viewer` sees it: waiting or requested, accepted with the
/// other side's DH value, or discarded (also what a device of the participant that did not
/// accept it sees once another did).
pub(crate) fn chat_tl(chat: &SecretChat, viewer: i64, key: i64) -> enums::EncryptedChat {
    let discarded = |history_deleted| {
        types::EncryptedChatDiscarded {
            history_deleted,
            id: chat.id,
        }
        .into()
    };
    if !chat.is_device(viewer, key) {
        return discarded(false);
    }
    let admin = viewer == chat.admin;
    match chat.state {
        SecretChatState::Requested if admin => types::EncryptedChatWaiting {
            id: chat.id,
            access_hash: chat.access_hash,
            date: chat.date,
            admin_id: chat.admin,
            participant_id: chat.participant,
        }
        .into(),
        SecretChatState::Requested => types::EncryptedChatRequested {
            folder_id: None,
            id: chat.id,
            access_hash: chat.access_hash,
            date: chat.date,
            admin_id: chat.admin,
            participant_id: chat.participant,
            g_a: chat.g_a.clone().into(),
        }
        .into(),
        SecretChatState::Accepted => types::EncryptedChat {
            id: chat.id,
            access_hash: chat.access_hash,
            date: chat.date,
            admin_id: chat.admin,
            participant_id: chat.participant,
            g_a_or_b: if admin { &chat.g_b } else { &chat.g_a }.clone().into(),
            key_fingerprint: chat.key_fingerprint,
        }
        .into(),
        SecretChatState::Discarded { history_deleted } => discarded(history_deleted),
    }
}

/// The chat an `InputEncryptedChat` names, with its access hash checked and the caller's key
/// one of its devices; `CHAT_ID_INVALID` otherwise.
async fn own_chat(
    server: &Arc<Node>,
    caller: &Caller,
    peer: &enums::InputEncryptedChat,
) -> Result<(i64, SecretChat), RpcError> {
    let me = caller.user()?;
    let enums::InputEncryptedChat::InputEncryptedChat(peer) = peer;
    let (id, access_hash) = (peer.chat_id, peer.access_hash);
    let chat = server
        .store
        .run(move |s| s.secret_chat(id))
        .await?
        .filter(|c| c.access_hash == access_hash && c.is_device(me, caller.key_id))
        .ok_or_else(chat_invalid)?;
    Ok((me, chat))
}

/// An accepted chat of the caller's, and the other device's user and key.
async fn open_chat(
    server: &Arc<Node>,
    caller: &Caller,
    peer: &enums::InputEncryptedChat,
) -> Result<(SecretChat, i64, i64), RpcError> {
    let (me, chat) = own_chat(server, caller, peer).await?;
    match chat.state {
        SecretChatState::Accepted => {}
        SecretChatState::Discarded { .. } => {
            return Err(RpcError::bad_request("ENCRYPTION_DECLINED"));
        }
        SecretChatState::Requested => return Err(chat_invalid()),
    }
    let (user, key) = chat.other_side(me);
    let key = key.ok_or_else(chat_invalid)?;
    Ok((chat, user, key))
}

/// Tells a device (`key`), or every device of `user` (`None`), about `event` of `chat`: on
/// this node now, on the others through the bus. `skip` is the caller's session, which has
/// the answer.
async fn notify(
    server: &Arc<Node>,
    user: i64,
    key: Option<i64>,
    chat: i32,
    event: SecretChatEvent,
    skip: Option<(i64, i64)>,
) {
    server.bus.publish(ChangeNotice::SecretChat {
        user,
        key: key.unwrap_or(0),
        chat,
        event,
    });
    show(server, user, key, chat, event, skip).await;
}

/// The keys of `user` connected here that are `key` (or all, for `None`).
fn device_keys(server: &Node, user: i64, key: Option<i64>) -> Vec<i64> {
    let mut keys = server.keys_of(user);
    if let Some(key) = key {
        keys.retain(|k| *k == key);
    }
    keys.retain(|k| server.key_online(*k));
    keys
}

/// Pushes `event` of `chat` to the sessions of `user`'s devices connected to this node (all
/// of them for `key` `None`, else that key's). What a bus notice of another node leads to.
pub(crate) async fn show(
    server: &Arc<Node>,
    user: i64,
    key: Option<i64>,
    chat_id: i32,
    event: SecretChatEvent,
    skip: Option<(i64, i64)>,
) {
    let keys = device_keys(server, user, key);
    if keys.is_empty() {
        return;
    }
    let now = unix_now();
    match event {
        SecretChatEvent::Typing => {
            let update = types::UpdateEncryptedChatTyping { chat_id }.into();
            push_short(server, keys, update, skip);
        }
        SecretChatEvent::Read { max_date } => {
            let update = types::UpdateEncryptedMessagesRead {
                chat_id,
                max_date,
                date: now,
            }
            .into();
            push_short(server, keys, update, skip);
        }
        SecretChatEvent::Changed => {
            let chat = match server.store.run(move |s| s.secret_chat(chat_id)).await {
                Ok(Some(chat)) => chat,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!("secret chat {chat_id}: {e}");
                    return;
                }
            };
            let Ok(users) = users_tl(server, user, [chat.admin, chat.participant]).await else {
                return;
            };
            for key in keys {
                let body = enums::Updates::from(types::Updates {
                    updates: vec![
                        types::UpdateEncryption {
                            chat: chat_tl(&chat, user, key),
                            date: chat.updated,
                        }
                        .into(),
                    ],
                    users: users.clone(),
                    chats: Vec::new(),
                    date: now,
                    seq: 0,
                })
                .to_bytes();
                server.push_to_keys(vec![key], &body, skip);
            }
        }
    }
}

fn push_short(server: &Node, keys: Vec<i64>, update: enums::Update, skip: Option<(i64, i64)>) {
    let body = enums::Updates::from(types::UpdateShort {
        update,
        date: unix_now(),
    })
    .to_bytes();
    server.push_to_keys(keys, &body, skip);
}

/// An encrypted message as TL.
fn message_tl(m: &EncryptedMessage, dc_id: i32) -> enums::EncryptedMessage {
    if m.service {
        return types::EncryptedMessageService {
            random_id: m.random_id,
            chat_id: m.chat_id,
            date: m.date,
            bytes: m.bytes.clone().into(),
        }
        .into();
    }
    types::EncryptedMessage {
        random_id: m.random_id,
        chat_id: m.chat_id,
        date: m.date,
        bytes: m.bytes.clone().into(),
        file: m
            .file
            .as_ref()
            .map_or(enums::EncryptedFile::Empty, |f| file_tl(f, dc_id)),
    }
    .into()
}

fn file_tl(f: &EncryptedFile, dc_id: i32) -> enums::EncryptedFile {
    types::EncryptedFile {
        id: f.id,
        access_hash: f.access_hash,
        size: f.size,
        dc_id,
        key_fingerprint: f.key_fingerprint,
    }
    .into()
}

/// Pushes a queued entry to the sessions of `key` connected here.
fn push_queued(server: &Node, key: i64, queued: &Queued) {
    let body = enums::Updates::from(types::Updates {
        updates: vec![
            types::UpdateNewEncryptedMessage {
                message: message_tl(&queued.message, server.options.dc_id),
                qts: queued.qts,
            }
            .into(),
        ],
        users: Vec::new(),
        chats: Vec::new(),
        date: unix_now(),
        seq: 0,
    })
    .to_bytes();
    server.push_to_keys(vec![key], &body, None);
}

/// Another node queued an entry at `qts` in `key`'s box: pushed to that key's sessions here,
/// if it has any and the entry is still queued.
pub(crate) async fn push_remote(server: &Arc<Node>, key: i64, qts: i32) {
    if !server.key_online(key) {
        return;
    }
    let found = server
        .store
        .run(move |s| s.queued_encrypted(key, qts - 1, 1))
        .await;
    match found {
        Ok(entries) => {
            if let Some(queued) = entries.into_iter().find(|q| q.qts == qts) {
                push_queued(server, key, &queued);
            }
        }
        Err(e) => tracing::warn!("bus: qts box of key {key:x}: {e}"),
    }
}

async fn request_encryption(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::RequestEncryption,
) -> RpcResult {
    let me = caller.user()?;
    let peer = super::resolve_input_user(server, me, &call.user_id)
        .await
        .map_err(|_| RpcError::bad_request("USER_ID_INVALID"))?;
    if peer.id == me || peer.bot_info_version.is_some() {
        return Err(RpcError::bad_request("USER_ID_INVALID"));
    }
    super::users::check_not_blocked(server, me, peer.id).await?;
    if call.g_a.len() != TELEGRAM_DH_PRIME.len()
        || check_g_a(&call.g_a, &TELEGRAM_DH_PRIME).is_err()
    {
        return Err(RpcError::bad_request("DH_G_A_INVALID"));
    }
    let now = unix_now();
    let mut attempts = 0;
    let chat = loop {
        let chat = SecretChat {
            id: (i32::from_le_bytes(random_array()) & i32::MAX).max(1),
            access_hash: random_i64(),
            date: now,
            admin: me,
            admin_key: caller.key_id,
            participant: peer.id,
            participant_key: None,
            random_id: call.random_id,
            g_a: call.g_a.to_vec(),
            g_b: Vec::new(),
            key_fingerprint: 0,
            state: SecretChatState::Requested,
            updated: now,
        };
        let drawn = chat.clone();
        match server
            .store
            .run(move |s| s.create_secret_chat(&drawn))
            .await
        {
            Ok(stored) => break (stored, chat.id),
            Err(StoreError::Taken { .. }) if attempts < 5 => attempts += 1,
            Err(e) => return Err(e.into()),
        }
    };
    let (chat, drawn) = chat;
    if chat.admin_key != caller.key_id {
        // The same random_id from another device of the user: not this request.
        return Err(RpcError::bad_request("RANDOM_ID_DUPLICATE"));
    }
    if chat.id == drawn {
        notify(
            server,
            peer.id,
            None,
            chat.id,
            SecretChatEvent::Changed,
            None,
        )
        .await;
        tracing::debug!(chat = chat.id, "secret chat requested");
    }
    ok(chat_tl(&chat, me, caller.key_id))
}

async fn accept_encryption(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::AcceptEncryption,
) -> RpcResult {
    let (me, chat) = own_chat(server, &caller, &call.peer).await?;
    if me != chat.participant {
        return Err(chat_invalid());
    }
    let refused = |state| match state {
        SecretChatState::Accepted => RpcError::bad_request("ENCRYPTION_ALREADY_ACCEPTED"),
        SecretChatState::Discarded { .. } => RpcError::bad_request("ENCRYPTION_ALREADY_DECLINED"),
        SecretChatState::Requested => RpcError::internal(),
    };
    if chat.state != SecretChatState::Requested {
        return Err(refused(chat.state));
    }
    // Relayed as given (the server cannot check it without the key), within a DH value's size.
    if call.g_b.is_empty() || call.g_b.len() > TELEGRAM_DH_PRIME.len() {
        return Err(RpcError::bad_request("DH_G_B_INVALID"));
    }
    let (id, key, g_b, fingerprint) = (chat.id, caller.key_id, call.g_b, call.key_fingerprint);
    let accepted = server
        .store
        .run(move |s| s.accept_secret_chat(id, key, &g_b, fingerprint, unix_now()))
        .await?;
    let Some(accepted) = accepted else {
        let now = server.store.run(move |s| s.secret_chat(id)).await?;
        return Err(now.map_or_else(chat_invalid, |c| refused(c.state)));
    };
    let skip = Some((caller.key_id, caller.session_id));
    let event = SecretChatEvent::Changed;
    notify(server, chat.admin, Some(chat.admin_key), id, event, None).await;
    // Every device of the participant: the accepting one has the chat, the others see it go.
    notify(server, me, None, id, event, skip).await;
    ok(chat_tl(&accepted, me, caller.key_id))
}

async fn discard_encryption(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::DiscardEncryption,
) -> RpcResult {
    let me = caller.user()?;
    let id = call.chat_id;
    let chat = server
        .store
        .run(move |s| s.secret_chat(id))
        .await?
        .filter(|c| c.is_device(me, caller.key_id))
        .ok_or_else(|| RpcError::bad_request("ENCRYPTION_ID_INVALID"))?;
    if matches!(chat.state, SecretChatState::Discarded { .. }) {
        return Err(RpcError::bad_request("ENCRYPTION_ALREADY_DECLINED"));
    }
    let history_deleted = call.delete_history;
    let discarded = server
        .store
        .run(move |s| s.discard_secret_chat(id, history_deleted, unix_now()))
        .await?;
    if discarded.is_none() {
        return Err(RpcError::bad_request("ENCRYPTION_ALREADY_DECLINED"));
    }
    let event = SecretChatEvent::Changed;
    let skip = Some((caller.key_id, caller.session_id));
    let (other, other_key) = chat.other_side(me);
    notify(server, other, other_key, id, event, None).await;
    let mine = if me == chat.admin {
        Some(chat.admin_key)
    } else {
        chat.participant_key
    };
    notify(server, me, mine, id, event, skip).await;
    tracing::debug!(chat = id, history_deleted, "secret chat discarded");
    bool_true()
}

/// Auth key `key` stops being a device (signed out): its secret chats are discarded, their
/// queues and the key's qts box deleted, and the other device of each chat is told. Called
/// by `auth.logOut` and `auth.resetAuthorizations` before the key goes.
pub(crate) async fn end_device(server: &Arc<Node>, key: i64) -> Result<(), RpcError> {
    let ended = server
        .store
        .run(move |s| s.end_secret_device(key, unix_now()))
        .await?;
    for chat in ended {
        let (user, other) = if chat.admin_key == key {
            (chat.participant, chat.participant_key)
        } else {
            (chat.admin, Some(chat.admin_key))
        };
        notify(server, user, other, chat.id, SecretChatEvent::Changed, None).await;
    }
    Ok(())
}

/// Checks the shape of an end-to-end encrypted payload without reading it: a key
/// fingerprint (8 bytes), a msg_key (16) and whole AES blocks, within
/// [`MAX_ENCRYPTED_BYTES`].
fn check_data(data: &[u8]) -> Result<(), RpcError> {
    if data.len() > MAX_ENCRYPTED_BYTES {
        return Err(RpcError::bad_request("DATA_TOO_LONG"));
    }
    if data.len() < 8 + 16 + 16 || (data.len() - 24) % 16 != 0 {
        return Err(RpcError::bad_request("DATA_INVALID"));
    }
    Ok(())
}

/// Queues an encrypted message for the other device of the caller's chat, pushes it there,
/// and returns it as queued (a repeated random_id: the entry queued first).
async fn relay(
    server: &Arc<Node>,
    caller: &Caller,
    peer: &enums::InputEncryptedChat,
    random_id: i64,
    data: &[u8],
    service: bool,
    file: Option<EncryptedFile>,
) -> Result<Queued, RpcError> {
    check_data(data)?;
    let (chat, _, key) = open_chat(server, caller, peer).await?;
    let message = EncryptedMessage {
        random_id,
        chat_id: chat.id,
        date: unix_now(),
        bytes: data.to_vec(),
        service,
        file,
    };
    let (queued, fresh) = match server
        .store
        .run(move |s| s.queue_encrypted(key, &message))
        .await
    {
        Ok(done) => done,
        // Discarded meanwhile.
        Err(StoreError::NotFound { .. }) => {
            return Err(RpcError::bad_request("ENCRYPTION_DECLINED"));
        }
        Err(e) => return Err(e.into()),
    };
    if fresh {
        server.bus.publish(ChangeNotice::Encrypted {
            key,
            qts: queued.qts,
        });
        push_queued(server, key, &queued);
    }
    Ok(queued)
}

async fn send_encrypted(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::SendEncrypted,
) -> RpcResult {
    let queued = relay(
        server,
        &caller,
        &call.peer,
        call.random_id,
        &call.data,
        false,
        None,
    )
    .await?;
    ok(enums::messages::SentEncryptedMessage::SentEncryptedMessage(
        types::messages::SentEncryptedMessage {
            date: queued.message.date,
        },
    ))
}

async fn send_encrypted_service(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::SendEncryptedService,
) -> RpcResult {
    let queued = relay(
        server,
        &caller,
        &call.peer,
        call.random_id,
        &call.data,
        true,
        None,
    )
    .await?;
    ok(enums::messages::SentEncryptedMessage::SentEncryptedMessage(
        types::messages::SentEncryptedMessage {
            date: queued.message.date,
        },
    ))
}

async fn send_encrypted_file(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::SendEncryptedFile,
) -> RpcResult {
    let me = caller.user()?;
    check_data(&call.data)?;
    // The chat first: no file is kept for a send that cannot happen.
    open_chat(server, &caller, &call.peer).await?;
    let file = encrypted_file(server, me, call.file).await?;
    let queued = relay(
        server,
        &caller,
        &call.peer,
        call.random_id,
        &call.data,
        false,
        Some(file),
    )
    .await?;
    let file = queued
        .message
        .file
        .as_ref()
        .map_or(enums::EncryptedFile::Empty, |f| {
            file_tl(f, server.options.dc_id)
        });
    ok(enums::messages::SentEncryptedMessage::SentEncryptedFile(
        types::messages::SentEncryptedFile {
            date: queued.message.date,
            file,
        },
    ))
}

/// The file an `InputEncryptedFile` names: a finished upload (assembled and stored as
/// opaque bytes with the fingerprint the client gives), or a file already sent
/// (`inputEncryptedFile`, its access hash checked).
async fn encrypted_file(
    server: &Arc<Node>,
    me: i64,
    input: enums::InputEncryptedFile,
) -> Result<EncryptedFile, RpcError> {
    let (file_id, parts, md5, key_fingerprint) = match input {
        enums::InputEncryptedFile::Uploaded(f) => {
            (f.id, f.parts, Some(f.md5_checksum), f.key_fingerprint)
        }
        enums::InputEncryptedFile::BigUploaded(f) => (f.id, f.parts, None, f.key_fingerprint),
        enums::InputEncryptedFile::InputEncryptedFile(f) => {
            let (id, hash) = (f.id, f.access_hash);
            return server
                .store
                .run(move |s| s.encrypted_file(id))
                .await?
                .filter(|f| f.access_hash == hash)
                .ok_or_else(|| RpcError::bad_request("FILE_ID_INVALID"));
        }
        enums::InputEncryptedFile::Empty => return Err(RpcError::bad_request("FILE_EMTPY")),
    };
    let stored = super::assembled::assemble(server, me, file_id, parts, md5).await?;
    let file = EncryptedFile {
        id: random_i64() & i64::MAX,
        access_hash: random_i64(),
        size: stored.size as i64,
        dc_id: server.options.dc_id,
        key_fingerprint,
        content: stored.content,
        date: unix_now(),
    };
    let kept = file.clone();
    server
        .store
        .run(move |s| s.insert_encrypted_file(&kept))
        .await?;
    Ok(file)
}

/// The content and date of an encrypted file for `upload.getFile`
/// (`inputEncryptedFileLocation`, its access hash checked).
pub(crate) async fn file_content(
    server: &Arc<Node>,
    location: &types::InputEncryptedFileLocation,
) -> Result<(String, i32), RpcError> {
    let (id, hash) = (location.id, location.access_hash);
    let file = server
        .store
        .run(move |s| s.encrypted_file(id))
        .await?
        .filter(|f| f.access_hash == hash)
        .ok_or_else(|| RpcError::bad_request("LOCATION_INVALID"))?;
    Ok((file.content, file.date))
}

async fn read_encrypted_history(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::ReadEncryptedHistory,
) -> RpcResult {
    let (chat, user, key) = open_chat(server, &caller, &call.peer).await?;
    let event = SecretChatEvent::Read {
        max_date: call.max_date,
    };
    notify(server, user, Some(key), chat.id, event, None).await;
    bool_true()
}

async fn set_encrypted_typing(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::SetEncryptedTyping,
) -> RpcResult {
    let (chat, user, key) = open_chat(server, &caller, &call.peer).await?;
    if call.typing {
        let event = SecretChatEvent::Typing;
        notify(server, user, Some(key), chat.id, event, None).await;
    }
    bool_true()
}

async fn received_queue(
    server: &Arc<Node>,
    caller: Caller,
    call: functions::messages::ReceivedQueue,
) -> RpcResult {
    caller.user()?;
    let (key, max_qts) = (caller.key_id, call.max_qts);
    let acked = server
        .store
        .run(move |s| s.ack_encrypted(key, max_qts))
        .await?;
    ok(acked)
}

/// What `updates.getDifference` adds for one device.
#[derive(Debug, Default)]
pub(crate) struct SecretDifference {
    /// The queued messages after the client's qts.
    pub messages: Vec<enums::EncryptedMessage>,
    /// `updateEncryption` for each chat of the device changed since the client's date.
    pub updates: Vec<enums::Update>,
    /// The users those chats name.
    pub users: Vec<i64>,
    /// The qts the client is at after these messages.
    pub qts: i32,
    /// Whether more messages are queued after them (a slice).
    pub more: bool,
}

impl SecretDifference {
    /// Nothing new.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.updates.is_empty()
    }
}

/// The part of `updates.getDifference` that is device `key`'s: its box after `qts` (a slice
/// of [`QUEUE_SLICE`]), and its chats whose state changed at `date` or later.
pub(crate) async fn difference(
    server: &Arc<Node>,
    me: i64,
    key: i64,
    qts: i32,
    date: i32,
) -> Result<SecretDifference, RpcError> {
    let from = qts.max(0);
    let (current, queued, chats) = server
        .store
        .run(move |s| {
            let current = s.qts(key)?;
            let queued = if from < current {
                s.queued_encrypted(key, from, QUEUE_SLICE)?
            } else {
                Vec::new()
            };
            Ok((current, queued, s.secret_chats_changed(me, key, date)?))
        })
        .await?;
    let last = queued.last().map_or(current, |q| q.qts);
    let dc_id = server.options.dc_id;
    Ok(SecretDifference {
        messages: queued
            .iter()
            .map(|q| message_tl(&q.message, dc_id))
            .collect(),
        users: chats
            .iter()
            .flat_map(|c| [c.admin, c.participant])
            .collect(),
        updates: chats
            .iter()
            .map(|c| {
                types::UpdateEncryption {
                    chat: chat_tl(c, me, key),
                    date: c.updated,
                }
                .into()
            })
            .collect(),
        qts: last,
        more: last < current,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_checked_for_shape_only() {
        assert!(check_data(&[0; 40]).is_ok());
        assert!(check_data(&[0; 24 + 16 * 100]).is_ok());
        for bad in [0, 24, 39, 41, 56 + 15] {
            assert_eq!(
                check_data(&vec![0; bad]).unwrap_err().message,
                "DATA_INVALID",
                "{bad} bytes"
            );
        }
        assert_eq!(
            check_data(&vec![0; MAX_ENCRYPTED_BYTES + 16])
                .unwrap_err()
                .message,
            "DATA_TOO_LONG"
        );
    }

    fn chat(state: SecretChatState, participant_key: Option<i64>) -> SecretChat {
        SecretChat {
            id: 5,
            access_hash: 6,
            date: 7,
            admin: 10,
            admin_key: 100,
            participant: 20,
            participant_key,
            random_id: 1,
            g_a: vec![0xA],
            g_b: vec![0xB],
            key_fingerprint: 42,
            state,
            updated: 8,
        }
    }

    #[test]
    fn each_side_sees_its_view_and_other_devices_see_it_gone() {
        let waiting = chat(SecretChatState::Requested, None);
        assert!(matches!(
            chat_tl(&waiting, 10, 100),
            enums::EncryptedChat::Waiting(_)
        ));
        assert!(matches!(
            chat_tl(&waiting, 20, 999),
            enums::EncryptedChat::Requested(r) if r.g_a.as_ref() == [0xA]
        ));
        assert!(matches!(
            chat_tl(&waiting, 10, 101),
            enums::EncryptedChat::Discarded(_)
        ));
        let open = chat(SecretChatState::Accepted, Some(200));
        assert!(matches!(
            chat_tl(&open, 10, 100),
            enums::EncryptedChat::EncryptedChat(c) if c.g_a_or_b.as_ref() == [0xB] && c.key_fingerprint == 42
        ));
        assert!(matches!(
            chat_tl(&open, 20, 200),
            enums::EncryptedChat::EncryptedChat(c) if c.g_a_or_b.as_ref() == [0xA]
        ));
        assert!(matches!(
            chat_tl(&open, 20, 201),
            enums::EncryptedChat::Discarded(d) if !d.history_deleted
        ));
        let gone = chat(
            SecretChatState::Discarded {
                history_deleted: true,
            },
            Some(200),
        );
        assert!(matches!(
            chat_tl(&gone, 20, 200),
            enums::EncryptedChat::Discarded(d) if d.history_deleted && d.id == 5
        ));
    }
}
