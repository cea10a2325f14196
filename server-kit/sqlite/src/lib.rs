//! The embedded store: SQLite (compiled in), one connection behind a mutex, WAL journal.
//! `synchronous=NORMAL` in WAL mode keeps every committed transaction across a process kill
//! (kill -9); only a power loss may drop the last ones.

mod bots;
mod callbacks;
mod channels;
mod chats;
mod contacts;
mod devices;
mod drafts;
mod passwords;
mod photos;
mod pinned_dialogs;
mod profile_photos;
mod reactions;
mod scheduled;
mod search;
mod secret_chats;

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use server_kit_store::chats::peer_chat;
use server_kit_store::rows::{
    self, KEY_COLUMNS, LOG_COLUMNS, LogColumns, MESSAGE_COLUMNS, USER_COLUMNS, join_ids,
};
use server_kit_store::*;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS auth_keys(
    id INTEGER PRIMARY KEY, key BLOB NOT NULL, user_id INTEGER, layer INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL, api_id INTEGER NOT NULL DEFAULT 0,
    device_model TEXT NOT NULL DEFAULT '', system_version TEXT NOT NULL DEFAULT '',
    app_version TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS login_codes(
    phone TEXT PRIMARY KEY, hash TEXT NOT NULL, code TEXT NOT NULL, expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL, verified INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS users(
    id INTEGER PRIMARY KEY, access_hash INTEGER NOT NULL, phone TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL, last_name TEXT NOT NULL, username TEXT UNIQUE COLLATE NOCASE,
    about TEXT NOT NULL DEFAULT '', pts INTEGER NOT NULL DEFAULT 0,
    next_msg_id INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS contacts(
    owner INTEGER NOT NULL, user_id INTEGER NOT NULL, first_name TEXT NOT NULL,
    last_name TEXT NOT NULL, PRIMARY KEY(owner, user_id));
CREATE TABLE IF NOT EXISTS messages(
    owner INTEGER NOT NULL, id INTEGER NOT NULL, peer INTEGER NOT NULL, out INTEGER NOT NULL,
    from_id INTEGER NOT NULL, text TEXT NOT NULL, date INTEGER NOT NULL, edit_date INTEGER,
    random_id INTEGER, copy_id INTEGER, media_kind INTEGER NOT NULL DEFAULT 0,
    media_id INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(owner, id));
CREATE TABLE IF NOT EXISTS documents(
    id INTEGER PRIMARY KEY, access_hash INTEGER NOT NULL, file_reference BLOB NOT NULL,
    content TEXT NOT NULL, size INTEGER NOT NULL, mime_type TEXT NOT NULL,
    file_name TEXT NOT NULL, date INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS messages_by_peer ON messages(owner, peer, id);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_random_id ON messages(owner, random_id)
    WHERE random_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS dialogs(
    owner INTEGER NOT NULL, peer INTEGER NOT NULL, top_message INTEGER NOT NULL,
    top_date INTEGER NOT NULL, read_inbox_max_id INTEGER NOT NULL DEFAULT 0,
    read_outbox_max_id INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(owner, peer));
CREATE TABLE IF NOT EXISTS changes(
    owner INTEGER NOT NULL, pts INTEGER NOT NULL, pts_count INTEGER NOT NULL,
    date INTEGER NOT NULL, kind INTEGER NOT NULL, peer INTEGER NOT NULL, value INTEGER NOT NULL,
    ids TEXT NOT NULL, PRIMARY KEY(owner, pts));
";

/// Columns added after the first release, created on open when an older file lacks them.
const MIGRATIONS: &[(&str, &str, &str)] = &[
    // The id of the other side's copy of a private message (NULL: a chat with oneself, or a
    // row written before the column existed, found by sender, date and text instead).
    ("messages", "copy_id", "INTEGER"),
    // Attached media: kind (0 none, 1 document) and id.
    ("messages", "media_kind", "INTEGER NOT NULL DEFAULT 0"),
    ("messages", "media_id", "INTEGER NOT NULL DEFAULT 0"),
    // Set for a bot account (store::bots), NULL for a person.
    ("users", "bot_info_version", "INTEGER"),
    // Whether a login code was entered right (store::LoginCode::verified).
    ("login_codes", "verified", "INTEGER NOT NULL DEFAULT 0"),
    // Replies and forwards (store::Extras), in private chats and channels: the replied id,
    // and the forward's origin as store::Forward::to_columns keeps it.
    ("messages", "reply_to", "INTEGER"),
    ("messages", "fwd_kind", "INTEGER NOT NULL DEFAULT 0"),
    ("messages", "fwd_id", "INTEGER NOT NULL DEFAULT 0"),
    ("messages", "fwd_post", "INTEGER NOT NULL DEFAULT 0"),
    ("messages", "fwd_date", "INTEGER NOT NULL DEFAULT 0"),
    ("channel_messages", "reply_to", "INTEGER"),
    ("channel_messages", "fwd_kind", "INTEGER NOT NULL DEFAULT 0"),
    ("channel_messages", "fwd_id", "INTEGER NOT NULL DEFAULT 0"),
    ("channel_messages", "fwd_post", "INTEGER NOT NULL DEFAULT 0"),
    ("channel_messages", "fwd_date", "INTEGER NOT NULL DEFAULT 0"),
    // When the user was last seen online (store::User::last_seen).
    ("users", "last_seen", "INTEGER NOT NULL DEFAULT 0"),
    // Pinned in the owner's chat (store::Message::pinned).
    ("messages", "pinned", "INTEGER NOT NULL DEFAULT 0"),
    // Service messages of basic groups (store::ServiceAction::to_columns): the kind (0: an
    // ordinary message) and the ids it names.
    ("messages", "action_kind", "INTEGER NOT NULL DEFAULT 0"),
    ("messages", "action_ids", "TEXT NOT NULL DEFAULT ''"),
    // Pinned posts and service posts in channels (store::channels::ChannelMessage).
    ("channel_messages", "pinned", "INTEGER NOT NULL DEFAULT 0"),
    (
        "channel_messages",
        "action_kind",
        "INTEGER NOT NULL DEFAULT 0",
    ),
    ("channel_messages", "action_ids", "TEXT NOT NULL DEFAULT ''"),
    // The head of the user's profile photos (store::User::photo).
    ("users", "photo_id", "INTEGER"),
    // Who sees the user's status (store::Visibility::code).
    ("users", "status_privacy", "INTEGER NOT NULL DEFAULT 0"),
    // The text's entities and a bot's keyboard (store::Extras), empty when none.
    ("messages", "entities", "BLOB NOT NULL DEFAULT x''"),
    ("messages", "reply_markup", "BLOB NOT NULL DEFAULT x''"),
];

fn media_columns(media: Option<MediaRef>) -> (i64, i64) {
    MediaRef::to_columns(media)
}

/// The first user id handed out.
pub(crate) const FIRST_USER_ID: i64 = 100_000;

pub(crate) fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

/// Maps a uniqueness violation to [`StoreError::Taken`], anything else to a database error.
pub(crate) fn taken(e: rusqlite::Error, what: &'static str) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Taken { what }
        }
        other => db(other),
    }
}

/// The SQLite store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::setup(Connection::open(path).map_err(db)?)
    }

    /// A database in memory (tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::setup(Connection::open_in_memory().map_err(db)?)
    }

    fn setup(conn: Connection) -> Result<Self, StoreError> {
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        )
        .map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        conn.execute_batch(channels::SQLITE_SCHEMA).map_err(db)?;
        conn.execute_batch(chats::SQLITE_SCHEMA).map_err(db)?;
        conn.execute_batch(drafts::SQLITE_SCHEMA).map_err(db)?;
        conn.execute_batch(scheduled::SQLITE_SCHEMA).map_err(db)?;
        conn.execute_batch(pinned_dialogs::SQLITE_SCHEMA)
            .map_err(db)?;
        conn.execute_batch(photos::SQLITE_SCHEMA).map_err(db)?;
        conn.execute_batch(profile_photos::SQLITE_SCHEMA)
            .map_err(db)?;
        conn.execute_batch(devices::SQLITE_SCHEMA).map_err(db)?;
        conn.execute_batch(passwords::SQLITE_SCHEMA).map_err(db)?;
        contacts::setup(&conn)?;
        for (table, column, ty) in MIGRATIONS {
            let present: bool = conn
                .query_row(
                    &format!("SELECT count(*) FROM pragma_table_info('{table}') WHERE name = ?1"),
                    [column],
                    |r| r.get::<_, i64>(0),
                )
                .map_err(db)?
                > 0;
            if !present {
                conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {ty}"))
                    .map_err(db)?;
            }
        }
        conn.execute_batch(bots::SQLITE_SCHEMA).map_err(db)?;
        conn.execute_batch(callbacks::SQLITE_SCHEMA).map_err(db)?;
        search::setup(&conn)?;
        conn.execute_batch(reactions::SQLITE_SCHEMA).map_err(db)?;
        conn.execute_batch(secret_chats::SQLITE_SCHEMA)
            .map_err(db)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn
            .lock()
            .map_err(|_| StoreError::Database("connection lock poisoned".into()))
    }

    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        f(&mut *self.lock()?).map_err(db)
    }

    /// Like [`with`](Self::with), for reads that map their own errors.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        f(&*self.lock()?)
    }

    pub(crate) fn tx<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction().map_err(db)?;
        let out = f(&tx)?;
        tx.commit().map_err(db)?;
        Ok(out)
    }
}

