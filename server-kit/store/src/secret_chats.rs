//! Secret chats (core.telegram.org/api/end-to-end): the server relays what two devices
//! encrypted for each other and can read none of it.
//!
//! - A [`SecretChat`] is bound to two auth keys: the one that requested it (`admin_key`) and
//!   the one that accepted it (`participant_key`, unset while the request waits, when every
//!   device of the participant may accept). Other keys of the same users never see it.
//! - The **qts box**: each auth key has its own sequence (`qts`), separate from the user's
//!   pts. An encrypted message queued for a key takes the next qts of its box
//!   ([`queue_encrypted`](SecretChatStore::queue_encrypted)); the device acknowledges with
//!   `messages.receivedQueue(max_qts)` and the acknowledged entries are deleted
//!   ([`ack_encrypted`](SecretChatStore::ack_encrypted)): the server keeps no copy after
//!   delivery. The counter itself stays, so qts never goes back.
//! - Discarding a chat forgets its DH values and drops whatever is still queued for it; the
//!   chat stays as a tombstone (its id, its two keys, `discarded`), so later calls get
//!   `ENCRYPTION_DECLINED` rather than a chat id that could be reused.
//! - Encrypted files (`encryptedFile`) are uploaded as usual and kept as opaque bytes with the
//!   key fingerprint the client gave.

use crate::StoreError;
use crate::rows::Row;

/// Where a secret chat stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretChatState {
    /// Requested, waiting for the participant to accept.
    Requested,
    /// Accepted: both keys are bound and messages flow.
    Accepted,
    /// Discarded by either side (or declined).
    Discarded {
        /// The side that discarded it asked both to delete the history.
        history_deleted: bool,
    },
}

impl SecretChatState {
    /// The stored columns: state (0 requested, 1 accepted, 2 discarded) and history_deleted.
    pub fn to_columns(self) -> (i32, bool) {
        match self {
            SecretChatState::Requested => (0, false),
            SecretChatState::Accepted => (1, false),
            SecretChatState::Discarded { history_deleted } => (2, history_deleted),
        }
    }

    /// The inverse of [`to_columns`](Self::to_columns); an unknown state is an error.
    pub fn from_columns(state: i32, history_deleted: bool) -> Result<Self, StoreError> {
        Ok(match state {
            0 => SecretChatState::Requested,
            1 => SecretChatState::Accepted,
            2 => SecretChatState::Discarded { history_deleted },
            other => {
                return Err(StoreError::Database(format!(
                    "unknown secret chat state {other}"
                )));
            }
        })
    }
}

/// A secret chat between two devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretChat {
    /// Its id (`encryptedChat.id`), positive.
    pub id: i32,
    /// The secret that proves a client got the chat from the server.
    pub access_hash: i64,
    /// When it was requested.
    pub date: i32,
    /// The user who requested it.
    pub admin: i64,
    /// The auth key that requested it.
    pub admin_key: i64,
    /// The user it was requested with.
    pub participant: i64,
    /// The auth key that accepted it (`None` while it waits).
    pub participant_key: Option<i64>,
    /// The requester's `random_id` (a repeated request returns the same chat).
    pub random_id: i32,
    /// The requester's public DH value (empty once discarded).
    pub g_a: Vec<u8>,
    /// The participant's public DH value (empty until accepted and once discarded).
    pub g_b: Vec<u8>,
    /// The key fingerprint the participant gave when accepting (0 before).
    pub key_fingerprint: i64,
    /// Where it stands.
    pub state: SecretChatState,
    /// When its state last changed (what `updates.getDifference` compares with its `date`).
    pub updated: i32,
}

impl SecretChat {
    /// Whether auth key `key` of `user` is one of the chat's two devices; while the request
    /// waits, every key of the participant is.
    pub fn is_device(&self, user: i64, key: i64) -> bool {
        (user == self.admin && key == self.admin_key)
            || (user == self.participant && self.participant_key.is_none_or(|k| k == key))
    }

    /// The other device's user and key (the key is `None` for the participant while the
    /// request waits), seen from `user`.
    pub fn other_side(&self, user: i64) -> (i64, Option<i64>) {
        if user == self.admin {
            (self.participant, self.participant_key)
        } else {
            (self.admin, Some(self.admin_key))
        }
    }
}

