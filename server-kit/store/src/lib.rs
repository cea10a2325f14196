//! The storage interface of server-kit. Services talk to a [`Store`]; implementations live
//! in their own crates (`server-kit-sqlite`, the embedded default; `server-kit-postgres`,
//! for several server nodes on one database), and a server implementer may bring their own.
//! Every method that changes data is one transaction that also writes the pts entries it
//! causes, and returns only after the commit, so an answer never gets ahead of durable state.
//!
//! What is written once here for every backend: the row types, the [`rows`] mapping from a
//! database row to them (each backend adapts its driver's row to [`rows::Row`]), the box
//! rules ([`rows::LogColumns`]: how a log entry is kept; [`HistoryQuery::window`]: paging),
//! and, behind the feature `conformance`, the behaviour every store must show
//! ([`conformance`], expanded into one `#[test]` per check by [`store_conformance_tests!`]).
//!
//! The traits are synchronous: services call them through [`Db`], which runs each call on
//! the blocking pool. Nothing in them assumes SQLite: ids and counters are allocated inside
//! the transaction, which is what lets the PostgreSQL store stay correct with several nodes.

pub mod bots;
pub mod callbacks;
pub mod channels;
pub mod chats;
/// The behaviour every [`Store`] must show, as checks any implementation runs
/// ([`conformance::run_all`], [`conformance::reopen`], [`store_conformance_tests!`]).
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod contacts;
pub mod devices;
pub mod dialog_peer;
pub mod drafts;
pub mod passwords;
pub mod photos;
pub mod pinned_dialogs;
pub mod privacy;
pub mod profile_photos;
pub mod reactions;
pub mod rows;
pub mod scheduled;
pub mod search;
pub mod secret_chats;

pub use bots::{BotCommand, BotStore};
pub use callbacks::{CallbackAnswer, CallbackQuery, CallbackStore};
pub use channels::ChannelStore;
pub use chats::{ChatStore, ServiceAction};
pub use contacts::ContactStore;
pub use devices::DeviceStore;
pub use dialog_peer::DialogPeer;
pub use drafts::{Draft, DraftStore};
pub use passwords::PasswordStore;
pub use photos::{Photo, PhotoSize, PhotoStore};
pub use pinned_dialogs::PinnedDialogStore;
pub use privacy::{PrivacyStore, Visibility};
pub use profile_photos::ProfilePhotoStore;
pub use reactions::ReactionStore;
pub use scheduled::ScheduledStore;
pub use search::{MediaFilter, SearchQuery, SearchStore};
pub use secret_chats::SecretChatStore;

use std::sync::Arc;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Database(String),
    /// A unique value is taken (e.g. a username).
    #[error("{what} is already taken")]
    Taken {
        /// What was taken.
        what: &'static str,
    },
    /// Something the call refers to does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was missing.
        what: &'static str,
    },
    /// A backend's own failure that callers may want to tell apart, kept whole (e.g. the
    /// PostgreSQL store's `PgTlsError`: find it with [`StoreError::backend`]).
    #[error("{0}")]
    Backend(Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// A store failure answers the call with 500 `INTERNAL`; what failed goes to the log, not to
/// the client.
impl From<StoreError> for mtproto::RpcError {
    fn from(e: StoreError) -> Self {
        tracing::error!("store: {e}");
        mtproto::RpcError::internal()
    }
}

impl StoreError {
    /// The backend's own error of type `E`, if this is one.
    pub fn backend<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match self {
            StoreError::Backend(e) => e.downcast_ref::<E>(),
            _ => None,
        }
    }
}

/// A stored authorization key.
#[derive(Debug, Clone)]
pub struct StoredKey {
    /// Its id.
    pub id: i64,
    /// The 256 key bytes.
    pub key: Vec<u8>,
    /// The user signed in with it.
    pub user_id: Option<i64>,
    /// The API layer its client speaks.
    pub layer: i32,
    /// When it was created (Unix seconds).
    pub created: i64,
    /// What the client said about itself in `initConnection`.
    pub client: ClientInfo,
}