/// A rusqlite row as the shared row mapping ([`rows`]) reads it.
pub(crate) struct SqlRow<'a, 'b>(pub(crate) &'a Row<'b>);

fn column<T: rusqlite::types::FromSql>(r: &Row<'_>, at: usize) -> Result<T, StoreError> {
    r.get(at).map_err(db)
}

impl rows::Row for SqlRow<'_, '_> {
    fn opt_int(&self, at: usize) -> Result<Option<i64>, StoreError> {
        column(self.0, at)
    }
    fn opt_flag(&self, at: usize) -> Result<Option<bool>, StoreError> {
        column(self.0, at)
    }
    fn opt_text(&self, at: usize) -> Result<Option<String>, StoreError> {
        column(self.0, at)
    }
    fn bytes(&self, at: usize) -> Result<Vec<u8>, StoreError> {
        column(self.0, at)
    }
    fn ints(&self, at: usize) -> Result<Vec<i64>, StoreError> {
        rows::split_ids(&column::<String>(self.0, at)?)
    }
}

/// The shared mapping `f` (from column 0) as a rusqlite row closure's result.
pub(crate) fn via<T>(
    r: &Row<'_>,
    f: fn(&dyn rows::Row, usize) -> Result<T, StoreError>,
) -> rusqlite::Result<T> {
    via_at(r, f, 0)
}

/// [`via`] from column `at`.
pub(crate) fn via_at<T>(
    r: &Row<'_>,
    f: fn(&dyn rows::Row, usize) -> Result<T, StoreError>,
    at: usize,
) -> rusqlite::Result<T> {
    f(&SqlRow(r), at).map_err(|e| wrap(at, e))
}

/// A mapping failure at column `at`, as the error a rusqlite row closure returns.
pub(crate) fn wrap(at: usize, e: StoreError) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(at, rusqlite::types::Type::Null, Box::new(e))
}

fn key_from_row(r: &Row<'_>) -> rusqlite::Result<StoredKey> {
    via(r, rows::key_at)
}

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    via(r, rows::user_at)
}

pub(crate) fn message_from_row(r: &Row<'_>) -> rusqlite::Result<Message> {
    via(r, rows::message_at)
}

fn get_user(tx: &Connection, id: i64) -> Result<Option<User>, StoreError> {
    tx.query_row(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
        [id],
        user_from_row,
    )
    .optional()
    .map_err(db)
}

fn get_message(tx: &Connection, owner: i64, id: i32) -> Result<Option<Message>, StoreError> {
    tx.query_row(
        &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE owner = ?1 AND id = ?2"),
        params![owner, id],
        message_from_row,
    )
    .optional()
    .map_err(db)
}

/// Appends a change to `owner`'s log, taking the next `pts_count` pts.
pub(crate) fn log_change(
    tx: &Transaction<'_>,
    owner: i64,
    pts_count: i32,
    date: i32,
    change: Change,
    message: Option<Message>,
) -> Result<Committed, StoreError> {
    let pts: i32 = tx
        .query_row(
            "UPDATE users SET pts = pts + ?2 WHERE id = ?1 RETURNING pts",
            params![owner, pts_count],
            |r| r.get(0),
        )
        .map_err(db)?;
    let LogColumns {
        kind,
        peer,
        value,
        ids,
    } = LogColumns::of(&change);
    let ids = join_ids(&ids);
    tx.execute(
        "INSERT INTO changes(owner, pts, pts_count, date, kind, peer, value, ids)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![owner, pts, pts_count, date, kind, peer, value, ids],
    )
    .map_err(db)?;
    Ok(Committed {
        user_id: owner,
        entry: LoggedChange {
            pts,
            pts_count,
            date,
            change,
        },
        message,
    })
}