/// An encrypted file: uploaded bytes the server cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedFile {
    /// Its id.
    pub id: i64,
    /// The secret needed to download it.
    pub access_hash: i64,
    /// Its size in bytes.
    pub size: i64,
    /// The DC it is on.
    pub dc_id: i32,
    /// The fingerprint of the key it is encrypted with, as the uploader gave it.
    pub key_fingerprint: i32,
    /// Its key in file storage.
    pub content: String,
    /// When it was uploaded.
    pub date: i32,
}

/// An encrypted message as relayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedMessage {
    /// The sender's random_id.
    pub random_id: i64,
    /// The secret chat.
    pub chat_id: i32,
    /// When it was sent.
    pub date: i32,
    /// The encrypted bytes.
    pub bytes: Vec<u8>,
    /// A service message (`encryptedMessageService`).
    pub service: bool,
    /// The file attached (only its id is used when queueing).
    pub file: Option<EncryptedFile>,
}

/// An encrypted message waiting in a key's qts box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// Its qts.
    pub qts: i32,
    /// The message.
    pub message: EncryptedMessage,
}

/// Secret chat storage.
pub trait SecretChatStore {
    /// Records a requested chat (`state` [`SecretChatState::Requested`]). Idempotent on
    /// (`admin`, `random_id`): the same request again returns the chat it made;
    /// [`StoreError::Taken`] when the id is taken by another chat (draw another).
    fn create_secret_chat(&self, chat: &SecretChat) -> Result<SecretChat, StoreError>;
    /// A secret chat by id.
    fn secret_chat(&self, id: i32) -> Result<Option<SecretChat>, StoreError>;
    /// Accepts a requested chat from `participant_key`: binds the key, keeps `g_b` and the
    /// fingerprint. `None` when the chat is not (or no longer) requested.
    fn accept_secret_chat(
        &self,
        id: i32,
        participant_key: i64,
        g_b: &[u8],
        key_fingerprint: i64,
        date: i32,
    ) -> Result<Option<SecretChat>, StoreError>;
    /// Discards a chat that is not discarded yet: forgets its DH values and drops what is
    /// queued for it on both sides, in one transaction. `None` if it already was discarded
    /// (or does not exist).
    fn discard_secret_chat(
        &self,
        id: i32,
        history_deleted: bool,
        date: i32,
    ) -> Result<Option<SecretChat>, StoreError>;
    /// The chats auth key `key` of `user` is a device of ([`SecretChat::is_device`]) whose
    /// state changed at `since` or later, oldest change first.
    fn secret_chats_changed(
        &self,
        user: i64,
        key: i64,
        since: i32,
    ) -> Result<Vec<SecretChat>, StoreError>;
    /// Queues `message` for auth key `key`: the next qts of the key's box. Only while its chat
    /// is accepted ([`StoreError::NotFound`] otherwise, checked in the same transaction as the
    /// insert, so a discard and a send never leave an entry behind). Idempotent on (`key`,
    /// `random_id`) while the entry is queued: the second call returns the first entry and
    /// `false`.
    fn queue_encrypted(
        &self,
        key: i64,
        message: &EncryptedMessage,
    ) -> Result<(Queued, bool), StoreError>;
    /// The last qts of `key`'s box (0: none yet).
    fn qts(&self, key: i64) -> Result<i32, StoreError>;
    /// The entries of `key`'s box after `qts`, oldest first, at most `limit`, with their
    /// files.
    fn queued_encrypted(&self, key: i64, qts: i32, limit: usize)
    -> Result<Vec<Queued>, StoreError>;
    /// Deletes the entries of `key`'s box up to `max_qts`; returns their random_ids in qts
    /// order.
    fn ack_encrypted(&self, key: i64, max_qts: i32) -> Result<Vec<i64>, StoreError>;
    /// Ends auth key `key` as a secret chat device (its user signed it out): every chat bound
    /// to it that is not discarded yet is discarded (DH values forgotten, queues on both sides
    /// dropped) and the key's qts box is deleted with whatever it still holds, in one
    /// transaction. Returns the chats it discarded.
    fn end_secret_device(&self, key: i64, date: i32) -> Result<Vec<SecretChat>, StoreError>;
    /// Stores an encrypted file's description (its bytes are in file storage).
    fn insert_encrypted_file(&self, file: &EncryptedFile) -> Result<(), StoreError>;
    /// An encrypted file by id.
    fn encrypted_file(&self, id: i64) -> Result<Option<EncryptedFile>, StoreError>;
}

/// The columns of a [`SecretChat`].
pub const SECRET_CHAT_COLUMNS: &str = "id, access_hash, date, admin_id, admin_key, participant_id, participant_key, random_id, g_a, g_b, key_fingerprint, state, history_deleted, updated";