/// What a client said about itself in `initConnection`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// api_id.
    pub api_id: i32,
    /// device_model.
    pub device_model: String,
    /// system_version.
    pub system_version: String,
    /// app_version.
    pub app_version: String,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The id.
    pub id: i64,
    /// The secret that proves a client got the user from the server.
    pub access_hash: i64,
    /// Digits only.
    pub phone: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Username, without `@`.
    pub username: Option<String>,
    /// About text.
    pub about: String,
    /// `Some` for a bot account ([`BotStore`]): the version of its bot info, which clients
    /// see as `user.bot_info_version`; `None` for a person.
    pub bot_info_version: Option<i32>,
    /// When the user was last seen online (Unix seconds; 0: never recorded).
    pub last_seen: i32,
    /// Their current profile photo ([`ProfilePhotoStore`]).
    pub photo: Option<i64>,
    /// Who sees their status ([`PrivacyStore`]).
    pub status_visibility: Visibility,
}

/// A pending login code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginCode {
    /// The phone number it was sent to.
    pub phone: String,
    /// The `phone_code_hash` given to the client.
    pub hash: String,
    /// The code.
    pub code: String,
    /// When it expires (Unix seconds).
    pub expires_at: i64,
    /// Wrong attempts so far.
    pub attempts: i32,
    /// The right code was entered (`auth.signIn` for a number without an account): only
    /// then may `auth.signUp` create the account.
    pub verified: bool,
}

/// A message in one user's box (private chats: each side has its own copy and ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The owner of this copy.
    pub owner: i64,
    /// Its id in the owner's box.
    pub id: i32,
    /// The other user of the chat, or for a basic group [`chats::chat_peer`] of its id.
    pub peer: i64,
    /// Sent by the owner.
    pub out: bool,
    /// The sender.
    pub from_id: i64,
    /// The text.
    pub text: String,
    /// When it was sent.
    pub date: i32,
    /// When it was last edited.
    pub edit_date: Option<i32>,
    /// The sender's random_id (on the sender's copy).
    pub random_id: Option<i64>,
    /// Attached media.
    pub media: Option<MediaRef>,
    /// The message of the same chat it replies to, by its id in this box.
    pub reply_to: Option<i32>,
    /// Where it was forwarded from.
    pub forward: Option<Forward>,
    /// Pinned in the owner's chat.
    pub pinned: bool,
    /// What happened, for a service message (its text is then empty or the title it names).
    pub action: Option<ServiceAction>,
    /// The text's formatting ([`Extras::entities`]).
    pub entities: Option<Vec<u8>>,
    /// A bot's keyboard ([`Extras::reply_markup`]).
    pub reply_markup: Option<Vec<u8>>,
}

/// What a new message carries besides its text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    /// Attached media.
    pub media: Option<MediaRef>,
    /// The message it replies to, by its id in the sender's box (private chats) or the
    /// channel; an id that names no message of the same chat is dropped.
    pub reply_to: Option<i32>,
    /// Where it was forwarded from.
    pub forward: Option<Forward>,
    /// The text's formatting entities, as the services encode them (the store keeps the
    /// bytes as given: a TL `Vector<MessageEntity>` for the reference services).
    pub entities: Option<Vec<u8>>,
    /// A bot's keyboard, as the services encode it (the store keeps the bytes as given: a TL
    /// `ReplyMarkup` for the reference services).
    pub reply_markup: Option<Vec<u8>>,
}

/// What an edit changes ([`Store::edit`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageEdit {
    /// The new text, with its `entities`; `None` keeps the text and its entities.
    pub text: Option<String>,
    /// The new text's entities (only read with a new `text`).
    pub entities: Option<Vec<u8>>,
    /// The keyboard after the edit: always replaced, `None` removes it (as Telegram: an edit
    /// without `reply_markup` drops the keyboard).
    pub reply_markup: Option<Vec<u8>>,
}

impl MessageEdit {
    /// A new plain text, no keyboard.
    pub fn text(text: &str) -> Self {
        MessageEdit {
            text: Some(text.to_owned()),
            ..MessageEdit::default()
        }
    }
}