/// Writes one copy of a message into `owner`'s box and updates the dialog; `extras.reply_to`
/// is already an id of this box.
#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_message(
    tx: &Transaction<'_>,
    owner: i64,
    peer: i64,
    out: bool,
    from_id: i64,
    text: &str,
    date: i32,
    random_id: Option<i64>,
    extras: Extras,
) -> Result<Message, StoreError> {
    let id: i32 = tx
        .query_row(
            "UPDATE users SET next_msg_id = next_msg_id + 1 WHERE id = ?1 RETURNING next_msg_id - 1",
            [owner],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?
        .ok_or(StoreError::NotFound { what: "user" })?;
    let (media_kind, media_id) = media_columns(extras.media);
    let (fwd_kind, fwd_id, fwd_post, fwd_date) = Forward::to_columns(extras.forward);
    tx.execute(
        "INSERT INTO messages(owner, id, peer, out, from_id, text, date, random_id, media_kind,
                              media_id, reply_to, fwd_kind, fwd_id, fwd_post, fwd_date,
                              entities, reply_markup)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        params![
            owner,
            id,
            peer,
            out,
            from_id,
            text,
            date,
            random_id,
            media_kind,
            media_id,
            extras.reply_to,
            fwd_kind,
            fwd_id,
            fwd_post,
            fwd_date,
            rows::blob_column(&extras.entities),
            rows::blob_column(&extras.reply_markup)
        ],
    )
    .map_err(db)?;
    tx.execute(
        "INSERT INTO dialogs(owner, peer, top_message, top_date) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(owner, peer) DO UPDATE SET top_message = ?3, top_date = ?4",
        params![owner, peer, id, date],
    )
    .map_err(db)?;
    Ok(Message {
        owner,
        id,
        peer,
        out,
        from_id,
        text: text.to_owned(),
        date,
        edit_date: None,
        random_id,
        media: extras.media,
        reply_to: extras.reply_to,
        forward: extras.forward,
        pinned: false,
        action: None,
        entities: extras.entities,
        reply_markup: extras.reply_markup,
    })
}

/// The owner's dialogs (`?1`) that `picked` (a condition over `?2`... with its `ORDER BY`
/// and `LIMIT`) selects, each with its top message and unread count.
fn dialog_rows(
    c: &Connection,
    owner: i64,
    picked: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<Dialog>, StoreError> {
    let mut stmt = c
        .prepare(&format!(
            "SELECT peer, top_message, read_inbox_max_id, read_outbox_max_id,
                (SELECT count(*) FROM messages m WHERE m.owner = d.owner AND m.peer = d.peer
                 AND m.out = 0 AND m.id > d.read_inbox_max_id)
             FROM dialogs d WHERE owner = ?1 AND {picked}"
        ))
        .map_err(db)?;
    let rows = stmt
        .query_map(params, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i32>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
            ))
        })
        .map_err(db)?;
    let mut out = Vec::new();
    for row in rows {
        let (peer, top, read_in, read_out, unread) = row.map_err(db)?;
        if let Some(top_message) = get_message(c, owner, top)? {
            out.push(Dialog {
                peer,
                top_message,
                read_inbox_max_id: read_in,
                read_outbox_max_id: read_out,
                unread_count: unread,
            });
        }
    }
    Ok(out)
}

/// Sets the pinned flag of `ids` in `owner`'s chat with `peer` and logs it (nothing when
/// `ids` is empty).
pub(crate) fn pin_in_box(
    tx: &Transaction<'_>,
    owner: i64,
    peer: i64,
    ids: &[i32],
    pinned: bool,
    date: i32,
) -> Result<Option<Committed>, StoreError> {
    if ids.is_empty() {
        return Ok(None);
    }
    for id in ids {
        tx.execute(
            "UPDATE messages SET pinned = ?3 WHERE owner = ?1 AND id = ?2",
            params![owner, id, pinned],
        )
        .map_err(db)?;
    }
    let change = Change::Pin {
        peer,
        ids: ids.to_vec(),
        pinned,
    };
    log_change(tx, owner, 1, date, change, None).map(Some)
}

