//! Row mapping and box rules, written once for every backend.
//!
//! A backend selects the columns named by the `*_COLUMNS` lists here (in that order, from
//! any column index `at`), wraps its driver's row in a type implementing [`Row`], and calls
//! the `*_at` function for the type it wants. How a log entry is kept ([`LogColumns`]: the
//! kind codes of [`kind`], the peer, the value and the id list) is decided here too, so both
//! stores write and read the same thing.

use crate::channels::{Channel, ChannelChange, ChannelLogged, ChannelMessage, Member, Role};
use crate::chats::{Chat, ChatMember, ServiceAction};
use crate::devices::{Device, NotifySettings, NotifySound};
use crate::passwords::{Password, SrpCheck};
use crate::scheduled::{NewScheduled, ScheduledMessage};
use crate::{
    Change, ClientInfo, DialogPeer, Forward, LoggedChange, MediaRef, Message, StoreError,
    StoredKey, User,
};

/// One database row as the mapping reads it: each backend adapts its driver's row. Integers
/// of any width come as `i64`; a column that holds `NULL` where a value is required is an
/// error, never a panic.
pub trait Row {
    /// An integer column of any width.
    fn opt_int(&self, at: usize) -> Result<Option<i64>, StoreError>;
    /// A boolean column (an integer 0/1 where the database has no booleans).
    fn opt_flag(&self, at: usize) -> Result<Option<bool>, StoreError>;
    /// A string column; stored bytes that are not UTF-8 are an error.
    fn opt_text(&self, at: usize) -> Result<Option<String>, StoreError>;
    /// A byte-string column.
    fn bytes(&self, at: usize) -> Result<Vec<u8>, StoreError>;
    /// A list of integers (an array, or the comma-separated text of [`join_ids`]).
    fn ints(&self, at: usize) -> Result<Vec<i64>, StoreError>;

    /// A required integer column.
    fn int(&self, at: usize) -> Result<i64, StoreError> {
        self.opt_int(at)?.ok_or_else(|| null(at))
    }
    /// A required integer column that must fit in an `i32`.
    fn int32(&self, at: usize) -> Result<i32, StoreError> {
        narrow(self.int(at)?, at)
    }
    /// An optional integer column that must fit in an `i32`.
    fn opt_int32(&self, at: usize) -> Result<Option<i32>, StoreError> {
        self.opt_int(at)?.map(|v| narrow(v, at)).transpose()
    }
    /// A required boolean column.
    fn flag(&self, at: usize) -> Result<bool, StoreError> {
        self.opt_flag(at)?.ok_or_else(|| null(at))
    }
    /// A required string column.
    fn text(&self, at: usize) -> Result<String, StoreError> {
        self.opt_text(at)?.ok_or_else(|| null(at))
    }
    /// A list of integers that must each fit in an `i32` (message ids).
    fn ints32(&self, at: usize) -> Result<Vec<i32>, StoreError> {
        self.ints(at)?.into_iter().map(|v| narrow(v, at)).collect()
    }
}

fn null(at: usize) -> StoreError {
    StoreError::Database(format!("column {at} is NULL"))
}

fn narrow(value: i64, at: usize) -> Result<i32, StoreError> {
    i32::try_from(value)
        .map_err(|_| StoreError::Database(format!("column {at}: {value} does not fit in 32 bits")))
}

/// Ids as the comma-separated text a database without arrays keeps.
pub fn join_ids<T: ToString>(ids: &[T]) -> String {
    ids.iter().map(T::to_string).collect::<Vec<_>>().join(",")
}

/// The inverse of [`join_ids`]; anything that is not a number is an error.
pub fn split_ids(text: &str) -> Result<Vec<i64>, StoreError> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| StoreError::Database(format!("not an id list: {text:?}")))
        })
        .collect()
}