/// The origin of a forwarded message (`messageFwdHeader`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forward {
    /// Who wrote it first.
    pub from: ForwardFrom,
    /// When it was first sent.
    pub date: i32,
}

/// Who wrote a forwarded message first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardFrom {
    /// A user.
    User(i64),
    /// A channel's post.
    Channel {
        /// The channel.
        channel: i64,
        /// The post's id in it.
        post: i32,
    },
}

impl Forward {
    /// The stored columns: kind (0 none, 1 user, 2 channel), id, post, date.
    pub fn to_columns(forward: Option<Forward>) -> (i64, i64, i32, i32) {
        match forward {
            None => (0, 0, 0, 0),
            Some(Forward {
                from: ForwardFrom::User(id),
                date,
            }) => (1, id, 0, date),
            Some(Forward {
                from: ForwardFrom::Channel { channel, post },
                date,
            }) => (2, channel, post, date),
        }
    }

    /// The inverse of [`to_columns`](Self::to_columns).
    pub fn from_columns(kind: i64, id: i64, post: i32, date: i32) -> Option<Forward> {
        let from = match kind {
            1 => ForwardFrom::User(id),
            2 => ForwardFrom::Channel { channel: id, post },
            _ => return None,
        };
        Some(Forward { from, date })
    }
}

/// Media attached to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaRef {
    /// A document (any file).
    Document(i64),
    /// A photo.
    Photo(i64),
}

impl MediaRef {
    /// The kind and id as stored in a row (kind 0 = none, 1 = document, 2 = photo).
    pub fn to_columns(media: Option<MediaRef>) -> (i64, i64) {
        match media {
            None => (0, 0),
            Some(MediaRef::Document(id)) => (1, id),
            Some(MediaRef::Photo(id)) => (2, id),
        }
    }

    /// The inverse of [`to_columns`](Self::to_columns).
    pub fn from_columns(kind: i64, id: i64) -> Option<MediaRef> {
        match kind {
            1 => Some(MediaRef::Document(id)),
            2 => Some(MediaRef::Photo(id)),
            _ => None,
        }
    }
}

/// A stored file as clients see it (`document`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Its id.
    pub id: i64,
    /// The secret a client must show to use it.
    pub access_hash: i64,
    /// The reference a client must show to download it.
    pub file_reference: Vec<u8>,
    /// The content's key in file storage (its SHA-256, hex).
    pub content: String,
    /// Its size in bytes.
    pub size: i64,
    /// Its MIME type.
    pub mime_type: String,
    /// Its file name.
    pub file_name: String,
    /// When it was uploaded.
    pub date: i32,
}

/// What changed in a user's box, in pts order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A message arrived or was sent.
    NewMessage {
        /// Its id.
        id: i32,
    },
    /// A message was edited.
    EditMessage {
        /// Its id.
        id: i32,
    },
    /// Messages were deleted.
    DeleteMessages {
        /// Their ids.
        ids: Vec<i32>,
    },
    /// The owner read incoming messages from `peer` up to `max_id`.
    ReadInbox {
        /// The chat.
        peer: i64,
        /// Read up to here.
        max_id: i32,
    },
    /// `peer` read the owner's messages up to `max_id`.
    ReadOutbox {
        /// The chat.
        peer: i64,
        /// Read up to here.
        max_id: i32,
    },
    /// Messages of the chat with `peer` were pinned or unpinned.
    Pin {
        /// The chat.
        peer: i64,
        /// The messages, by their ids in this box.
        ids: Vec<i32>,
        /// Pinned (`false`: unpinned).
        pinned: bool,
    },
    /// Someone pressed a callback button of a bot's message: the owner (the bot) is asked
    /// ([`CallbackStore`]).
    BotCallbackQuery {
        /// The query's id.
        query_id: i64,
    },
}

/// One entry of a user's update log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedChange {
    /// The pts after it.
    pub pts: i32,
    /// How many pts it took.
    pub pts_count: i32,
    /// When.
    pub date: i32,
    /// What.
    pub change: Change,
}