/// Points the dialog at its newest remaining message, or removes it if none is left.
fn refresh_dialog(tx: &Transaction<'_>, owner: i64, peer: i64) -> Result<(), StoreError> {
    let top: Option<(i32, i32)> = tx
        .query_row(
            "SELECT id, date FROM messages WHERE owner = ?1 AND peer = ?2 ORDER BY id DESC LIMIT 1",
            params![owner, peer],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(db)?;
    match top {
        Some((id, date)) => tx.execute(
            "UPDATE dialogs SET top_message = ?3, top_date = ?4 WHERE owner = ?1 AND peer = ?2",
            params![owner, peer, id, date],
        ),
        None => tx.execute(
            "DELETE FROM dialogs WHERE owner = ?1 AND peer = ?2",
            params![owner, peer],
        ),
    }
    .map_err(db)?;
    Ok(())
}

/// The id of the other side's copy of `m` as recorded when it was sent (`None`: a chat with
/// oneself, or a row older than the `copy_id` column).
fn copy_link(c: &Connection, m: &Message) -> Result<Option<i32>, StoreError> {
    if m.peer == m.owner {
        return Ok(None);
    }
    c.query_row(
        "SELECT copy_id FROM messages WHERE owner = ?1 AND id = ?2",
        params![m.owner, m.id],
        |r| r.get::<_, Option<i32>>(0),
    )
    .optional()
    .map(Option::flatten)
    .map_err(db)
}

/// The other side's copy of `m` if it still exists in the peer's box.
fn copy_of(c: &Connection, m: &Message) -> Result<Option<i32>, StoreError> {
    if m.peer == m.owner {
        return Ok(None);
    }
    match copy_link(c, m)? {
        Some(id) => c
            .query_row(
                "SELECT id FROM messages WHERE owner = ?1 AND id = ?2 AND peer = ?3",
                params![m.peer, id, m.owner],
                |r| r.get(0),
            )
            .optional()
            .map_err(db),
        // Rows written before copies were linked: the unlinked copy with the same sender,
        // date and text.
        None => c
            .query_row(
                "SELECT id FROM messages WHERE owner = ?1 AND peer = ?2 AND out = ?3
                 AND from_id = ?4 AND date = ?5 AND text = ?6 AND copy_id IS NULL
                 ORDER BY id LIMIT 1",
                params![m.peer, m.owner, !m.out, m.from_id, m.date, m.text],
                |r| r.get(0),
            )
            .optional()
            .map_err(db),
    }
}

/// The other boxes' copies of `m`, as (owner, id): the peer's copy of a private message; for
/// a basic group's message sent by the owner, every other member's copy (the copies share the
/// sender and the sender's id, see `server_kit_store::chats`).
fn other_copies(c: &Connection, m: &Message) -> Result<Vec<(i64, i32)>, StoreError> {
    if peer_chat(m.peer).is_none() {
        return Ok(copy_of(c, m)?.map(|id| (m.peer, id)).into_iter().collect());
    }
    if m.from_id != m.owner {
        return Ok(Vec::new());
    }
    let mut stmt = c
        .prepare_cached(
            "SELECT owner, id FROM messages
             WHERE peer = ?1 AND from_id = ?2 AND copy_id = ?3 AND owner != ?2",
        )
        .map_err(db)?;
    let key = copy_link(c, m)?.unwrap_or(m.id);
    let copies = stmt
        .query_map(params![m.peer, m.owner, key], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(db)?
        .collect::<rusqlite::Result<Vec<(i64, i32)>>>()
        .map_err(db)?;
    Ok(copies)
}

/// The sender's copy and log entry of the message `from` sent before with `random_id`, if
/// any (a repeated send answers with it and writes nothing).
pub(crate) fn sent_before(
    tx: &Transaction<'_>,
    from: i64,
    random_id: i64,
) -> Result<Option<Committed>, StoreError> {
    let existing = tx
        .query_row(
            &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE owner = ?1 AND random_id = ?2"),
            params![from, random_id],
            message_from_row,
        )
        .optional()
        .map_err(db)?;
    let Some(message) = existing else {
        return Ok(None);
    };
    let entry = tx
        .query_row(
            "SELECT pts, pts_count, date FROM changes WHERE owner = ?1 AND kind = ?2 AND value = ?3",
            params![from, rows::kind::NEW, message.id],
            |r| {
                Ok(LoggedChange {
                    pts: r.get(0)?,
                    pts_count: r.get(1)?,
                    date: r.get(2)?,
                    change: Change::NewMessage { id: message.id },
                })
            },
        )
        .map_err(db)?;
    Ok(Some(Committed {
        user_id: from,
        entry,
        message: Some(message),
    }))
}

impl SqliteStore {
    /// Sends a message with optional media: both copies, log entries and dialogs in one
    /// transaction, idempotent on (`from`, `random_id`).
    fn send_extras(
        &self,
        from: i64,
        to: i64,
        text: &str,
        random_id: i64,
        date: i32,
        extras: Extras,
    ) -> Result<Sent, StoreError> {
        self.tx(|tx| {
            if let Some(own) = sent_before(tx, from, random_id)? {
                // Already sent: answer as before, from the log entry it made.
                return Ok(Sent {
                    own,
                    peer: None,
                    duplicate: true,
                });
            }
            // The replied message, in the sender's box: kept only if it is in this chat; the
            // recipient's copy replies to the recipient's copy of it.
            let replied: Option<(i32, Option<i32>)> = match extras.reply_to {
                Some(id) => tx
                    .query_row(
                        "SELECT id, copy_id FROM messages WHERE owner = ?1 AND id = ?2 AND peer = ?3",
                        params![from, id, to],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .map_err(db)?,
                None => None,
            };
            let own_extras = Extras {
                reply_to: replied.map(|(id, _)| id),
                ..extras.clone()
            };
            let sent =
                insert_message(tx, from, to, true, from, text, date, Some(random_id), own_extras)?;
            let copy = if to != from {
                let copy_extras = Extras {
                    reply_to: replied.and_then(|(_, copy)| copy),
                    ..extras
                };
                let copy =
                    insert_message(tx, to, from, false, from, text, date, None, copy_extras)?;
                // Link the two copies, so edits, deletions and read receipts find each other.
                for (owner, id, other) in [(from, sent.id, copy.id), (to, copy.id, sent.id)] {
                    tx.execute(
                        "UPDATE messages SET copy_id = ?3 WHERE owner = ?1 AND id = ?2",
                        params![owner, id, other],
                    )
                    .map_err(db)?;
                }
                Some(copy)
            } else {
                None
            };
            let new = |m: &Message| Change::NewMessage { id: m.id };
            let own = log_change(tx, from, 1, date, new(&sent), Some(sent))?;
            let peer = copy
                .map(|copy| log_change(tx, to, 1, date, new(&copy), Some(copy)))
                .transpose()?;
            Ok(Sent {
                own,
                peer,
                duplicate: false,
            })
        })
    }
}

impl PrivacyStore for SqliteStore {
    fn set_status_visibility(&self, user: i64, visibility: Visibility) -> Result<(), StoreError> {
        let changed = self.with(|c| {
            c.execute(
                "UPDATE users SET status_privacy = ?2 WHERE id = ?1",
                params![user, visibility.code()],
            )
        })?;
        if changed == 0 {
            return Err(StoreError::NotFound { what: "user" });
        }
        Ok(())
    }
}

impl Store for SqliteStore {
    fn auth_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare(&format!("SELECT {KEY_COLUMNS} FROM auth_keys"))?;
            let rows = stmt.query_map([], key_from_row)?;
            rows.collect()
        })
    }

    fn auth_key(&self, id: i64) -> Result<Option<StoredKey>, StoreError> {
        self.with(|c| {
            c.prepare_cached(&format!(
                "SELECT {KEY_COLUMNS} FROM auth_keys WHERE id = ?1"
            ))?
            .query_row([id], key_from_row)
            .optional()
        })
    }

    fn insert_auth_key(&self, id: i64, key: &[u8], now: i64) -> Result<(), StoreError> {
        self.lock()?
            .execute(
                "INSERT INTO auth_keys(id, key, created) VALUES (?1, ?2, ?3)",
                params![id, key, now],
            )
            .map_err(|e| taken(e, "auth key id"))?;
        Ok(())
    }

    fn set_key_user(&self, id: i64, user_id: Option<i64>) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE auth_keys SET user_id = ?2 WHERE id = ?1",
                params![id, user_id],
            )
        })
        .map(|_| ())
    }

    fn set_key_client(&self, id: i64, layer: i32, client: &ClientInfo) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE auth_keys SET layer = ?2, api_id = ?3, device_model = ?4,
                        system_version = ?5, app_version = ?6 WHERE id = ?1",
                params![
                    id,
                    layer,
                    client.api_id,
                    client.device_model,
                    client.system_version,
                    client.app_version
                ],
            )
        })
        .map(|_| ())
    }

    fn delete_auth_key(&self, id: i64) -> Result<(), StoreError> {
        self.with(|c| c.execute("DELETE FROM auth_keys WHERE id = ?1", [id]))
            .map(|_| ())
    }

    fn put_login_code(&self, code: &LoginCode) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO login_codes(phone, hash, code, expires_at, attempts, verified)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    code.phone,
                    code.hash,
                    code.code,
                    code.expires_at,
                    code.attempts,
                    code.verified
                ],
            )
        })
        .map(|_| ())
    }

    fn login_code(&self, phone: &str) -> Result<Option<LoginCode>, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT phone, hash, code, expires_at, attempts, verified FROM login_codes
                 WHERE phone = ?1",
                [phone],
                |r| {
                    Ok(LoginCode {
                        phone: r.get(0)?,
                        hash: r.get(1)?,
                        code: r.get(2)?,
                        expires_at: r.get(3)?,
                        attempts: r.get(4)?,
                        verified: r.get(5)?,
                    })
                },
            )
            .optional()
        })
    }

    fn bump_login_attempts(&self, phone: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE login_codes SET attempts = attempts + 1 WHERE phone = ?1",
                [phone],
            )
        })
        .map(|_| ())
    }

    fn delete_login_code(&self, phone: &str) -> Result<(), StoreError> {
        self.with(|c| c.execute("DELETE FROM login_codes WHERE phone = ?1", [phone]))
            .map(|_| ())
    }

    fn create_user(
        &self,
        phone: &str,
        first_name: &str,
        last_name: &str,
        access_hash: i64,
    ) -> Result<User, StoreError> {
        self.tx(|tx| {
            let id: i64 = tx
                .query_row(
                    "SELECT coalesce(max(id) + 1, ?1) FROM users",
                    [FIRST_USER_ID],
                    |r| r.get(0),
                )
                .map_err(db)?;
            tx.execute(
                "INSERT INTO users(id, access_hash, phone, first_name, last_name)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, access_hash, phone, first_name, last_name],
            )
            .map_err(|e| taken(e, "phone"))?;
            get_user(tx, id)?.ok_or(StoreError::NotFound { what: "user" })
        })
    }

    fn user(&self, id: i64) -> Result<Option<User>, StoreError> {
        self.with(|c| Ok(get_user(c, id)))?
    }

    fn user_by_phone(&self, phone: &str) -> Result<Option<User>, StoreError> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE phone = ?1"),
                [phone],
                user_from_row,
            )
            .optional()
        })
    }

    fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1"),
                [username],
                user_from_row,
            )
            .optional()
        })
    }

    fn update_profile(
        &self,
        id: i64,
        first_name: Option<&str>,
        last_name: Option<&str>,
        about: Option<&str>,
    ) -> Result<User, StoreError> {
        self.tx(|tx| {
            tx.execute(
                "UPDATE users SET first_name = coalesce(?2, first_name),
                        last_name = coalesce(?3, last_name), about = coalesce(?4, about)
                 WHERE id = ?1",
                params![id, first_name, last_name, about],
            )
            .map_err(db)?;
            get_user(tx, id)?.ok_or(StoreError::NotFound { what: "user" })
        })
    }

    fn set_username(&self, id: i64, username: Option<&str>) -> Result<User, StoreError> {
        self.tx(|tx| {
            tx.execute(
                "UPDATE users SET username = ?2 WHERE id = ?1",
                params![id, username],
            )
            .map_err(|e| taken(e, "username"))?;
            get_user(tx, id)?.ok_or(StoreError::NotFound { what: "user" })
        })
    }

    fn add_contact(
        &self,
        owner: i64,
        user_id: i64,
        first_name: &str,
        last_name: &str,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO contacts(owner, user_id, first_name, last_name)
                 VALUES (?1, ?2, ?3, ?4)",
                params![owner, user_id, first_name, last_name],
            )
        })
        .map(|_| ())
    }

    fn set_last_seen(&self, id: i64, date: i32) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE users SET last_seen = ?2 WHERE id = ?1 AND last_seen < ?2",
                params![id, date],
            )
            .map(drop)
        })
    }

    fn status_watchers(&self, id: i64) -> Result<Vec<i64>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT owner FROM contacts WHERE user_id = ?1 AND owner != ?1
                 UNION SELECT owner FROM dialogs WHERE peer = ?1 AND owner != ?1
                 ORDER BY 1",
            )?;
            let rows = stmt.query_map([id], |r| r.get(0))?;
            rows.collect()
        })
    }

    fn contacts(&self, owner: i64) -> Result<Vec<i64>, StoreError> {
        self.with(|c| {
            let mut stmt =
                c.prepare("SELECT user_id FROM contacts WHERE owner = ?1 ORDER BY user_id")?;
            let rows = stmt.query_map([owner], |r| r.get(0))?;
            rows.collect()
        })
    }

    fn send(
        &self,
        from: i64,
        to: i64,
        text: &str,
        random_id: i64,
        date: i32,
        extras: Extras,
    ) -> Result<Sent, StoreError> {
        self.send_extras(from, to, text, random_id, date, extras)
    }

    fn insert_document(&self, d: &Document) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO documents(id, access_hash, file_reference, content, size, mime_type,
                                       file_name, date)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    d.id,
                    d.access_hash,
                    d.file_reference,
                    d.content,
                    d.size,
                    d.mime_type,
                    d.file_name,
                    d.date
                ],
            )
        })
        .map(|_| ())
    }

    fn document(&self, id: i64) -> Result<Option<Document>, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT id, access_hash, file_reference, content, size, mime_type, file_name, date
                 FROM documents WHERE id = ?1",
                [id],
                |r| {
                    Ok(Document {
                        id: r.get(0)?,
                        access_hash: r.get(1)?,
                        file_reference: r.get(2)?,
                        content: r.get(3)?,
                        size: r.get(4)?,
                        mime_type: r.get(5)?,
                        file_name: r.get(6)?,
                        date: r.get(7)?,
                    })
                },
            )
            .optional()
        })
    }

    fn edit(
        &self,
        owner: i64,
        id: i32,
        edit: &MessageEdit,
        date: i32,
    ) -> Result<Vec<Committed>, StoreError> {
        self.tx(|tx| {
            let message = get_message(tx, owner, id)?
                .filter(|m| m.out)
                .ok_or(StoreError::NotFound { what: "message" })?;
            // Found before the text changes (rows older than the link match on it).
            let copies = other_copies(tx, &message)?;
            let mut out = Vec::new();
            for (box_owner, id) in std::iter::once((owner, id)).chain(copies) {
                tx.execute(
                    "UPDATE messages SET text = coalesce(?3, text),
                         entities = CASE WHEN ?3 IS NULL THEN entities ELSE ?4 END,
                         reply_markup = ?5, edit_date = ?6
                     WHERE owner = ?1 AND id = ?2",
                    params![
                        box_owner,
                        id,
                        edit.text,
                        rows::blob_column(&edit.entities),
                        rows::blob_column(&edit.reply_markup),
                        date
                    ],
                )
                .map_err(db)?;
                let edited = get_message(tx, box_owner, id)?;
                out.push(log_change(
                    tx,
                    box_owner,
                    1,
                    date,
                    Change::EditMessage { id },
                    edited,
                )?);
            }
            Ok(out)
        })
    }

    fn delete_messages(
        &self,
        owner: i64,
        ids: &[i32],
        revoke: bool,
        date: i32,
    ) -> Result<Vec<Committed>, StoreError> {
        self.tx(|tx| {
            let mut found: Vec<Message> = Vec::new();
            for id in ids {
                if found.iter().any(|m| m.id == *id) {
                    continue;
                }
                if let Some(m) = get_message(tx, owner, *id)? {
                    found.push(m);
                }
            }
            if found.is_empty() {
                return Ok(Vec::new());
            }
            // The peer's copies first (found through the owner's rows), each deleted as soon
            // as it is found so that equal unlinked twins are not matched twice.
            // Keyed by the copy's box and the chat it is in there.
            let mut copies = std::collections::BTreeMap::<(i64, i64), Vec<i32>>::new();
            if revoke {
                for m in &found {
                    for (copy_owner, copy) in other_copies(tx, m)? {
                        tx.execute(
                            "DELETE FROM messages WHERE owner = ?1 AND id = ?2",
                            params![copy_owner, copy],
                        )
                        .map_err(db)?;
                        let chat = if peer_chat(m.peer).is_some() {
                            m.peer
                        } else {
                            owner
                        };
                        copies.entry((copy_owner, chat)).or_default().push(copy);
                    }
                }
            }
            for m in &found {
                tx.execute(
                    "DELETE FROM messages WHERE owner = ?1 AND id = ?2",
                    params![owner, m.id],
                )
                .map_err(db)?;
            }
            let mut chats: Vec<i64> = found.iter().map(|m| m.peer).collect();
            chats.sort_unstable();
            chats.dedup();
            for peer in chats {
                refresh_dialog(tx, owner, peer)?;
            }
            let deleted: Vec<i32> = found.iter().map(|m| m.id).collect();
            let mut out = vec![log_change(
                tx,
                owner,
                deleted.len() as i32,
                date,
                Change::DeleteMessages { ids: deleted },
                None,
            )?];
            for ((peer, chat), ids) in copies {
                refresh_dialog(tx, peer, chat)?;
                out.push(log_change(
                    tx,
                    peer,
                    ids.len() as i32,
                    date,
                    Change::DeleteMessages { ids },
                    None,
                )?);
            }
            Ok(out)
        })
    }

    fn read_history(
        &self,
        owner: i64,
        peer: i64,
        max_id: i32,
        date: i32,
    ) -> Result<Vec<Committed>, StoreError> {
        self.tx(|tx| {
            let newest_incoming: i32 = tx
                .query_row(
                    "SELECT coalesce(max(id), 0) FROM messages
                     WHERE owner = ?1 AND peer = ?2 AND out = 0 AND (?3 = 0 OR id <= ?3)",
                    params![owner, peer, max_id],
                    |r| r.get(0),
                )
                .map_err(db)?;
            let current: Option<i32> = tx
                .query_row(
                    "SELECT read_inbox_max_id FROM dialogs WHERE owner = ?1 AND peer = ?2",
                    params![owner, peer],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?;
            let Some(current) = current else {
                return Ok(Vec::new());
            };
            if newest_incoming <= current {
                return Ok(Vec::new());
            }
            tx.execute(
                "UPDATE dialogs SET read_inbox_max_id = ?3 WHERE owner = ?1 AND peer = ?2",
                params![owner, peer, newest_incoming],
            )
            .map_err(db)?;
            let mut out = vec![log_change(
                tx,
                owner,
                1,
                date,
                Change::ReadInbox {
                    peer,
                    max_id: newest_incoming,
                },
                None,
            )?];
            if peer_chat(peer).is_some() {
                // A basic group: each sender of what was read here sees their messages read
                // up to the newest of them (the key of a chat copy is the sender's id).
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT from_id, max(copy_id) FROM messages
                         WHERE owner = ?1 AND peer = ?2 AND out = 0 AND id > ?3 AND id <= ?4
                         GROUP BY from_id ORDER BY from_id",
                    )
                    .map_err(db)?;
                let senders = stmt
                    .query_map(params![owner, peer, current, newest_incoming], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i32>>(1)?))
                    })
                    .map_err(db)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(db)?;
                for (sender, max_id) in senders {
                    let Some(max_id) = max_id else { continue };
                    let updated = tx
                        .execute(
                            "UPDATE dialogs SET read_outbox_max_id = ?3
                             WHERE owner = ?1 AND peer = ?2 AND read_outbox_max_id < ?3",
                            params![sender, peer, max_id],
                        )
                        .map_err(db)?;
                    if updated > 0 {
                        let change = Change::ReadOutbox { peer, max_id };
                        out.push(log_change(tx, sender, 1, date, change, None)?);
                    }
                }
            } else if peer != owner {
                // The peer's outgoing messages up to its copy of the last one read here.
                let read = get_message(tx, owner, newest_incoming)?
                    .ok_or(StoreError::NotFound { what: "message" })?;
                let outbox_max: i32 = match copy_link(tx, &read)? {
                    Some(id) => id,
                    // Rows older than the link: the peer's messages sent up to that date.
                    None => tx
                        .query_row(
                            "SELECT coalesce(max(id), 0) FROM messages
                             WHERE owner = ?1 AND peer = ?2 AND out = 1 AND date <= ?3",
                            params![peer, owner, read.date],
                            |r| r.get(0),
                        )
                        .map_err(db)?,
                };
                let updated = tx
                    .execute(
                        "UPDATE dialogs SET read_outbox_max_id = ?3
                         WHERE owner = ?1 AND peer = ?2 AND read_outbox_max_id < ?3",
                        params![peer, owner, outbox_max],
                    )
                    .map_err(db)?;
                if updated > 0 {
                    out.push(log_change(
                        tx,
                        peer,
                        1,
                        date,
                        Change::ReadOutbox {
                            peer: owner,
                            max_id: outbox_max,
                        },
                        None,
                    )?);
                }
            }
            Ok(out)
        })
    }

    fn set_pinned(
        &self,
        owner: i64,
        peer: i64,
        ids: Option<&[i32]>,
        pinned: bool,
        both_sides: bool,
        date: i32,
    ) -> Result<Vec<Committed>, StoreError> {
        self.tx(|tx| {
            // The owner's messages named (all of the chat's pinned ones without ids), with the
            // ids of their copies in the peer's box.
            let named: Vec<(i32, Option<i32>, bool)> = {
                let mut stmt = tx
                    .prepare(
                        "SELECT id, copy_id, pinned FROM messages WHERE owner = ?1 AND peer = ?2
                         AND (?3 IS NULL OR id IN (SELECT value FROM json_each(?3)))
                         AND (?3 IS NOT NULL OR pinned)
                         ORDER BY id",
                    )
                    .map_err(db)?;
                let wanted = ids.map(|ids| format!("[{}]", join_ids(ids)));
                let rows = stmt
                    .query_map(params![owner, peer, wanted], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .map_err(db)?;
                rows.collect::<rusqlite::Result<_>>().map_err(db)?
            };
            if ids.is_some() && named.is_empty() {
                return Err(StoreError::NotFound { what: "message" });
            }
            let mut committed = Vec::new();
            let own: Vec<i32> = named
                .iter()
                .filter(|(_, _, was)| *was != pinned)
                .map(|(id, _, _)| *id)
                .collect();
            if let Some(entry) = pin_in_box(tx, owner, peer, &own, pinned, date)? {
                committed.push(entry);
            }
            if both_sides && peer != owner {
                let copies: Vec<i32> = match ids {
                    Some(_) => named.iter().filter_map(|(_, copy, _)| *copy).collect(),
                    None => {
                        let mut stmt = tx
                            .prepare(
                                "SELECT id FROM messages WHERE owner = ?1 AND peer = ?2 AND pinned
                                 ORDER BY id",
                            )
                            .map_err(db)?;
                        let rows = stmt
                            .query_map(params![peer, owner], |r| r.get(0))
                            .map_err(db)?;
                        rows.collect::<rusqlite::Result<_>>().map_err(db)?
                    }
                };
                let mut changed = Vec::new();
                for id in copies {
                    let was: Option<bool> = tx
                        .query_row(
                            "SELECT pinned FROM messages WHERE owner = ?1 AND id = ?2 AND peer = ?3",
                            params![peer, id, owner],
                            |r| r.get(0),
                        )
                        .optional()
                        .map_err(db)?;
                    if was.is_some_and(|was| was != pinned) {
                        changed.push(id);
                    }
                }
                if let Some(entry) = pin_in_box(tx, peer, owner, &changed, pinned, date)? {
                    committed.push(entry);
                }
            }
            Ok(committed)
        })
    }

    fn pinned(&self, owner: i64, peer: i64) -> Result<Vec<i32>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT id FROM messages WHERE owner = ?1 AND peer = ?2 AND pinned ORDER BY id DESC",
            )?;
            let rows = stmt.query_map(params![owner, peer], |r| r.get(0))?;
            rows.collect()
        })
    }

    fn history(
        &self,
        owner: i64,
        peer: i64,
        q: HistoryQuery,
    ) -> Result<(Vec<Message>, i32), StoreError> {
        self.with(|c| {
            let count: i32 = c.query_row(
                "SELECT count(*) FROM messages WHERE owner = ?1 AND peer = ?2",
                params![owner, peer],
                |r| r.get(0),
            )?;
            // Telegram's pagination: see HistoryQuery::window.
            let newer: i64 = c.query_row(
                "SELECT count(*) FROM messages WHERE owner = ?1 AND peer = ?2
                 AND NOT (id < ?3 AND date < ?4)",
                params![owner, peer, q.below_id(), q.below_date()],
                |r| r.get(0),
            )?;
            let Some((skip, take)) = q.window(newer) else {
                return Ok((Vec::new(), count));
            };
            let mut stmt = c.prepare(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE owner = ?1 AND peer = ?2
                 ORDER BY id DESC LIMIT ?3 OFFSET ?4"
            ))?;
            let rows = stmt.query_map(params![owner, peer, take, skip], message_from_row)?;
            let mut out = Vec::new();
            for row in rows {
                let m = row?;
                if q.keeps(m.id) {
                    out.push(m);
                }
            }
            Ok((out, count))
        })
    }

    fn messages(&self, owner: i64, ids: &[i32]) -> Result<Vec<Message>, StoreError> {
        self.read(|c| {
            let mut out = Vec::new();
            for id in ids {
                out.extend(get_message(c, owner, *id)?);
            }
            Ok(out)
        })
    }

    fn dialogs(
        &self,
        owner: i64,
        offset: Option<DialogPosition>,
        limit: i32,
    ) -> Result<(Vec<Dialog>, i32), StoreError> {
        self.read(|c| {
            let count: i32 = c
                .query_row(
                    "SELECT count(*) FROM dialogs WHERE owner = ?1",
                    [owner],
                    |r| r.get(0),
                )
                .map_err(db)?;
            let upper = offset.unwrap_or(DialogPosition {
                date: i32::MAX,
                id: i32::MAX,
            });
            let out = dialog_rows(
                c,
                owner,
                "(top_date, top_message) < (?2, ?3) ORDER BY top_date DESC, top_message DESC
                 LIMIT ?4",
                params![owner, upper.date, upper.id, limit.clamp(1, 100)],
            )?;
            Ok((out, count))
        })
    }

    fn dialogs_of(&self, owner: i64, peers: &[i64]) -> Result<Vec<Dialog>, StoreError> {
        let wanted = format!("[{}]", join_ids(peers));
        self.read(|c| {
            dialog_rows(
                c,
                owner,
                "peer IN (SELECT value FROM json_each(?2))
                 ORDER BY top_date DESC, top_message DESC",
                params![owner, wanted],
            )
        })
    }

    fn pts(&self, owner: i64) -> Result<i32, StoreError> {
        self.with(|c| {
            c.query_row("SELECT pts FROM users WHERE id = ?1", [owner], |r| r.get(0))
                .optional()
        })
        .map(|p| p.unwrap_or(0))
    }

    fn changes_since(
        &self,
        owner: i64,
        pts: i32,
        limit: usize,
    ) -> Result<(Vec<LoggedChange>, Vec<Message>), StoreError> {
        self.read(|c| {
            let mut stmt = c
                .prepare(&format!(
                    "SELECT {LOG_COLUMNS} FROM changes
                         WHERE owner = ?1 AND pts > ?2 ORDER BY pts LIMIT ?3"
                ))
                .map_err(db)?;
            let rows = stmt
                .query_map(
                    params![owner, pts, i64::try_from(limit).unwrap_or(i64::MAX)],
                    |r| via(r, rows::logged_at),
                )
                .map_err(db)?;
            let changes: Vec<LoggedChange> = rows.collect::<Result<_, _>>().map_err(db)?;
            let mut messages = Vec::new();
            for change in &changes {
                if let Change::NewMessage { id } | Change::EditMessage { id } = change.change {
                    if let Some(m) = get_message(c, owner, id)? {
                        if !messages.contains(&m) {
                            messages.push(m);
                        }
                    }
                }
            }
            Ok((changes, messages))
        })
    }

    /// `PRAGMA wal_checkpoint(TRUNCATE)`: every page of the write-ahead log copied into the
    /// database file and the log emptied.
    fn checkpoint(&self) -> Result<(), StoreError> {
        let (busy, log, copied): (i64, i64, i64) = self.with(|c| {
            c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
        })?;
        if busy != 0 {
            return Err(StoreError::Database(format!(
                "WAL checkpoint blocked: {copied} of {log} pages copied"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file written before messages linked their copies (no `copy_id` column) opens, gains
    /// the column, and edits, deletions and read receipts still find the peer's copies.
    #[test]
    fn opens_a_file_from_before_copy_links() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!(
            "server-kit-sqlite-legacy-{}-{nanos}.db",
            std::process::id()
        ));
        let result = std::panic::catch_unwind(|| {
            let (a, b) = {
                let store = SqliteStore::open(&path).expect("open");
                let a = store.create_user("1", "A", "", 1).expect("user").id;
                let b = store.create_user("2", "B", "", 2).expect("user").id;
                for (text, random_id) in
                    [("one", 1), ("two", 2), ("three", 3), ("dup", 4), ("dup", 5)]
                {
                    store
                        .send_message(a, b, text, random_id, 100)
                        .expect("send");
                }
                store
                    .with(|c| c.execute_batch("ALTER TABLE messages DROP COLUMN copy_id"))
                    .expect("make it an old file");
                (a, b)
            };
            let store = SqliteStore::open(&path).expect("reopen");
            let edited = store.edit_message(a, 2, "two!", 200).expect("edit");
            assert_eq!(
                edited
                    .iter()
                    .map(|c| (c.user_id, c.entry.change.clone()))
                    .collect::<Vec<_>>(),
                vec![
                    (a, Change::EditMessage { id: 2 }),
                    (b, Change::EditMessage { id: 2 })
                ]
            );
            let read = store.read_history(b, a, 2, 210).expect("read");
            assert_eq!(
                read.iter()
                    .map(|c| c.entry.change.clone())
                    .collect::<Vec<_>>(),
                vec![
                    Change::ReadInbox { peer: a, max_id: 2 },
                    // Same second, no link: every message of that date counts as read.
                    Change::ReadOutbox { peer: b, max_id: 5 },
                ]
            );
            let deleted = store.delete_messages(a, &[1], true, 220).expect("delete");
            assert_eq!(
                deleted[1].entry.change,
                Change::DeleteMessages { ids: vec![1] }
            );
            let texts = |owner, peer| {
                let (messages, _) = store
                    .history(
                        owner,
                        peer,
                        HistoryQuery {
                            limit: 10,
                            ..HistoryQuery::default()
                        },
                    )
                    .expect("history");
                messages.into_iter().map(|m| m.text).collect::<Vec<_>>()
            };
            assert_eq!(texts(b, a), ["dup", "dup", "three", "two!"]);
            // Unlinked twins: each deleted once.
            let deleted = store
                .delete_messages(a, &[4, 5], true, 225)
                .expect("delete");
            assert_eq!(
                deleted[1].entry.change,
                Change::DeleteMessages { ids: vec![4, 5] }
            );
            assert_eq!(texts(b, a), ["three", "two!"]);
            // New messages are linked.
            store.send_message(a, b, "four", 4, 230).expect("send");
            let edited = store.edit_message(a, 6, "four!", 240).expect("edit");
            assert_eq!(edited[1].entry.change, Change::EditMessage { id: 6 });
            assert_eq!(texts(b, a), ["four!", "three", "two!"]);
        });
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.clone().into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    }

    /// A checkpoint leaves the write-ahead log empty, the data in the database file.
    #[test]
    fn checkpoint_empties_the_wal() {
        let dir = std::env::temp_dir().join(format!("sqlite-checkpoint-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("db.sqlite3");
        let wal = dir.join("db.sqlite3-wal");
        let store = SqliteStore::open(&path).expect("open");
        let user = store.create_user("15550001", "A", "", 1).expect("user");
        assert!(std::fs::metadata(&wal).expect("wal").len() > 0);
        store.checkpoint().expect("checkpoint");
        assert_eq!(std::fs::metadata(&wal).expect("wal").len(), 0);
        drop(store);
        let store = SqliteStore::open(&path).expect("reopen");
        assert_eq!(
            store.user(user.id).expect("read").map(|u| u.id),
            Some(user.id)
        );
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