/// A secret chat from the [`SECRET_CHAT_COLUMNS`] starting at `at`.
pub fn secret_chat_at(r: &dyn Row, at: usize) -> Result<SecretChat, StoreError> {
    Ok(SecretChat {
        id: r.int32(at)?,
        access_hash: r.int(at + 1)?,
        date: r.int32(at + 2)?,
        admin: r.int(at + 3)?,
        admin_key: r.int(at + 4)?,
        participant: r.int(at + 5)?,
        participant_key: r.opt_int(at + 6)?,
        random_id: r.int32(at + 7)?,
        g_a: r.bytes(at + 8)?,
        g_b: r.bytes(at + 9)?,
        key_fingerprint: r.int(at + 10)?,
        state: SecretChatState::from_columns(r.int32(at + 11)?, r.flag(at + 12)?)?,
        updated: r.int32(at + 13)?,
    })
}

/// The columns of an [`EncryptedFile`].
pub const ENCRYPTED_FILE_COLUMNS: &str =
    "id, access_hash, size, dc_id, key_fingerprint, content, date";

/// An encrypted file from the [`ENCRYPTED_FILE_COLUMNS`] starting at `at`; `None` when its
/// id is NULL (an outer join that found none).
pub fn encrypted_file_at(r: &dyn Row, at: usize) -> Result<Option<EncryptedFile>, StoreError> {
    let Some(id) = r.opt_int(at)? else {
        return Ok(None);
    };
    Ok(Some(EncryptedFile {
        id,
        access_hash: r.int(at + 1)?,
        size: r.int(at + 2)?,
        dc_id: r.int32(at + 3)?,
        key_fingerprint: r.int32(at + 4)?,
        content: r.text(at + 5)?,
        date: r.int32(at + 6)?,
    }))
}

/// The columns of a [`Queued`] entry of table `encrypted_queue` (as `q`), followed by the
/// [`ENCRYPTED_FILE_COLUMNS`] of `encrypted_files` (as `f`, outer-joined on `q.file_id`).
pub const QUEUED_COLUMNS: &str = "q.qts, q.chat_id, q.random_id, q.date, q.bytes, q.service, f.id, f.access_hash, f.size, f.dc_id, f.key_fingerprint, f.content, f.date";

/// The `FROM` clause that goes with [`QUEUED_COLUMNS`].
pub const QUEUED_FROM: &str = "encrypted_queue q LEFT JOIN encrypted_files f ON f.id = q.file_id";

/// A queued entry from the [`QUEUED_COLUMNS`] starting at `at`.
pub fn queued_at(r: &dyn Row, at: usize) -> Result<Queued, StoreError> {
    Ok(Queued {
        qts: r.int32(at)?,
        message: EncryptedMessage {
            chat_id: r.int32(at + 1)?,
            random_id: r.int(at + 2)?,
            date: r.int32(at + 3)?,
            bytes: r.bytes(at + 4)?,
            service: r.flag(at + 5)?,
            file: encrypted_file_at(r, at + 6)?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_survive_their_columns() {
        for state in [
            SecretChatState::Requested,
            SecretChatState::Accepted,
            SecretChatState::Discarded {
                history_deleted: false,
            },
            SecretChatState::Discarded {
                history_deleted: true,
            },
        ] {
            let (code, deleted) = state.to_columns();
            assert_eq!(SecretChatState::from_columns(code, deleted).unwrap(), state);
        }
        assert!(SecretChatState::from_columns(7, false).is_err());
    }

    #[test]
    fn devices_are_the_two_keys_or_any_participant_key_while_waiting() {
        let mut chat = SecretChat {
            id: 1,
            access_hash: 2,
            date: 3,
            admin: 10,
            admin_key: 100,
            participant: 20,
            participant_key: None,
            random_id: 4,
            g_a: vec![1],
            g_b: Vec::new(),
            key_fingerprint: 0,
            state: SecretChatState::Requested,
            updated: 3,
        };
        assert!(chat.is_device(10, 100));
        assert!(!chat.is_device(10, 101));
        assert!(chat.is_device(20, 200) && chat.is_device(20, 201));
        assert_eq!(chat.other_side(10), (20, None));
        chat.participant_key = Some(200);
        assert!(chat.is_device(20, 200) && !chat.is_device(20, 201));
        assert!(!chat.is_device(30, 200));
        assert_eq!(chat.other_side(20), (10, Some(100)));
        assert_eq!(chat.other_side(10), (20, Some(200)));
    }
}