/// A change committed to one user's box, to push to that user's sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// Whose box.
    pub user_id: i64,
    /// The log entry.
    pub entry: LoggedChange,
    /// The message it is about, if any.
    pub message: Option<Message>,
}

/// The result of sending a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The sender's copy and its log entry.
    pub own: Committed,
    /// The recipient's copy and log entry (none when writing to oneself).
    pub peer: Option<Committed>,
    /// The same random_id was sent before: nothing new was written.
    pub duplicate: bool,
}

/// A chat in a user's dialog list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    /// The other user.
    pub peer: i64,
    /// The newest message.
    pub top_message: Message,
    /// Incoming messages read up to here.
    pub read_inbox_max_id: i32,
    /// Outgoing messages read by the peer up to here.
    pub read_outbox_max_id: i32,
    /// Incoming messages not read.
    pub unread_count: i32,
}

/// A place in the list of dialogs, which runs newest first by the top message's date, then
/// by its id: a page of `messages.getDialogs` starts strictly after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DialogPosition {
    /// The top message's date.
    pub date: i32,
    /// The top message's id (0: before every dialog of that date).
    pub id: i32,
}

impl DialogPosition {
    /// Before every dialog whose top message is from `date` or later.
    pub fn before_date(date: i32) -> Self {
        DialogPosition { date, id: 0 }
    }
}

/// Which messages of a chat to return (the arguments of `messages.getHistory`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Start below this id (0: from the newest).
    pub offset_id: i32,
    /// Start below this date (0: no bound).
    pub offset_date: i32,
    /// Skip this many more (negative: go newer).
    pub add_offset: i32,
    /// At most this many.
    pub limit: i32,
    /// Only ids below this (0: no bound).
    pub max_id: i32,
    /// Only ids above this (0: no bound).
    pub min_id: i32,
}

impl HistoryQuery {
    /// The most messages one page holds, whatever the client asked.
    pub const MAX_LIMIT: i32 = 100;

    /// How many messages the page takes (`limit` within 1..=[`MAX_LIMIT`](Self::MAX_LIMIT)).
    pub fn page_size(&self) -> i32 {
        self.limit.clamp(1, Self::MAX_LIMIT)
    }

    /// Messages older than the offset have ids below this (no bound without `offset_id`).
    pub fn below_id(&self) -> i64 {
        if self.offset_id > 0 {
            i64::from(self.offset_id)
        } else {
            i64::MAX
        }
    }

    /// Messages older than the offset were sent before this: `offset_date`, but only when no
    /// `offset_id` is given (no bound otherwise). Clients send both, the date being that of
    /// the message `offset_id` names, and messages sent in the same second as it must not be
    /// skipped: the id decides.
    pub fn below_date(&self) -> i64 {
        if self.offset_id <= 0 && self.offset_date > 0 {
            i64::from(self.offset_date)
        } else {
            i64::MAX
        }
    }

    /// Telegram's pagination (core.telegram.org/api/offsets): in the chat's list, newest first,
    /// the page starts at offsetFromID(offset) + `add_offset` and takes
    /// [`page_size`](Self::page_size) from there; positions before the newest are empty.
    /// offsetFromID counts the messages that are not older than the offset (`newer`: those
    /// with an id of at least [`below_id`](Self::below_id) or a date of at least
    /// [`below_date`](Self::below_date)): `offset_id` decides when given, `offset_date` when
    /// not, and without either the page starts at the newest message. A negative
    /// `add_offset` pages towards newer messages. The rows to read, newest first:
    /// `(skip, take)`, or `None` for an empty page.
    pub fn window(&self, newer: i64) -> Option<(i64, i64)> {
        let start = newer + i64::from(self.add_offset);
        let (from, to) = (start.max(0), start + i64::from(self.page_size()));
        (to > from).then_some((from, to - from))
    }