/// A column list with each column taken from `table` (`"a, b"` -> `"t.a, t.b"`).
pub fn prefixed(columns: &str, table: &str) -> String {
    columns
        .split(", ")
        .map(|c| format!("{table}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The columns of a [`StoredKey`].
pub const KEY_COLUMNS: &str =
    "id, key, user_id, layer, created, api_id, device_model, system_version, app_version";

/// A key from the [`KEY_COLUMNS`] starting at `at`.
pub fn key_at(r: &dyn Row, at: usize) -> Result<StoredKey, StoreError> {
    Ok(StoredKey {
        id: r.int(at)?,
        key: r.bytes(at + 1)?,
        user_id: r.opt_int(at + 2)?,
        layer: r.int32(at + 3)?,
        created: r.int(at + 4)?,
        client: ClientInfo {
            api_id: r.int32(at + 5)?,
            device_model: r.text(at + 6)?,
            system_version: r.text(at + 7)?,
            app_version: r.text(at + 8)?,
        },
    })
}

/// The columns of a [`User`].
pub const USER_COLUMNS: &str =
    "id, access_hash, phone, first_name, last_name, username, about, bot_info_version, last_seen,
     photo_id, status_privacy";

/// A user from the [`USER_COLUMNS`] starting at `at`.
pub fn user_at(r: &dyn Row, at: usize) -> Result<User, StoreError> {
    Ok(User {
        id: r.int(at)?,
        access_hash: r.int(at + 1)?,
        phone: r.text(at + 2)?,
        first_name: r.text(at + 3)?,
        last_name: r.text(at + 4)?,
        username: r.opt_text(at + 5)?,
        about: r.text(at + 6)?,
        bot_info_version: r.opt_int32(at + 7)?,
        last_seen: r.int32(at + 8)?,
        photo: r.opt_int(at + 9)?,
        status_visibility: crate::Visibility::from_code(r.int32(at + 10)?)?,
    })
}

/// The columns of a [`Message`].
pub const MESSAGE_COLUMNS: &str =
    "owner, id, peer, out, from_id, text, date, edit_date, random_id, media_kind, media_id,
     reply_to, fwd_kind, fwd_id, fwd_post, fwd_date, pinned, action_kind, action_ids, entities,
     reply_markup";

/// A message from the [`MESSAGE_COLUMNS`] starting at `at`.
pub fn message_at(r: &dyn Row, at: usize) -> Result<Message, StoreError> {
    Ok(Message {
        owner: r.int(at)?,
        id: r.int32(at + 1)?,
        peer: r.int(at + 2)?,
        out: r.flag(at + 3)?,
        from_id: r.int(at + 4)?,
        text: r.text(at + 5)?,
        date: r.int32(at + 6)?,
        edit_date: r.opt_int32(at + 7)?,
        random_id: r.opt_int(at + 8)?,
        media: MediaRef::from_columns(r.int(at + 9)?, r.int(at + 10)?),
        reply_to: r.opt_int32(at + 11)?,
        forward: forward_at(r, at + 12)?,
        pinned: r.flag(at + 16)?,
        action: ServiceAction::from_columns(r.int32(at + 17)?, r.ints(at + 18)?, &r.text(at + 5)?)?,
        entities: opt_blob(r.bytes(at + 19)?),
        reply_markup: opt_blob(r.bytes(at + 20)?),
    })
}

/// An optional byte string kept as a column that is never NULL: empty is none.
pub fn opt_blob(bytes: Vec<u8>) -> Option<Vec<u8>> {
    (!bytes.is_empty()).then_some(bytes)
}

/// The column value of an optional byte string ([`opt_blob`]'s inverse).
pub fn blob_column(bytes: &Option<Vec<u8>>) -> &[u8] {
    bytes.as_deref().unwrap_or_default()
}

/// The columns of a [`Channel`] (from `channels c`; the last one counts the members).
pub const CHANNEL_COLUMNS: &str = "id, access_hash, title, about, broadcast, megagroup, creator,
    username, date, pts, (SELECT count(*) FROM channel_members m WHERE m.channel = c.id)";

/// A channel from the [`CHANNEL_COLUMNS`] starting at `at`.
pub fn channel_at(r: &dyn Row, at: usize) -> Result<Channel, StoreError> {
    Ok(Channel {
        id: r.int(at)?,
        access_hash: r.int(at + 1)?,
        title: r.text(at + 2)?,
        about: r.text(at + 3)?,
        broadcast: r.flag(at + 4)?,
        megagroup: r.flag(at + 5)?,
        creator: r.int(at + 6)?,
        username: r.opt_text(at + 7)?,
        date: r.int32(at + 8)?,
        pts: r.int32(at + 9)?,
        members: r.int32(at + 10)?,
    })
}

/// The columns of a [`Chat`] (from `chats c`; the last one counts the members).
pub const CHAT_COLUMNS: &str = "id, title, creator, date, version, migrated_to,
    (SELECT count(*) FROM chat_members m WHERE m.chat = c.id)";

/// A chat from the [`CHAT_COLUMNS`] starting at `at`.
pub fn chat_at(r: &dyn Row, at: usize) -> Result<Chat, StoreError> {
    Ok(Chat {
        id: r.int(at)?,
        title: r.text(at + 1)?,
        creator: r.int(at + 2)?,
        date: r.int32(at + 3)?,
        version: r.int32(at + 4)?,
        migrated_to: r.opt_int(at + 5)?,
        members: r.int32(at + 6)?,
    })
}

/// The columns of a [`ChatMember`].
pub const CHAT_MEMBER_COLUMNS: &str = "user_id, inviter, date";

/// A chat member from the [`CHAT_MEMBER_COLUMNS`] starting at `at`.
pub fn chat_member_at(r: &dyn Row, at: usize) -> Result<ChatMember, StoreError> {
    Ok(ChatMember {
        user_id: r.int(at)?,
        inviter: r.int(at + 1)?,
        date: r.int32(at + 2)?,
    })
}

/// The columns of a [`ScheduledMessage`].
pub const SCHEDULED_COLUMNS: &str =
    "owner, id, peer_kind, peer, text, random_id, date, media_kind, media_id, reply_to";

/// A scheduled message from the [`SCHEDULED_COLUMNS`] starting at `at`.
pub fn scheduled_at(r: &dyn Row, at: usize) -> Result<ScheduledMessage, StoreError> {
    let kind = r.int32(at + 2)?;
    Ok(ScheduledMessage {
        owner: r.int(at)?,
        id: r.int32(at + 1)?,
        message: NewScheduled {
            peer: DialogPeer::from_columns(kind, r.int(at + 3)?)?,
            text: r.text(at + 4)?,
            random_id: r.int(at + 5)?,
            date: r.int32(at + 6)?,
            media: MediaRef::from_columns(r.int(at + 7)?, r.int(at + 8)?),
            reply_to: r.opt_int32(at + 9)?,
        },
    })
}

/// The columns of a [`Member`].
pub const MEMBER_COLUMNS: &str = "user_id, role, inviter, date, read_max_id";

/// A member from the [`MEMBER_COLUMNS`] starting at `at`.
pub fn member_at(r: &dyn Row, at: usize) -> Result<Member, StoreError> {
    Ok(Member {
        user_id: r.int(at)?,
        role: Role::from_code(r.int(at + 1)?),
        inviter: r.int(at + 2)?,
        date: r.int32(at + 3)?,
        read_max_id: r.int32(at + 4)?,
    })
}

/// The columns of a [`ChannelMessage`].
pub const POST_COLUMNS: &str = "channel, id, from_id, text, date, edit_date, media_kind, media_id,
    reply_to, fwd_kind, fwd_id, fwd_post, fwd_date, pinned, action_kind, action_ids";

/// A forward header from the four columns starting at `at`.
fn forward_at(r: &dyn Row, at: usize) -> Result<Option<Forward>, StoreError> {
    Ok(Forward::from_columns(
        r.int(at)?,
        r.int(at + 1)?,
        r.int32(at + 2)?,
        r.int32(at + 3)?,
    ))
}

/// A post from the [`POST_COLUMNS`] starting at `at`.
pub fn post_at(r: &dyn Row, at: usize) -> Result<ChannelMessage, StoreError> {
    Ok(ChannelMessage {
        channel: r.int(at)?,
        id: r.int32(at + 1)?,
        from_id: r.int(at + 2)?,
        text: r.text(at + 3)?,
        date: r.int32(at + 4)?,
        edit_date: r.opt_int32(at + 5)?,
        media: MediaRef::from_columns(r.int(at + 6)?, r.int(at + 7)?),
        reply_to: r.opt_int32(at + 8)?,
        forward: forward_at(r, at + 9)?,
        pinned: r.flag(at + 13)?,
        action: ServiceAction::from_columns(r.int32(at + 14)?, r.ints(at + 15)?, &r.text(at + 3)?)?,
    })
}

/// The columns of [`NotifySettings`].
pub const SETTINGS_COLUMNS: &str =
    "show_previews, silent, mute_until, sound, stories_muted, stories_hide_sender, stories_sound";

fn sound_at(r: &dyn Row, at: usize) -> Result<Option<NotifySound>, StoreError> {
    match r.opt_text(at)? {
        None => Ok(None),
        Some(text) => NotifySound::from_json(&text).map(Some).ok_or_else(|| {
            StoreError::Database(format!("not a stored notification sound: {text:?}"))
        }),
    }
}

/// Settings from the [`SETTINGS_COLUMNS`] starting at `at`.
pub fn settings_at(r: &dyn Row, at: usize) -> Result<NotifySettings, StoreError> {
    Ok(NotifySettings {
        show_previews: r.opt_flag(at)?,
        silent: r.opt_flag(at + 1)?,
        mute_until: r.opt_int32(at + 2)?,
        sound: sound_at(r, at + 3)?,
        stories_muted: r.opt_flag(at + 4)?,
        stories_hide_sender: r.opt_flag(at + 5)?,
        stories_sound: sound_at(r, at + 6)?,
    })
}

/// The columns of a [`Device`].
pub const DEVICE_COLUMNS: &str =
    "user_id, token_type, token, key_id, app_sandbox, no_muted, secret, other_uids, date";

/// A device from the [`DEVICE_COLUMNS`] starting at `at`.
pub fn device_at(r: &dyn Row, at: usize) -> Result<Device, StoreError> {
    Ok(Device {
        user_id: r.int(at)?,
        token_type: r.int32(at + 1)?,
        token: r.text(at + 2)?,
        key_id: r.int(at + 3)?,
        app_sandbox: r.flag(at + 4)?,
        no_muted: r.flag(at + 5)?,
        secret: r.bytes(at + 6)?,
        other_uids: r.ints(at + 7)?,
        date: r.int32(at + 8)?,
    })
}

/// The columns of a [`Password`].
pub const PASSWORD_COLUMNS: &str = "salt1, salt2, g, p, verifier, hint, locked_until";

/// A password from the [`PASSWORD_COLUMNS`] starting at `at`.
pub fn password_at(r: &dyn Row, at: usize) -> Result<Password, StoreError> {
    Ok(Password {
        salt1: r.bytes(at)?,
        salt2: r.bytes(at + 1)?,
        g: r.int32(at + 2)?,
        p: r.bytes(at + 3)?,
        verifier: r.bytes(at + 4)?,
        hint: r.text(at + 5)?,
        locked_until: r.int(at + 6)?,
    })
}

/// The columns of an [`SrpCheck`].
pub const CHECK_COLUMNS: &str = "srp_id, user_id, b, verifier, expires_at";

/// An SRP check from the [`CHECK_COLUMNS`] starting at `at`.
pub fn check_at(r: &dyn Row, at: usize) -> Result<SrpCheck, StoreError> {
    Ok(SrpCheck {
        srp_id: r.int(at)?,
        user_id: r.int(at + 1)?,
        b: r.bytes(at + 2)?,
        verifier: r.bytes(at + 3)?,
        expires_at: r.int(at + 4)?,
    })
}

/// The kind codes of log entries, in user boxes and channel boxes alike.
pub mod kind {
    /// A new message.
    pub const NEW: i32 = 1;
    /// An edited message.
    pub const EDIT: i32 = 2;
    /// Deleted messages.
    pub const DELETE: i32 = 3;
    /// The owner read incoming messages.
    pub const READ_INBOX: i32 = 4;
    /// The peer read the owner's messages.
    pub const READ_OUTBOX: i32 = 5;
    /// Messages pinned (value 1) or unpinned (value 0).
    pub const PIN: i32 = 6;
    /// A callback query to the owner, a bot (the query id in the peer column).
    pub const BOT_CALLBACK: i32 = 7;
}

/// How a log entry's change is kept: its [`kind`], the peer it concerns (0: none), one value
/// (a message id or a read position) and a list of message ids (deletions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogColumns {
    /// One of [`kind`].
    pub kind: i32,
    /// The peer of a read, else 0.
    pub peer: i64,
    /// The message id, or the position read up to.
    pub value: i32,
    /// The deleted ids.
    pub ids: Vec<i32>,
}

impl LogColumns {
    /// How `change` is kept.
    pub fn of(change: &Change) -> Self {
        let one = |kind, peer, value| LogColumns {
            kind,
            peer,
            value,
            ids: Vec::new(),
        };
        match change {
            Change::NewMessage { id } => one(kind::NEW, 0, *id),
            Change::EditMessage { id } => one(kind::EDIT, 0, *id),
            Change::DeleteMessages { ids } => LogColumns {
                kind: kind::DELETE,
                ids: ids.clone(),
                ..LogColumns::default()
            },
            Change::ReadInbox { peer, max_id } => one(kind::READ_INBOX, *peer, *max_id),
            Change::ReadOutbox { peer, max_id } => one(kind::READ_OUTBOX, *peer, *max_id),
            Change::Pin { peer, ids, pinned } => LogColumns {
                kind: kind::PIN,
                peer: *peer,
                value: i32::from(*pinned),
                ids: ids.clone(),
            },
            Change::BotCallbackQuery { query_id } => one(kind::BOT_CALLBACK, *query_id, 0),
        }
    }

    /// How a channel's `change` is kept.
    pub fn of_channel(change: &ChannelChange) -> Self {
        match change {
            ChannelChange::NewMessage { id } => LogColumns {
                kind: kind::NEW,
                value: *id,
                ..LogColumns::default()
            },
            ChannelChange::DeleteMessages { ids } => LogColumns {
                kind: kind::DELETE,
                ids: ids.clone(),
                ..LogColumns::default()
            },
            ChannelChange::Pin { ids, pinned } => LogColumns {
                kind: kind::PIN,
                value: i32::from(*pinned),
                ids: ids.clone(),
                ..LogColumns::default()
            },
        }
    }

    /// The change of a user box's entry; an unknown kind is an error.
    pub fn change(self) -> Result<Change, StoreError> {
        let LogColumns {
            kind,
            peer,
            value,
            ids,
        } = self;
        Ok(match kind {
            kind::NEW => Change::NewMessage { id: value },
            kind::EDIT => Change::EditMessage { id: value },
            kind::DELETE => Change::DeleteMessages { ids },
            kind::READ_INBOX => Change::ReadInbox {
                peer,
                max_id: value,
            },
            kind::READ_OUTBOX => Change::ReadOutbox {
                peer,
                max_id: value,
            },
            kind::PIN => Change::Pin {
                peer,
                ids,
                pinned: value != 0,
            },
            kind::BOT_CALLBACK => Change::BotCallbackQuery { query_id: peer },
            other => return Err(unknown_kind(other)),
        })
    }

    /// The change of a channel box's entry; an unknown kind is an error.
    pub fn channel_change(self) -> Result<ChannelChange, StoreError> {
        Ok(match self.kind {
            kind::NEW => ChannelChange::NewMessage { id: self.value },
            kind::DELETE => ChannelChange::DeleteMessages { ids: self.ids },
            kind::PIN => ChannelChange::Pin {
                ids: self.ids,
                pinned: self.value != 0,
            },
            other => return Err(unknown_kind(other)),
        })
    }
}

/// The columns of a user box's log entry.
pub const LOG_COLUMNS: &str = "pts, pts_count, date, kind, peer, value, ids";

/// A user box's log entry from the [`LOG_COLUMNS`] starting at `at`.
pub fn logged_at(r: &dyn Row, at: usize) -> Result<LoggedChange, StoreError> {
    let columns = LogColumns {
        kind: r.int32(at + 3)?,
        peer: r.int(at + 4)?,
        value: r.int32(at + 5)?,
        ids: r.ints32(at + 6)?,
    };
    Ok(LoggedChange {
        pts: r.int32(at)?,
        pts_count: r.int32(at + 1)?,
        date: r.int32(at + 2)?,
        change: columns.change()?,
    })
}

/// The columns of a channel box's log entry.
pub const CHANNEL_LOG_COLUMNS: &str = "pts, pts_count, date, kind, value, ids";

/// A log entry of `channel` from the [`CHANNEL_LOG_COLUMNS`] starting at `at`.
pub fn channel_logged_at(
    r: &dyn Row,
    at: usize,
    channel: i64,
) -> Result<ChannelLogged, StoreError> {
    let columns = LogColumns {
        kind: r.int32(at + 3)?,
        peer: 0,
        value: r.int32(at + 4)?,
        ids: r.ints32(at + 5)?,
    };
    Ok(ChannelLogged {
        channel,
        pts: r.int32(at)?,
        pts_count: r.int32(at + 1)?,
        date: r.int32(at + 2)?,
        change: columns.channel_change()?,
    })
}

fn unknown_kind(kind: i32) -> StoreError {
    StoreError::Database(format!("unknown change kind {kind} in the log"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists_round_trip_and_reject_garbage() {
        assert_eq!(join_ids(&[3, -1, 7]), "3,-1,7");
        assert_eq!(split_ids("3,-1,7").unwrap(), [3, -1, 7]);
        assert_eq!(split_ids("").unwrap(), Vec::<i64>::new());
        assert!(split_ids("1,x").is_err());
    }

    #[test]
    fn every_change_survives_its_columns() {
        let changes = [
            Change::NewMessage { id: 5 },
            Change::EditMessage { id: 6 },
            Change::DeleteMessages { ids: vec![1, 2] },
            Change::ReadInbox {
                peer: 100_001,
                max_id: 9,
            },
            Change::ReadOutbox {
                peer: 100_002,
                max_id: 10,
            },
            Change::Pin {
                peer: 100_003,
                ids: vec![4, 7],
                pinned: true,
            },
            Change::Pin {
                peer: 100_003,
                ids: vec![7],
                pinned: false,
            },
            Change::BotCallbackQuery { query_id: i64::MIN },
        ];
        for change in changes {
            assert_eq!(LogColumns::of(&change).change().unwrap(), change);
        }
        for change in [
            ChannelChange::NewMessage { id: 3 },
            ChannelChange::DeleteMessages { ids: vec![4] },
        ] {
            assert_eq!(
                LogColumns::of_channel(&change).channel_change().unwrap(),
                change
            );
        }
        let unknown = LogColumns {
            kind: 99,
            ..LogColumns::default()
        };
        assert!(unknown.clone().change().is_err());
        assert!(unknown.channel_change().is_err());
    }
}