    /// Whether `max_id` and `min_id` keep the message with this id on the page.
    pub fn keeps(&self, id: i32) -> bool {
        (self.max_id <= 0 || id < self.max_id) && (self.min_id <= 0 || id > self.min_id)
    }
}

/// Everything the services need from storage.
pub trait Store:
    BotStore
    + CallbackStore
    + ChannelStore
    + ChatStore
    + ContactStore
    + DeviceStore
    + DraftStore
    + PhotoStore
    + PinnedDialogStore
    + ProfilePhotoStore
    + PrivacyStore
    + PasswordStore
    + ReactionStore
    + ScheduledStore
    + SearchStore
    + SecretChatStore
    + Send
    + Sync
    + 'static
{
    /// Every authorization key.
    fn auth_keys(&self) -> Result<Vec<StoredKey>, StoreError>;
    /// The authorization key with this id, if it is stored (one indexed lookup: what a node
    /// sharing the store asks when a client shows a key id it does not know).
    fn auth_key(&self, id: i64) -> Result<Option<StoredKey>, StoreError>;
    /// Stores a new key (durably, before the client is told it exists).
    fn insert_auth_key(&self, id: i64, key: &[u8], now: i64) -> Result<(), StoreError>;
    /// Signs a key in (`Some`) or out (`None`).
    fn set_key_user(&self, id: i64, user_id: Option<i64>) -> Result<(), StoreError>;
    /// Records the layer and client of a key.
    fn set_key_client(&self, id: i64, layer: i32, client: &ClientInfo) -> Result<(), StoreError>;
    /// Deletes a key.
    fn delete_auth_key(&self, id: i64) -> Result<(), StoreError>;

    /// Stores a login code, replacing any for the same phone.
    fn put_login_code(&self, code: &LoginCode) -> Result<(), StoreError>;
    /// The login code of a phone.
    fn login_code(&self, phone: &str) -> Result<Option<LoginCode>, StoreError>;
    /// Counts a wrong attempt.
    fn bump_login_attempts(&self, phone: &str) -> Result<(), StoreError>;
    /// Removes the code of a phone.
    fn delete_login_code(&self, phone: &str) -> Result<(), StoreError>;

    /// Creates a user.
    fn create_user(
        &self,
        phone: &str,
        first_name: &str,
        last_name: &str,
        access_hash: i64,
    ) -> Result<User, StoreError>;
    /// A user by id.
    fn user(&self, id: i64) -> Result<Option<User>, StoreError>;
    /// The users with these ids that exist, in id order. The default asks [`user`](Self::user)
    /// for each; a store across a network answers in one query.
    fn users(&self, ids: &[i64]) -> Result<Vec<User>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            found.extend(self.user(*id)?);
        }
        found.sort_by_key(|u| u.id);
        Ok(found)
    }
    /// A user by phone (digits).
    fn user_by_phone(&self, phone: &str) -> Result<Option<User>, StoreError>;
    /// A user by username (case-insensitive).
    fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// Changes names and about (`None` keeps a field).
    fn update_profile(
        &self,
        id: i64,
        first_name: Option<&str>,
        last_name: Option<&str>,
        about: Option<&str>,
    ) -> Result<User, StoreError>;
    /// Sets or clears a username; [`StoreError::Taken`] if another user has it.
    fn set_username(&self, id: i64, username: Option<&str>) -> Result<User, StoreError>;

    /// Records when the user was last seen online (a later time only: an earlier one is
    /// ignored, so nodes reporting out of order cannot move it back).
    fn set_last_seen(&self, id: i64, date: i32) -> Result<(), StoreError>;
    /// The users who see `id`'s online status change: those who have `id` as a contact or a
    /// private chat with `id` (never `id` itself), in id order.
    fn status_watchers(&self, id: i64) -> Result<Vec<i64>, StoreError>;

    /// Adds or renames a contact.
    fn add_contact(
        &self,
        owner: i64,
        user_id: i64,
        first_name: &str,
        last_name: &str,
    ) -> Result<(), StoreError>;
    /// The owner's contacts.
    fn contacts(&self, owner: i64) -> Result<Vec<i64>, StoreError>;

    /// Sends a private message from `from` to `to` with its [`Extras`]: both copies (the
    /// reply in the recipient's copy names the recipient's copy of the replied message),
    /// both log entries, the dialogs, in one transaction. Idempotent on (`from`,
    /// `random_id`).
    #[allow(clippy::too_many_arguments)]
    fn send(
        &self,
        from: i64,
        to: i64,
        text: &str,
        random_id: i64,
        date: i32,
        extras: Extras,
    ) -> Result<Sent, StoreError>;
    /// [`send`](Self::send) of plain text.
    fn send_message(
        &self,
        from: i64,
        to: i64,
        text: &str,
        random_id: i64,
        date: i32,
    ) -> Result<Sent, StoreError> {
        self.send(from, to, text, random_id, date, Extras::default())
    }
    /// [`send`](Self::send) with media attached to both copies.
    fn send_media(
        &self,
        from: i64,
        to: i64,
        text: &str,
        random_id: i64,
        date: i32,
        media: MediaRef,
    ) -> Result<Sent, StoreError> {
        let extras = Extras {
            media: Some(media),
            ..Extras::default()
        };
        self.send(from, to, text, random_id, date, extras)
    }
    /// Stores a document's description (its bytes are in file storage).
    fn insert_document(&self, document: &Document) -> Result<(), StoreError>;
    /// A document by id.
    fn document(&self, id: i64) -> Result<Option<Document>, StoreError>;
    /// Edits an outgoing message (the owner's copy and the peer's, or every copy of a basic
    /// group's message) as `edit` says.
    fn edit(
        &self,
        owner: i64,
        id: i32,
        edit: &MessageEdit,
        date: i32,
    ) -> Result<Vec<Committed>, StoreError>;
    /// [`edit`](Self::edit) to a new plain text (any keyboard removed).
    fn edit_message(
        &self,
        owner: i64,
        id: i32,
        text: &str,
        date: i32,
    ) -> Result<Vec<Committed>, StoreError> {
        self.edit(owner, id, &MessageEdit::text(text), date)
    }
    /// Deletes messages from the owner's box (and the peer's copies when `revoke`).
    fn delete_messages(
        &self,
        owner: i64,
        ids: &[i32],
        revoke: bool,
        date: i32,
    ) -> Result<Vec<Committed>, StoreError>;
    /// Marks incoming messages from `peer` read up to `max_id` (and tells the peer).
    fn read_history(
        &self,
        owner: i64,
        peer: i64,
        max_id: i32,
        date: i32,
    ) -> Result<Vec<Committed>, StoreError>;
    /// Pins (or unpins) messages of the owner's chat with `peer`, named by their ids in the
    /// owner's box (`None`: every pinned message of the chat, to unpin them all), for the owner
    /// and, with `both_sides`, the peer's copies too: one log entry in each box where something
    /// changed. [`StoreError::NotFound`] if none of `ids` is a message of the chat.
    #[allow(clippy::too_many_arguments)]
    fn set_pinned(
        &self,
        owner: i64,
        peer: i64,
        ids: Option<&[i32]>,
        pinned: bool,
        both_sides: bool,
        date: i32,
    ) -> Result<Vec<Committed>, StoreError>;
    /// The pinned messages of the owner's chat with `peer`, newest first.
    fn pinned(&self, owner: i64, peer: i64) -> Result<Vec<i32>, StoreError>;
    /// Messages of one chat, newest first, and how many the chat has in all.
    fn history(
        &self,
        owner: i64,
        peer: i64,
        query: HistoryQuery,
    ) -> Result<(Vec<Message>, i32), StoreError>;
    /// Messages of the owner's box by id (missing ones are left out).
    fn messages(&self, owner: i64, ids: &[i32]) -> Result<Vec<Message>, StoreError>;
    /// The owner's chats, newest first by (top message date, top message id), only those
    /// strictly before `offset` when it is given, at most `limit` (1 to 100); and how many
    /// chats there are in all.
    fn dialogs(
        &self,
        owner: i64,
        offset: Option<DialogPosition>,
        limit: i32,
    ) -> Result<(Vec<Dialog>, i32), StoreError>;
    /// The owner's chats with these peers (those that have messages), newest first.
    fn dialogs_of(&self, owner: i64, peers: &[i64]) -> Result<Vec<Dialog>, StoreError>;
    /// The owner's pts.
    fn pts(&self, owner: i64) -> Result<i32, StoreError>;
    /// Log entries after `pts`, oldest first, at most `limit`, with the messages they name.
    fn changes_since(
        &self,
        owner: i64,
        pts: i32,
        limit: usize,
    ) -> Result<(Vec<LoggedChange>, Vec<Message>), StoreError>;
    /// At a clean stop: leaves what was committed in the store's main files, nothing in a
    /// side log to replay at the next open (SQLite folds its write-ahead log into the
    /// database file). Commits are durable without it. Default: nothing to do (a database
    /// server keeps its own files).
    fn checkpoint(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// A store shared by the services, called on tokio's blocking pool.
pub struct Db<S: ?Sized>(pub Arc<S>);

impl<S: ?Sized> Clone for Db<S> {
    fn clone(&self) -> Self {
        Db(self.0.clone())
    }
}

/// Histogram: seconds each [`Db::run`] took (waiting for the blocking pool included), by
/// `site`, the function that made the call ([`call_site`]), and `outcome` (`ok`, `error`).
pub const STORE_CALL_DURATION: &str = "server_kit_store_call_duration_seconds";

impl<S: Store + ?Sized> Db<S> {
    /// Runs `f` with the store on the blocking pool, timed into [`STORE_CALL_DURATION`]
    /// through the `metrics` facade: a no-op unless the program installed a recorder.
    pub async fn run<T: Send + 'static, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&S) -> Result<T, StoreError> + Send + 'static,
    {
        let site = call_site::<F>();
        let started = std::time::Instant::now();
        let store = self.0.clone();
        let result = tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| StoreError::Database(format!("store task failed: {e}")))
            .and_then(|r| r);
        let outcome = if result.is_ok() { "ok" } else { "error" };
        metrics::histogram!(STORE_CALL_DURATION, "site" => site, "outcome" => outcome)
            .record(started.elapsed());
        result
    }
}

/// Where a store call comes from, for the `site` label: the path of the function that
/// defined closure `F`, without its closure levels, its generic arguments and the prefix of
/// the server-kit crate it is in (`server_kit_reference::services::messages::send_message`
/// is `services::messages::send_message`, `server_kit_core::state::Node::add_key` is
/// `state::Node::add_key`). One value per place in the
/// code, so the label stays bounded; no allocation (a slice of the type's static name).
pub fn call_site<F>() -> &'static str {
    let mut name = std::any::type_name::<F>();
    while let Some(outer) = name.strip_suffix("::{{closure}}") {
        name = outer;
    }
    if name.ends_with('>') {
        // The `<` that opens the last generic arguments.
        let mut depth = 0usize;
        for (at, c) in name.char_indices().rev() {
            match c {
                '>' => depth += 1,
                '<' => {
                    depth -= 1;
                    if depth == 0 {
                        name = &name[..at];
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    for prefix in [
        "server_kit::",
        "server_kit_core::",
        "server_kit_reference::",
        "server_kit_cluster::",
    ] {
        if let Some(rest) = name.strip_prefix(prefix) {
            return rest;
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::call_site;

    fn site_of<F>(_: &F) -> &'static str {
        call_site::<F>()
    }

    #[test]
    fn call_sites_name_the_calling_function() {
        let plain = || ();
        assert_eq!(
            site_of(&plain),
            "server_kit_store::tests::call_sites_name_the_calling_function"
        );
        let nested = || || ();
        assert_eq!(site_of(&nested()), site_of(&plain));
        assert_eq!(
            generic(Some(vec![1i64])),
            "server_kit_store::tests::generic"
        );
    }

    fn generic<T>(value: T) -> &'static str {
        let f = move || drop(value);
        site_of(&f)
    }
}
