//! The PostgreSQL store (feature `postgres`), for deployments where several server nodes share
//! one database.
//!
//! - **Client and pool.** The blocking `postgres` client (tokio-postgres driven by a small
//!   runtime of its own per connection): [`Store`] is synchronous and runs on tokio's blocking
//!   pool ([`Db::run`]), where blocking calls belong. The pool is a mutex over idle
//!   connections with a bound on how many are open; a broken connection is dropped and
//!   replaced on the next call. Call the store through [`Db::run`] (tokio's blocking pool),
//!   as the services do; a call made from async code directly (a synchronous setup step)
//!   still works, blocking its worker thread meanwhile (`block_in_place`), never panics.
//! - **Round trips.** Each statement is a round trip to the database, and on a busy machine
//!   a wait for the scheduler on both sides; a transaction holds its row locks through all of
//!   them. So every connection keeps its statements prepared (`Sql`: parsed and planned
//!   once, then one round trip per call instead of two), and the hot paths take few
//!   statements: a private message is `BEGIN`, the locks, one `UPDATE ... RETURNING` that
//!   takes both boxes' message ids and pts, one statement that writes both copies, both
//!   dialogs and both log entries, `COMMIT` (it was 13 statements, 26 round trips);
//!   [`Store::changes_since`] is one statement.
//! - **Migrations.** Versioned SQL ([`MIGRATIONS`]), applied at open in one transaction under
//!   an advisory lock (nodes starting at once apply them once), recorded in `schema_version`.
//!   A database newer than this build is refused.
//! - **One box, one lock.** A change and the pts it takes are written in one transaction, as
//!   in SQLite. A user's row (a channel's row for a channel) holds its pts and next message
//!   id, and `UPDATE ... SET pts = pts + n RETURNING pts` takes them: the row lock it holds
//!   until commit makes every other writer of that box, on any node, wait and then see the
//!   new value. So pts never repeat and never skip, whatever the number of nodes. A
//!   transaction that touches two boxes locks both rows first, in id order
//!   (`SELECT ... ORDER BY id FOR UPDATE`), so two nodes writing to the same pair in opposite
//!   directions queue instead of deadlocking; a deadlock or serialization failure that
//!   happens anyway is retried from the start, a few times.
//! - **Ids.** User and channel ids come from sequences (starting at 100000 and 1000000), so
//!   nodes never hand out the same id; a failed insert may leave a gap.
//! - **Strings byte-exact.** PostgreSQL's `text` refuses U+0000, which clients may send and
//!   SQLite keeps: what users and clients write (names, texts, titles, file names, client
//!   info, push tokens) is kept in `bytea` columns as UTF-8 and read back with `text`
//!   (migration 2). Lookups by a username or phone with a NUL find nothing, as in SQLite
//!   (those columns stay `text`, and the services let no NUL into them).
//! - **Errors.** Every database failure is a [`StoreError`] (values are read with `try_get`,
//!   never `get`, which would panic on a type mismatch); unique violations that callers care
//!   about become [`StoreError::Taken`].

mod bots;
mod callbacks;
mod channels;
mod chats;
mod contacts;
mod devices;
mod drafts;
mod passwords;
mod pinned_dialogs;
mod profile_photos;
mod reactions;
mod scheduled;
mod search;
mod secret_chats;
mod tls;

pub use tls::{CertificateProblem, PgSslMode, PgTlsError};

use ::postgres::error::SqlState;
use ::postgres::types::FromSql;
use ::postgres::types::ToSql;
use ::postgres::{Client, Config, GenericClient, Row, Statement, Transaction};
use server_kit_store::chats::peer_chat;
use server_kit_store::rows::{
    self, KEY_COLUMNS, LOG_COLUMNS, LogColumns, MESSAGE_COLUMNS, USER_COLUMNS,
};
use server_kit_store::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// The schema, one step per version. A step is applied once, in one transaction with the
/// `schema_version` row that records it; a released step is never edited, only followed by
/// new ones.
pub const MIGRATIONS: &[(i32, &str)] = &[
    (1, SCHEMA_V1),
    (2, SCHEMA_V2),
    (3, passwords::SCHEMA_V3),
    (4, bots::SCHEMA_V4),
    (5, SCHEMA_V5),
    (6, SCHEMA_V6),
    (7, SCHEMA_V7),
    (8, SCHEMA_V8),
    (9, contacts::SCHEMA_V9),
    (10, search::SCHEMA_V10),
    (11, chats::SCHEMA_V11),
    (12, drafts::SCHEMA_V12),
    (13, profile_photos::SCHEMA_V13),
    (14, reactions::SCHEMA_V14),
    (15, SCHEMA_V15),
    (16, SCHEMA_V16),
    (17, secret_chats::SCHEMA_V17),
    (18, scheduled::SCHEMA_V18),
    (19, pinned_dialogs::SCHEMA_V19),
    (20, channels::SCHEMA_V20),
];

/// Messages' entities and bots' keyboards (`store::Extras`, empty when none), bot commands
/// (`store::BotCommand`) and callback queries (`store::CallbackQuery`).
const SCHEMA_V16: &str = "
ALTER TABLE messages
    ADD COLUMN entities BYTEA NOT NULL DEFAULT '',
    ADD COLUMN reply_markup BYTEA NOT NULL DEFAULT '';
CREATE TABLE bot_commands(
    bot BIGINT NOT NULL, position INTEGER NOT NULL, command BYTEA NOT NULL,
    description BYTEA NOT NULL, PRIMARY KEY(bot, position));
CREATE TABLE bot_callback_queries(
    id BIGINT PRIMARY KEY, bot BIGINT NOT NULL, user_id BIGINT NOT NULL, msg_id INTEGER NOT NULL,
    peer BIGINT NOT NULL, data BYTEA NOT NULL, date INTEGER NOT NULL,
    answered BOOLEAN NOT NULL DEFAULT FALSE, message BYTEA NOT NULL DEFAULT '',
    alert BOOLEAN NOT NULL DEFAULT FALSE, url BYTEA NOT NULL DEFAULT '',
    cache_time INTEGER NOT NULL DEFAULT 0);
CREATE INDEX bot_callback_queries_by_date ON bot_callback_queries(date);
";

/// Writes a new message's entities and keyboard (the hot insert statements leave them
/// empty; most messages have neither).
pub(crate) fn set_rich(tx: &mut Tx<'_, '_>, owner: i64, id: i32, extras: &Extras) -> R<()> {
    if extras.entities.is_none() && extras.reply_markup.is_none() {
        return Ok(());
    }
    tx.execute(
        "UPDATE messages SET entities = $3, reply_markup = $4 WHERE owner = $1 AND id = $2",
        &[
            &owner,
            &id,
            &rows::blob_column(&extras.entities),
            &rows::blob_column(&extras.reply_markup),
        ],
    )?;
    Ok(())
}

/// Who sees a user's status (`store::Visibility::code`).
const SCHEMA_V15: &str = "
ALTER TABLE users ADD COLUMN status_privacy INTEGER NOT NULL DEFAULT 0;
";

/// Pinned messages (`store::Message::pinned`).
const SCHEMA_V8: &str = "
ALTER TABLE messages ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT FALSE;
";

/// When a user was last seen online (`store::User::last_seen`).
const SCHEMA_V7: &str = "
ALTER TABLE users ADD COLUMN last_seen INTEGER NOT NULL DEFAULT 0;
";

/// Replies and forwards (`store::Extras`) in private chats and channels: the replied id, and
/// the forward's origin as `store::Forward::to_columns` keeps it.
const SCHEMA_V6: &str = "
ALTER TABLE messages
    ADD COLUMN reply_to INTEGER,
    ADD COLUMN fwd_kind BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN fwd_id BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN fwd_post INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN fwd_date INTEGER NOT NULL DEFAULT 0;
ALTER TABLE channel_messages
    ADD COLUMN reply_to INTEGER,
    ADD COLUMN fwd_kind BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN fwd_id BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN fwd_post INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN fwd_date INTEGER NOT NULL DEFAULT 0;
";

/// Whether a login code was entered right (`LoginCode::verified`).
const SCHEMA_V5: &str = "
ALTER TABLE login_codes ADD COLUMN verified BOOLEAN NOT NULL DEFAULT FALSE;
";

const SCHEMA_V1: &str = "
CREATE SEQUENCE user_ids START WITH 100000;
CREATE SEQUENCE channel_ids START WITH 1000000;
CREATE TABLE auth_keys(
    id BIGINT PRIMARY KEY, key BYTEA NOT NULL, user_id BIGINT, layer INTEGER NOT NULL DEFAULT 0,
    created BIGINT NOT NULL, api_id INTEGER NOT NULL DEFAULT 0,
    device_model TEXT NOT NULL DEFAULT '', system_version TEXT NOT NULL DEFAULT '',
    app_version TEXT NOT NULL DEFAULT '');
CREATE TABLE login_codes(
    phone TEXT PRIMARY KEY, hash TEXT NOT NULL, code TEXT NOT NULL, expires_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL);
CREATE TABLE users(
    id BIGINT PRIMARY KEY DEFAULT nextval('user_ids'), access_hash BIGINT NOT NULL,
    phone TEXT NOT NULL UNIQUE, first_name TEXT NOT NULL, last_name TEXT NOT NULL,
    username TEXT, about TEXT NOT NULL DEFAULT '', pts INTEGER NOT NULL DEFAULT 0,
    next_msg_id INTEGER NOT NULL DEFAULT 1);
CREATE UNIQUE INDEX users_by_username ON users(lower(username));
CREATE TABLE contacts(
    owner BIGINT NOT NULL, user_id BIGINT NOT NULL, first_name TEXT NOT NULL,
    last_name TEXT NOT NULL, PRIMARY KEY(owner, user_id));
CREATE TABLE messages(
    owner BIGINT NOT NULL, id INTEGER NOT NULL, peer BIGINT NOT NULL, out BOOLEAN NOT NULL,
    from_id BIGINT NOT NULL, text TEXT NOT NULL, date INTEGER NOT NULL, edit_date INTEGER,
    random_id BIGINT, copy_id INTEGER, media_kind BIGINT NOT NULL DEFAULT 0,
    media_id BIGINT NOT NULL DEFAULT 0, PRIMARY KEY(owner, id));
CREATE INDEX messages_by_peer ON messages(owner, peer, id);
CREATE UNIQUE INDEX messages_by_random_id ON messages(owner, random_id)
    WHERE random_id IS NOT NULL;
CREATE TABLE documents(
    id BIGINT PRIMARY KEY, access_hash BIGINT NOT NULL, file_reference BYTEA NOT NULL,
    content TEXT NOT NULL, size BIGINT NOT NULL, mime_type TEXT NOT NULL,
    file_name TEXT NOT NULL, date INTEGER NOT NULL);
CREATE TABLE dialogs(
    owner BIGINT NOT NULL, peer BIGINT NOT NULL, top_message INTEGER NOT NULL,
    top_date INTEGER NOT NULL, read_inbox_max_id INTEGER NOT NULL DEFAULT 0,
    read_outbox_max_id INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(owner, peer));
CREATE INDEX dialogs_by_date ON dialogs(owner, top_date DESC, top_message DESC);
CREATE TABLE changes(
    owner BIGINT NOT NULL, pts INTEGER NOT NULL, pts_count INTEGER NOT NULL,
    date INTEGER NOT NULL, kind INTEGER NOT NULL, peer BIGINT NOT NULL, value INTEGER NOT NULL,
    ids INTEGER[] NOT NULL, PRIMARY KEY(owner, pts));
CREATE INDEX changes_by_new_message ON changes(owner, value) WHERE kind = 1;
CREATE TABLE channels(
    id BIGINT PRIMARY KEY DEFAULT nextval('channel_ids'), access_hash BIGINT NOT NULL,
    title TEXT NOT NULL, about TEXT NOT NULL, broadcast BOOLEAN NOT NULL,
    megagroup BOOLEAN NOT NULL, creator BIGINT NOT NULL, username TEXT, date INTEGER NOT NULL,
    pts INTEGER NOT NULL DEFAULT 0, next_msg_id INTEGER NOT NULL DEFAULT 1);
CREATE UNIQUE INDEX channels_by_username ON channels(lower(username));
CREATE TABLE channel_members(
    channel BIGINT NOT NULL, user_id BIGINT NOT NULL, role BIGINT NOT NULL,
    inviter BIGINT NOT NULL, date INTEGER NOT NULL, read_max_id INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(channel, user_id));
CREATE INDEX channel_members_by_user ON channel_members(user_id);
CREATE TABLE channel_messages(
    channel BIGINT NOT NULL, id INTEGER NOT NULL, from_id BIGINT NOT NULL,
    text TEXT NOT NULL, date INTEGER NOT NULL, edit_date INTEGER, sender BIGINT NOT NULL,
    random_id BIGINT, media_kind BIGINT NOT NULL DEFAULT 0,
    media_id BIGINT NOT NULL DEFAULT 0, PRIMARY KEY(channel, id));
CREATE UNIQUE INDEX channel_messages_by_random_id
    ON channel_messages(channel, sender, random_id) WHERE random_id IS NOT NULL;
CREATE TABLE channel_changes(
    channel BIGINT NOT NULL, pts INTEGER NOT NULL, pts_count INTEGER NOT NULL,
    date INTEGER NOT NULL, kind INTEGER NOT NULL, value INTEGER NOT NULL,
    ids INTEGER[] NOT NULL, PRIMARY KEY(channel, pts));
CREATE INDEX channel_changes_by_new_message ON channel_changes(channel, value) WHERE kind = 1;
CREATE TABLE photos(
    id BIGINT PRIMARY KEY, access_hash BIGINT NOT NULL, file_reference BYTEA NOT NULL,
    date INTEGER NOT NULL, sizes TEXT NOT NULL);
CREATE SEQUENCE device_order;
CREATE TABLE devices(
    user_id BIGINT NOT NULL, token_type INTEGER NOT NULL, token TEXT NOT NULL,
    key_id BIGINT NOT NULL, app_sandbox BOOLEAN NOT NULL, no_muted BOOLEAN NOT NULL,
    secret BYTEA NOT NULL, other_uids BIGINT[] NOT NULL, date INTEGER NOT NULL,
    seq BIGINT NOT NULL DEFAULT nextval('device_order'),
    PRIMARY KEY(user_id, token_type, token));
CREATE TABLE notify_settings(
    user_id BIGINT NOT NULL, kind BIGINT NOT NULL, peer BIGINT NOT NULL,
    show_previews BOOLEAN, silent BOOLEAN, mute_until INTEGER, sound TEXT,
    stories_muted BOOLEAN, stories_hide_sender BOOLEAN, stories_sound TEXT,
    PRIMARY KEY(user_id, kind, peer));
";

/// Strings that users and their clients write (names, about texts, message texts, titles,
/// file names and MIME types, what `initConnection` says, push tokens) kept as their UTF-8
/// bytes: a `text` column refuses U+0000, which a client may send and SQLite keeps. The
/// store writes them as `&str::as_bytes` and reads them back with [`text`], byte-exact.
/// Usernames and phones stay `text`: the services let only ASCII letters, digits and `_`
/// through, and `lower(username)` indexes them.
const SCHEMA_V2: &str = "
ALTER TABLE auth_keys
    ALTER COLUMN device_model DROP DEFAULT,
    ALTER COLUMN device_model TYPE BYTEA USING convert_to(device_model, 'UTF8'),
    ALTER COLUMN device_model SET DEFAULT ''::bytea,
    ALTER COLUMN system_version DROP DEFAULT,
    ALTER COLUMN system_version TYPE BYTEA USING convert_to(system_version, 'UTF8'),
    ALTER COLUMN system_version SET DEFAULT ''::bytea,
    ALTER COLUMN app_version DROP DEFAULT,
    ALTER COLUMN app_version TYPE BYTEA USING convert_to(app_version, 'UTF8'),
    ALTER COLUMN app_version SET DEFAULT ''::bytea;
ALTER TABLE users
    ALTER COLUMN first_name TYPE BYTEA USING convert_to(first_name, 'UTF8'),
    ALTER COLUMN last_name TYPE BYTEA USING convert_to(last_name, 'UTF8'),
    ALTER COLUMN about DROP DEFAULT,
    ALTER COLUMN about TYPE BYTEA USING convert_to(about, 'UTF8'),
    ALTER COLUMN about SET DEFAULT ''::bytea;
ALTER TABLE contacts
    ALTER COLUMN first_name TYPE BYTEA USING convert_to(first_name, 'UTF8'),
    ALTER COLUMN last_name TYPE BYTEA USING convert_to(last_name, 'UTF8');
ALTER TABLE messages ALTER COLUMN text TYPE BYTEA USING convert_to(text, 'UTF8');
ALTER TABLE documents
    ALTER COLUMN mime_type TYPE BYTEA USING convert_to(mime_type, 'UTF8'),
    ALTER COLUMN file_name TYPE BYTEA USING convert_to(file_name, 'UTF8');
ALTER TABLE channels
    ALTER COLUMN title TYPE BYTEA USING convert_to(title, 'UTF8'),
    ALTER COLUMN about TYPE BYTEA USING convert_to(about, 'UTF8');
ALTER TABLE channel_messages ALTER COLUMN text TYPE BYTEA USING convert_to(text, 'UTF8');
ALTER TABLE devices ALTER COLUMN token TYPE BYTEA USING convert_to(token, 'UTF8');
";

/// The advisory lock key migrations run under ("srvkit" in ASCII).
const MIGRATION_LOCK: i64 = 0x7372_766b_6974;

/// How often a transaction that hit a deadlock or a serialization failure is tried again.
const RETRIES: u32 = 8;

// ---------------------------------------------------------------------------------------------
// Errors.

/// A failure inside the store: the database's own error (kept whole, to tell a deadlock from
/// the rest) or one the store decided on.
#[derive(Debug)]
pub(crate) enum Fail {
    Pg(::postgres::Error),
    Store(StoreError),
}

impl From<::postgres::Error> for Fail {
    fn from(e: ::postgres::Error) -> Self {
        Fail::Pg(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl Fail {
    fn into_store(self) -> StoreError {
        match self {
            Fail::Store(e) => e,
            Fail::Pg(e) => StoreError::Database(describe(&e)),
        }
    }

    /// A failure that trying the whole transaction again may avoid.
    fn retryable(&self) -> bool {
        matches!(self, Fail::Pg(e) if matches!(
            e.code(),
            Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
        ))
    }
}

pub(crate) type R<T> = Result<T, Fail>;

/// The database's message with its SQLSTATE, or the client's error with its cause.
fn describe(e: &::postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
        None => match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

/// Maps a unique violation to [`StoreError::Taken`].
pub(crate) fn taken(what: &'static str) -> impl FnOnce(::postgres::Error) -> Fail {
    move |e| match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION => Fail::Store(StoreError::Taken { what }),
        _ => Fail::Pg(e),
    }
}

/// Column `i` of a row, or an error if it has another type (never a panic).
pub(crate) fn col<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> R<T> {
    Ok(row.try_get(i)?)
}

/// Column `i`, a string kept as its UTF-8 bytes (`bytea`, see [`SCHEMA_V2`]); bytes that are
/// not UTF-8 are an error (never a panic).
pub(crate) fn text(row: &Row, i: usize) -> R<String> {
    rows::Row::text(&PgRow(row), i).map_err(Fail::Store)
}

/// A count (`bigint`) as the `i32` the trait returns.
pub(crate) fn count(row: &Row, i: usize) -> R<i32> {
    let n: i64 = col(row, i)?;
    i32::try_from(n).map_err(|_| Fail::Store(StoreError::Database(format!("count {n} too large"))))
}

/// A PostgreSQL row as the shared row mapping ([`rows`]) reads it: integers of any width,
/// and strings kept as `bytea` (user text) or `text` alike.
pub(crate) struct PgRow<'a>(pub(crate) &'a Row);

fn pg_column<'a, T: FromSql<'a>>(row: &'a Row, at: usize) -> Result<T, StoreError> {
    row.try_get(at)
        .map_err(|e| StoreError::Database(describe(&e)))
}

impl PgRow<'_> {
    fn type_of(&self, at: usize) -> Option<&::postgres::types::Type> {
        self.0.columns().get(at).map(|c| c.type_())
    }
}

impl rows::Row for PgRow<'_> {
    fn opt_int(&self, at: usize) -> Result<Option<i64>, StoreError> {
        use ::postgres::types::Type;
        match self.type_of(at) {
            Some(&Type::INT2) => Ok(pg_column::<Option<i16>>(self.0, at)?.map(i64::from)),
            Some(&Type::INT4) => Ok(pg_column::<Option<i32>>(self.0, at)?.map(i64::from)),
            _ => pg_column(self.0, at),
        }
    }
    fn opt_flag(&self, at: usize) -> Result<Option<bool>, StoreError> {
        pg_column(self.0, at)
    }
    fn opt_text(&self, at: usize) -> Result<Option<String>, StoreError> {
        if self.type_of(at) != Some(&::postgres::types::Type::BYTEA) {
            return pg_column(self.0, at);
        }
        pg_column::<Option<&[u8]>>(self.0, at)?
            .map(|bytes| {
                std::str::from_utf8(bytes).map(str::to_owned).map_err(|e| {
                    StoreError::Database(format!("column {at} holds bytes that are not UTF-8: {e}"))
                })
            })
            .transpose()
    }
    fn bytes(&self, at: usize) -> Result<Vec<u8>, StoreError> {
        pg_column(self.0, at)
    }
    fn ints(&self, at: usize) -> Result<Vec<i64>, StoreError> {
        if self.type_of(at) == Some(&::postgres::types::Type::INT4_ARRAY) {
            let ids: Vec<i32> = pg_column(self.0, at)?;
            return Ok(ids.into_iter().map(i64::from).collect());
        }
        pg_column(self.0, at)
    }
}

/// A channel's log entry from the [`rows::CHANNEL_LOG_COLUMNS`] at column 0.
pub(crate) fn via_logged(r: &Row, channel: i64) -> R<server_kit_store::channels::ChannelLogged> {
    rows::channel_logged_at(&PgRow(r), 0, channel).map_err(Fail::Store)
}

/// The shared mapping `f` from column `at` of a row.
pub(crate) fn via<T>(
    r: &Row,
    f: fn(&dyn rows::Row, usize) -> Result<T, StoreError>,
    at: usize,
) -> R<T> {
    f(&PgRow(r), at).map_err(Fail::Store)
}

// ---------------------------------------------------------------------------------------------
// The pool.

/// How to connect.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PgOptions {
    /// The schema the tables live in (created if missing); `None`: the server's default
    /// `search_path` (normally `public`).
    pub schema: Option<String>,
    /// The most connections open at once.
    pub pool_size: usize,
    /// How long a call waits for a free connection before failing.
    pub checkout_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            schema: None,
            pool_size: 16,
            checkout_timeout: Duration::from_secs(30),
        }
    }
}

impl PgOptions {
    /// Tables in `schema` (several stores, or test runs, side by side in one database).
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// At most `size` connections (at least one).
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }
}

/// The most statements a connection keeps prepared; past it the cache starts again (the
/// store's SQL is a fixed set well below this).
const MAX_STATEMENTS: usize = 512;

/// A connection of the pool and the statements prepared on it, by their SQL.
pub(crate) struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
}

/// A connection or a transaction on one, with the connection's prepared statements: each
/// distinct SQL text is parsed and planned once per connection, and then every call is one
/// round trip (`Bind`/`Execute`) instead of two (`Parse`/`Describe`, then the execution).
/// Its methods are those of [`GenericClient`] with the SQL as text.
pub(crate) struct Sql<'a, C> {
    client: &'a mut C,
    statements: &'a mut HashMap<String, Statement>,
}

/// A transaction with cached statements.
pub(crate) type Tx<'a, 'c> = Sql<'a, Transaction<'c>>;

impl<C: GenericClient> Sql<'_, C> {
    /// The prepared statement of `sql`, prepared now if this connection has not yet.
    fn statement(&mut self, sql: &str) -> Result<Statement, ::postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        if self.statements.len() >= MAX_STATEMENTS {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// [`GenericClient::query`].
    pub(crate) fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, ::postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.query(&statement, params)
    }

    /// [`GenericClient::query_one`].
    pub(crate) fn query_one(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, ::postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.query_one(&statement, params)
    }

    /// [`GenericClient::query_opt`].
    pub(crate) fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, ::postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.query_opt(&statement, params)
    }

    /// [`GenericClient::execute`].
    pub(crate) fn execute(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, ::postgres::Error> {
        let statement = self.statement(sql)?;
        self.client.execute(&statement, params)
    }
}

struct Idle {
    clients: Vec<Conn>,
    open: usize,
}

/// At most `size` connections; idle ones are reused, broken ones dropped.
struct Pool {
    config: Config,
    tls: tls::MakeTls,
    schema: Option<String>,
    size: usize,
    timeout: Duration,
    idle: Mutex<Idle>,
    freed: Condvar,
}

/// A schema name as an SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Runs blocking client calls where they may block. The client runs a small runtime of its
/// own, which tokio forbids on a thread that is driving async tasks: there (a caller that
/// used the store from async code instead of through [`Db::run`], e.g. a synchronous setup
/// step) `f` runs under `block_in_place` on a multi-threaded runtime, or on a thread of its
/// own under a current-thread runtime. On tokio's blocking pool and outside tokio it just runs.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Err(_) => f(),
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|s| match s.spawn(f).join() {
            Ok(out) => out,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
    }
}

/// Drops clients on a thread of their own: closing one runs its own small runtime, which
/// tokio forbids inside async code (where the last handle to a store may be dropped).
fn discard(clients: Vec<Conn>) {
    if clients.is_empty() {
        return;
    }
    if tokio::runtime::Handle::try_current().is_ok() {
        let _ = std::thread::spawn(move || drop(clients)).join();
    } else {
        drop(clients);
    }
}

impl Pool {
    fn lock(&self) -> R<MutexGuard<'_, Idle>> {
        self.idle
            .lock()
            .map_err(|_| Fail::Store(StoreError::Database("pool lock poisoned".into())))
    }

    fn connect(&self) -> R<Conn> {
        let mut client = self
            .config
            .connect(self.tls.clone())
            .map_err(|e| self.tls.failure(e))?;
        if let Some(schema) = &self.schema {
            client.batch_execute(&format!("SET search_path TO {}", quote_ident(schema)))?;
        }
        Ok(Conn {
            client,
            statements: HashMap::new(),
        })
    }

    fn checkout(&self) -> R<Conn> {
        let mut idle = self.lock()?;
        let deadline = std::time::Instant::now() + self.timeout;
        loop {
            if let Some(client) = idle.clients.pop() {
                if !client.client.is_closed() {
                    return Ok(client);
                }
                idle.open -= 1;
                drop(idle);
                discard(vec![client]);
                idle = self.lock()?;
                continue;
            }
            if idle.open < self.size {
                idle.open += 1;
                drop(idle);
                return self.connect().inspect_err(|_| {
                    if let Ok(mut idle) = self.lock() {
                        idle.open -= 1;
                    }
                    self.freed.notify_one();
                });
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return Err(Fail::Store(StoreError::Database(format!(
                    "no free database connection within {:?} ({} open)",
                    self.timeout, self.size
                ))));
            }
            idle = self
                .freed
                .wait_timeout(idle, deadline - now)
                .map_err(|_| Fail::Store(StoreError::Database("pool lock poisoned".into())))?
                .0;
        }
    }

    fn checkin(&self, client: Conn) {
        let broken = client.client.is_closed();
        if let Ok(mut idle) = self.lock() {
            if broken {
                idle.open -= 1;
            } else {
                idle.clients.push(client);
                drop(idle);
                self.freed.notify_one();
                return;
            }
        }
        self.freed.notify_one();
        discard(vec![client]);
    }

    /// Runs `f` with a connection of the pool, wherever it is called from (see
    /// [`off_runtime`]).
    /// A database error forgets the connection's prepared statements (one may be stale,
    /// e.g. after another node migrated the schema: "cached plan must not change result
    /// type"); they are prepared again as used.
    fn with<T: Send>(&self, f: impl FnOnce(&mut Conn) -> R<T> + Send) -> R<T> {
        off_runtime(|| {
            let mut client = self.checkout()?;
            let out = f(&mut client);
            if matches!(out, Err(Fail::Pg(_))) {
                client.statements.clear();
            }
            self.checkin(client);
            out
        })
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if let Ok(mut idle) = self.idle.lock() {
            discard(std::mem::take(&mut idle.clients));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The store.

/// The PostgreSQL store.
pub struct PgStore {
    pool: Pool,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("schema", &self.pool.schema)
            .field("pool_size", &self.pool.size)
            .finish()
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`, or the key=value
    /// form) and brings the schema up to date. Blocking: call it outside async code (e.g. in
    /// `spawn_blocking`).
    ///
    /// TLS follows libpq's `sslmode` (`disable`, `prefer` (the default), `require`,
    /// `verify-ca`, `verify-full`) and `sslrootcert` (a PEM file of trusted roots, or
    /// `system`; the system's roots when not given): see [`PgSslMode`]. A bad setting, and a
    /// refused certificate or failed handshake, is a [`StoreError::Backend`] holding a [`PgTlsError`].
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, PgOptions::default())
    }

    /// [`open`](Self::open) with options (schema, pool size).
    pub fn open_with(url: &str, options: PgOptions) -> Result<Self, StoreError> {
        let (url, tls) =
            tls::MakeTls::from_url(url).map_err(|e| StoreError::Backend(Box::new(e)))?;
        let mut config: Config = url
            .parse()
            .map_err(|e| StoreError::Database(format!("bad PostgreSQL address: {e}")))?;
        config.ssl_mode(tls.ssl_mode());
        if config.get_application_name().is_none() {
            config.application_name("server-kit");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let pool = Pool {
            config,
            tls,
            schema: options.schema,
            size: options.pool_size.max(1),
            timeout: options.checkout_timeout,
            idle: Mutex::new(Idle {
                clients: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        };
        pool.with(|c| migrate(&mut c.client, pool.schema.as_deref()))
            .map_err(Fail::into_store)?;
        pool.with(search::backfill).map_err(Fail::into_store)?;
        Ok(PgStore { pool })
    }

    /// The schema version the database is at after opening.
    pub fn schema_version(&self) -> Result<i32, StoreError> {
        self.read(|c| {
            col(
                &c.query_one("SELECT max(version) FROM schema_version", &[])?,
                0,
            )
        })
    }

    /// Runs `f` on a connection, outside any transaction (reads of one statement).
    pub(crate) fn read<T: Send>(
        &self,
        f: impl FnOnce(&mut Sql<'_, Client>) -> R<T> + Send,
    ) -> Result<T, StoreError> {
        self.pool
            .with(|conn| {
                f(&mut Sql {
                    client: &mut conn.client,
                    statements: &mut conn.statements,
                })
            })
            .map_err(Fail::into_store)
    }

    /// Runs `f` in a transaction and commits; a deadlock or serialization failure runs it
    /// again from the start.
    pub(crate) fn tx<T: Send>(
        &self,
        mut f: impl FnMut(&mut Tx<'_, '_>) -> R<T> + Send,
    ) -> Result<T, StoreError> {
        self.pool
            .with(|conn| {
                let mut attempt = 0;
                loop {
                    let mut tx = conn.client.transaction()?;
                    let out = f(&mut Sql {
                        client: &mut tx,
                        statements: &mut conn.statements,
                    });
                    let out = match out {
                        Ok(value) => tx.commit().map(|()| value).map_err(Fail::Pg),
                        Err(e) => {
                            drop(tx);
                            Err(e)
                        }
                    };
                    match out {
                        Err(e) if e.retryable() && attempt < RETRIES => {
                            attempt += 1;
                            std::thread::sleep(Duration::from_millis(u64::from(attempt) * 3));
                        }
                        other => return other,
                    }
                }
            })
            .map_err(Fail::into_store)
    }

    /// A read-only transaction that sees one snapshot across its statements.
    pub(crate) fn snapshot<T: Send>(
        &self,
        f: impl FnOnce(&mut Tx<'_, '_>) -> R<T> + Send,
    ) -> Result<T, StoreError> {
        self.pool
            .with(|conn| {
                let mut tx = conn
                    .client
                    .build_transaction()
                    .isolation_level(::postgres::IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()?;
                let out = f(&mut Sql {
                    client: &mut tx,
                    statements: &mut conn.statements,
                })?;
                tx.commit()?;
                Ok(out)
            })
            .map_err(Fail::into_store)
    }
}

/// Applies the migrations the database lacks, under an advisory lock.
fn migrate(client: &mut Client, schema: Option<&str>) -> R<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    if let Some(schema) = schema {
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {}",
            quote_ident(schema)
        ))?;
    }
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version(
             version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )?;
    let current: i32 = col(
        &tx.query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])?,
        0,
    )?;
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > latest {
        return Err(Fail::Store(StoreError::Database(format!(
            "the database schema is at version {current}, newer than this server's {latest}"
        ))));
    }
    for (version, sql) in MIGRATIONS {
        if *version > current {
            tx.batch_execute(sql)?;
            tx.execute(
                "INSERT INTO schema_version(version) VALUES ($1)",
                &[version],
            )?;
            tracing::info!(version, "PostgreSQL schema migrated");
        }
    }
    tx.commit()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Rows.

fn key_from_row(r: &Row) -> R<StoredKey> {
    via(r, rows::key_at, 0)
}

fn user_from_row(r: &Row) -> R<User> {
    via(r, rows::user_at, 0)
}

fn message_from_row(r: &Row) -> R<Message> {
    via(r, rows::message_at, 0)
}

/// A message from the [`MESSAGE_COLUMNS`] that start at column `at`.
fn message_at(r: &Row, at: usize) -> R<Message> {
    via(r, rows::message_at, at)
}

fn get_user(c: &mut Sql<'_, impl GenericClient>, id: i64) -> R<Option<User>> {
    c.query_opt(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
        &[&id],
    )?
    .as_ref()
    .map(user_from_row)
    .transpose()
}

fn get_message(c: &mut Sql<'_, impl GenericClient>, owner: i64, id: i32) -> R<Option<Message>> {
    c.query_opt(
        &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE owner = $1 AND id = $2"),
        &[&owner, &id],
    )?
    .as_ref()
    .map(message_from_row)
    .transpose()
}

/// Messages of `owner`'s box by id, in the order of `ids` (missing ones left out).
fn get_messages(c: &mut Sql<'_, impl GenericClient>, owner: i64, ids: &[i32]) -> R<Vec<Message>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = c.query(
        &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE owner = $1 AND id = ANY($2)"),
        &[&owner, &ids],
    )?;
    let mut by_id = HashMap::new();
    for row in &rows {
        let m = message_from_row(row)?;
        by_id.insert(m.id, m);
    }
    Ok(ids.iter().filter_map(|id| by_id.get(id).cloned()).collect())
}

/// Locks the rows of these users (their boxes) in id order, for the rest of the
/// transaction; returns the ids that exist.
fn lock_users(tx: &mut Tx<'_, '_>, ids: &[i64]) -> R<BTreeSet<i64>> {
    let ids: Vec<i64> = ids
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    tx.query(
        "SELECT id FROM users WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        &[&ids],
    )?
    .iter()
    .map(|r| col(r, 0))
    .collect()
}

/// The owner's dialogs (`$1`) that `picked` (a condition over `$2`... with its `ORDER BY`
/// and `LIMIT`) selects, each with its top message and unread count.
fn dialog_rows(
    c: &mut Sql<'_, impl GenericClient>,
    picked: &str,
    params: &[&(dyn ToSql + Sync)],
) -> R<Vec<Dialog>> {
    let rows = c.query(
        &format!(
            "SELECT d.peer, d.read_inbox_max_id, d.read_outbox_max_id,
                (SELECT count(*) FROM messages u WHERE u.owner = d.owner
                 AND u.peer = d.peer AND NOT u.out AND u.id > d.read_inbox_max_id),
                {}
             FROM dialogs d JOIN messages m ON m.owner = d.owner AND m.id = d.top_message
             WHERE d.owner = $1 AND {picked}",
            rows::prefixed(MESSAGE_COLUMNS, "m")
        ),
        params,
    )?;
    rows.iter()
        .map(|r| {
            Ok(Dialog {
                peer: col(r, 0)?,
                top_message: message_at(r, 4)?,
                read_inbox_max_id: col(r, 1)?,
                read_outbox_max_id: col(r, 2)?,
                unread_count: count(r, 3)?,
            })
        })
        .collect()
}

/// Appends a change to `owner`'s log, taking the next `pts_count` pts.
/// Sets the pinned flag of `ids` in `owner`'s chat with `peer` and logs it (nothing when
/// `ids` is empty).
pub(crate) fn pin_in_box(
    tx: &mut Tx<'_, '_>,
    owner: i64,
    peer: i64,
    ids: &[i32],
    pinned: bool,
    date: i32,
) -> R<Option<Committed>> {
    if ids.is_empty() {
        return Ok(None);
    }
    tx.execute(
        "UPDATE messages SET pinned = $3 WHERE owner = $1 AND id = ANY($2)",
        &[&owner, &ids, &pinned],
    )?;
    let change = Change::Pin {
        peer,
        ids: ids.to_vec(),
        pinned,
    };
    log_change(tx, owner, 1, date, change, None).map(Some)
}

fn log_change(
    tx: &mut Tx<'_, '_>,
    owner: i64,
    pts_count: i32,
    date: i32,
    change: Change,
    message: Option<Message>,
) -> R<Committed> {
    let row = tx
        .query_opt(
            "UPDATE users SET pts = pts + $2 WHERE id = $1 RETURNING pts",
            &[&owner, &pts_count],
        )?
        .ok_or(StoreError::NotFound { what: "user" })?;
    let pts: i32 = col(&row, 0)?;
    let LogColumns {
        kind,
        peer,
        value,
        ids,
    } = LogColumns::of(&change);
    tx.execute(
        "INSERT INTO changes(owner, pts, pts_count, date, kind, peer, value, ids)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[&owner, &pts, &pts_count, &date, &kind, &peer, &value, &ids],
    )?;
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

/// Points the dialog at its newest remaining message, or removes it if none is left.
fn refresh_dialog(tx: &mut Tx<'_, '_>, owner: i64, peer: i64) -> R<()> {
    let top = tx.query_opt(
        "SELECT id, date FROM messages WHERE owner = $1 AND peer = $2 ORDER BY id DESC LIMIT 1",
        &[&owner, &peer],
    )?;
    match top {
        Some(row) => {
            let (id, date): (i32, i32) = (col(&row, 0)?, col(&row, 1)?);
            tx.execute(
                "UPDATE dialogs SET top_message = $3, top_date = $4 WHERE owner = $1 AND peer = $2",
                &[&owner, &peer, &id, &date],
            )?
        }
        None => tx.execute(
            "DELETE FROM dialogs WHERE owner = $1 AND peer = $2",
            &[&owner, &peer],
        )?,
    };
    Ok(())
}

/// The other side's copy of `m` if it still exists in the peer's box.
fn copy_of(tx: &mut Tx<'_, '_>, m: &Message) -> R<Option<i32>> {
    if m.peer == m.owner {
        return Ok(None);
    }
    let row = tx.query_opt(
        "SELECT c.id FROM messages m JOIN messages c
             ON c.owner = m.peer AND c.id = m.copy_id AND c.peer = m.owner
         WHERE m.owner = $1 AND m.id = $2",
        &[&m.owner, &m.id],
    )?;
    row.as_ref().map(|r| col(r, 0)).transpose()
}

/// The other boxes' copies of `m`, as (owner, id): the peer's copy of a private message; for
/// a basic group's message sent by the owner, every other member's copy (the copies share the
/// sender and the sender's id, see `server_kit_store::chats`).
fn other_copies(tx: &mut Tx<'_, '_>, m: &Message) -> R<Vec<(i64, i32)>> {
    if peer_chat(m.peer).is_none() {
        return Ok(copy_of(tx, m)?.map(|id| (m.peer, id)).into_iter().collect());
    }
    if m.from_id != m.owner {
        return Ok(Vec::new());
    }
    let key = copy_link(tx, m)?.unwrap_or(m.id);
    tx.query(
        "SELECT owner, id FROM messages
         WHERE peer = $1 AND from_id = $2 AND copy_id = $3 AND owner <> $2",
        &[&m.peer, &m.owner, &key],
    )?
    .iter()
    .map(|r| Ok((col(r, 0)?, col(r, 1)?)))
    .collect()
}

/// The id of the other side's copy of `m` as recorded when it was sent.
fn copy_link(tx: &mut Tx<'_, '_>, m: &Message) -> R<Option<i32>> {
    if m.peer == m.owner {
        return Ok(None);
    }
    let row = tx.query_opt(
        "SELECT copy_id FROM messages WHERE owner = $1 AND id = $2",
        &[&m.owner, &m.id],
    )?;
    Ok(match row {
        Some(r) => col::<Option<i32>>(&r, 0)?,
        None => None,
    })
}

fn change_from_row(r: &Row) -> R<LoggedChange> {
    via(r, rows::logged_at, 0)
}

/// Writes a message between two users after [`TAKE_IDS`]: both copies (each naming the
/// other), both dialogs and both log entries, in one statement (one round trip). $1 the
/// sender, $2 the recipient, $3 and $4 the message's id in each box, $5 the text, $6 the date,
/// $7 the random_id, $8 and $9 the media, $10 and $11 the pts of each box, $12 the log kind,
/// $13 and $14 the replied id in each box, $15 to $18 the forward's columns, $19 the text's
/// words for search (`search::search_vector`).
const SEND_TWO: &str = "
WITH copies AS (
    INSERT INTO messages(owner, id, peer, out, from_id, text, date, random_id, copy_id,
                         media_kind, media_id, reply_to, fwd_kind, fwd_id, fwd_post, fwd_date,
                         search)
    VALUES ($1, $3, $2, true, $1, $5, $6, $7, $4, $8, $9, $13, $15, $16, $17, $18,
            array_to_tsvector(string_to_array($19::text, ' '))),
           ($2, $4, $1, false, $1, $5, $6, NULL, $3, $8, $9, $14, $15, $16, $17, $18,
            array_to_tsvector(string_to_array($19::text, ' ')))
), chats AS (
    INSERT INTO dialogs(owner, peer, top_message, top_date)
    VALUES ($1, $2, $3, $6), ($2, $1, $4, $6)
    ON CONFLICT(owner, peer) DO UPDATE
    SET top_message = EXCLUDED.top_message, top_date = EXCLUDED.top_date
)
INSERT INTO changes(owner, pts, pts_count, date, kind, peer, value, ids)
VALUES ($1, $10, 1, $6, $12, 0, $3, '{}'), ($2, $11, 1, $6, $12, 0, $4, '{}')";

/// [`SEND_TWO`] for a message to oneself: one copy. $1 the user, $2 the id, $3 the text,
/// $4 the date, $5 the random_id, $6 and $7 the media, $8 the pts, $9 the log kind, $10 the
/// replied id, $11 to $14 the forward's columns, $15 the text's words for search.
const SEND_SELF: &str = "
WITH copy AS (
    INSERT INTO messages(owner, id, peer, out, from_id, text, date, random_id, copy_id,
                         media_kind, media_id, reply_to, fwd_kind, fwd_id, fwd_post, fwd_date,
                         search)
    VALUES ($1, $2, $1, true, $1, $3, $4, $5, NULL, $6, $7, $10, $11, $12, $13, $14,
            array_to_tsvector(string_to_array($15::text, ' ')))
), chat AS (
    INSERT INTO dialogs(owner, peer, top_message, top_date) VALUES ($1, $1, $2, $4)
    ON CONFLICT(owner, peer) DO UPDATE
    SET top_message = EXCLUDED.top_message, top_date = EXCLUDED.top_date
)
INSERT INTO changes(owner, pts, pts_count, date, kind, peer, value, ids)
VALUES ($1, $8, 1, $4, $9, 0, $2, '{}')";

/// Each box of a send ($1, rows already locked) takes its next message id and pts, unless
/// the sender ($2) already has a message with this random_id ($3): then nothing changes and
/// no row comes back. Run after the locks, so it sees every send committed before them.
const TAKE_IDS: &str = "
UPDATE users SET next_msg_id = next_msg_id + 1, pts = pts + 1
WHERE id = ANY($1)
  AND NOT EXISTS (SELECT 1 FROM messages WHERE owner = $2 AND random_id = $3)
RETURNING id, next_msg_id - 1, pts";

impl PgStore {
    /// Sends a message with its extras: both copies, log entries and dialogs in one
    /// transaction, idempotent on (`from`, `random_id`). Five round trips: `BEGIN`, the
    /// locks, [`TAKE_IDS`], [`SEND_TWO`] (or [`SEND_SELF`]), `COMMIT` (and one more to find
    /// a replied message); each statement prepared once per connection.
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
            // Both boxes locked first (in id order): a second send with the same random_id,
            // on any node, waits here and then finds the first.
            let found = lock_users(tx, &[from, to])?;
            let taken = if found.contains(&from) && found.contains(&to) {
                tx.query(TAKE_IDS, &[&vec![from, to], &from, &random_id])?
            } else {
                Vec::new()
            };
            let mut boxes = HashMap::new();
            for row in &taken {
                let (owner, id, pts): (i64, i32, i32) = (col(row, 0)?, col(row, 1)?, col(row, 2)?);
                boxes.insert(owner, (id, pts));
            }
            let (Some(&(id, pts)), Some(&(copy_id, copy_pts))) = (boxes.get(&from), boxes.get(&to))
            else {
                // Nothing taken: a duplicate, or a user that does not exist.
                return sent_before(tx, from, random_id);
            };
            // The replied message, in the sender's box: kept only if it is in this chat; the
            // recipient's copy replies to the recipient's copy of it.
            let replied: Option<(i32, Option<i32>)> = match extras.reply_to {
                Some(reply) => match tx.query_opt(
                    "SELECT id, copy_id FROM messages WHERE owner = $1 AND id = $2 AND peer = $3",
                    &[&from, &reply, &to],
                )? {
                    Some(r) => Some((col(&r, 0)?, col(&r, 1)?)),
                    None => None,
                },
                None => None,
            };
            let (reply_own, reply_copy) = (replied.map(|r| r.0), replied.and_then(|r| r.1));
            let media = extras.media;
            let (fwd_kind, fwd_id, fwd_post, fwd_date) = Forward::to_columns(extras.forward);
            let sent = Message {
                owner: from,
                id,
                peer: to,
                out: true,
                from_id: from,
                text: text.to_owned(),
                date,
                edit_date: None,
                random_id: Some(random_id),
                media,
                reply_to: reply_own,
                forward: extras.forward,
                pinned: false,
                action: None,
                entities: extras.entities.clone(),
                reply_markup: extras.reply_markup.clone(),
            };
            let (media_kind, media_id) = MediaRef::to_columns(media);
            let words = server_kit_store::search::index_words(text);
            let entry = |pts, id| LoggedChange {
                pts,
                pts_count: 1,
                date,
                change: Change::NewMessage { id },
            };
            if to == from {
                tx.execute(
                    SEND_SELF,
                    &[
                        &from,
                        &id,
                        &text.as_bytes(),
                        &date,
                        &random_id,
                        &media_kind,
                        &media_id,
                        &pts,
                        &rows::kind::NEW,
                        &reply_own,
                        &fwd_kind,
                        &fwd_id,
                        &fwd_post,
                        &fwd_date,
                        &words,
                    ],
                )?;
                set_rich(tx, from, id, &extras)?;
                return Ok(Sent {
                    own: Committed {
                        user_id: from,
                        entry: entry(pts, id),
                        message: Some(sent),
                    },
                    peer: None,
                    duplicate: false,
                });
            }
            tx.execute(
                SEND_TWO,
                &[
                    &from,
                    &to,
                    &id,
                    &copy_id,
                    &text.as_bytes(),
                    &date,
                    &random_id,
                    &media_kind,
                    &media_id,
                    &pts,
                    &copy_pts,
                    &rows::kind::NEW,
                    &reply_own,
                    &reply_copy,
                    &fwd_kind,
                    &fwd_id,
                    &fwd_post,
                    &fwd_date,
                    &words,
                ],
            )?;
            set_rich(tx, from, id, &extras)?;
            set_rich(tx, to, copy_id, &extras)?;
            let copy = Message {
                owner: to,
                id: copy_id,
                peer: from,
                out: false,
                random_id: None,
                reply_to: reply_copy,
                ..sent.clone()
            };
            Ok(Sent {
                own: Committed {
                    user_id: from,
                    entry: entry(pts, id),
                    message: Some(sent),
                },
                peer: Some(Committed {
                    user_id: to,
                    entry: entry(copy_pts, copy_id),
                    message: Some(copy),
                }),
                duplicate: false,
            })
        })
    }
}

/// The sender's copy and log entry of the message `from` sent before with `random_id`, if any
/// (a repeated send answers with it and writes nothing).
pub(crate) fn sent_earlier(tx: &mut Tx<'_, '_>, from: i64, random_id: i64) -> R<Option<Committed>> {
    let existing = tx.query_opt(
        &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE owner = $1 AND random_id = $2"),
        &[&from, &random_id],
    )?;
    let Some(row) = existing else {
        return Ok(None);
    };
    let message = message_from_row(&row)?;
    let entry = tx
        .query_opt(
            "SELECT pts, pts_count, date FROM changes
             WHERE owner = $1 AND kind = $2 AND value = $3",
            &[&from, &rows::kind::NEW, &message.id],
        )?
        .ok_or(StoreError::NotFound { what: "change" })?;
    let entry = LoggedChange {
        pts: col(&entry, 0)?,
        pts_count: col(&entry, 1)?,
        date: col(&entry, 2)?,
        change: Change::NewMessage { id: message.id },
    };
    Ok(Some(Committed {
        user_id: from,
        entry,
        message: Some(message),
    }))
}

/// The answer to a send that took nothing: the message sent before with this random_id
/// (and its log entry), or [`StoreError::NotFound`] if there is none (a user is missing).
fn sent_before(tx: &mut Tx<'_, '_>, from: i64, random_id: i64) -> R<Sent> {
    let own = sent_earlier(tx, from, random_id)?.ok_or(StoreError::NotFound { what: "user" })?;
    Ok(Sent {
        own,
        peer: None,
        duplicate: true,
    })
}

impl PrivacyStore for PgStore {
    fn set_status_visibility(&self, user: i64, visibility: Visibility) -> Result<(), StoreError> {
        let changed = self.read(|c| {
            Ok(c.execute(
                "UPDATE users SET status_privacy = $2 WHERE id = $1",
                &[&user, &visibility.code()],
            )?)
        })?;
        if changed == 0 {
            return Err(StoreError::NotFound { what: "user" });
        }
        Ok(())
    }
}

impl Store for PgStore {
    fn auth_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        self.read(|c| {
            c.query(&format!("SELECT {KEY_COLUMNS} FROM auth_keys"), &[])?
                .iter()
                .map(key_from_row)
                .collect()
        })
    }

    fn auth_key(&self, id: i64) -> Result<Option<StoredKey>, StoreError> {
        self.read(|c| {
            c.query_opt(
                &format!("SELECT {KEY_COLUMNS} FROM auth_keys WHERE id = $1"),
                &[&id],
            )?
            .as_ref()
            .map(key_from_row)
            .transpose()
        })
    }

    fn insert_auth_key(&self, id: i64, key: &[u8], now: i64) -> Result<(), StoreError> {
        self.read(|c| {
            c.execute(
                "INSERT INTO auth_keys(id, key, created) VALUES ($1, $2, $3)",
                &[&id, &key, &now],
            )
            .map_err(taken("auth key id"))?;
            Ok(())
        })
    }

    fn set_key_user(&self, id: i64, user_id: Option<i64>) -> Result<(), StoreError> {
        self.read(|c| {
            c.execute(
                "UPDATE auth_keys SET user_id = $2 WHERE id = $1",
                &[&id, &user_id],
            )?;
            Ok(())
        })
    }

    fn set_key_client(&self, id: i64, layer: i32, client: &ClientInfo) -> Result<(), StoreError> {
        self.read(|c| {
            c.execute(
                "UPDATE auth_keys SET layer = $2, api_id = $3, device_model = $4,
                        system_version = $5, app_version = $6 WHERE id = $1",
                &[
                    &id,
                    &layer,
                    &client.api_id,
                    &client.device_model.as_bytes(),
                    &client.system_version.as_bytes(),
                    &client.app_version.as_bytes(),
                ],
            )?;
            Ok(())
        })
    }

    fn delete_auth_key(&self, id: i64) -> Result<(), StoreError> {
        self.read(|c| {
            c.execute("DELETE FROM auth_keys WHERE id = $1", &[&id])?;
            Ok(())
        })
    }

    fn put_login_code(&self, code: &LoginCode) -> Result<(), StoreError> {
        self.read(|c| {
            c.execute(
                "INSERT INTO login_codes(phone, hash, code, expires_at, attempts, verified)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT(phone) DO UPDATE SET hash = EXCLUDED.hash, code = EXCLUDED.code,
                     expires_at = EXCLUDED.expires_at, attempts = EXCLUDED.attempts,
                     verified = EXCLUDED.verified",
                &[
                    &code.phone,
                    &code.hash,
                    &code.code,
                    &code.expires_at,
                    &code.attempts,
                    &code.verified,
                ],
            )?;
            Ok(())
        })
    }

    fn login_code(&self, phone: &str) -> Result<Option<LoginCode>, StoreError> {
        self.read(|c| {
            c.query_opt(
                "SELECT phone, hash, code, expires_at, attempts, verified FROM login_codes
                 WHERE phone = $1",
                &[&phone],
            )?
            .map(|r| {
                Ok(LoginCode {
                    phone: col(&r, 0)?,
                    hash: col(&r, 1)?,
                    code: col(&r, 2)?,
                    expires_at: col(&r, 3)?,
                    attempts: col(&r, 4)?,
                    verified: col(&r, 5)?,
                })
            })
            .transpose()
        })
    }

    fn bump_login_attempts(&self, phone: &str) -> Result<(), StoreError> {
        self.read(|c| {
            c.execute(
                "UPDATE login_codes SET attempts = attempts + 1 WHERE phone = $1",
                &[&phone],
            )?;
            Ok(())
        })
    }

    fn delete_login_code(&self, phone: &str) -> Result<(), StoreError> {
        self.read(|c| {
            c.execute("DELETE FROM login_codes WHERE phone = $1", &[&phone])?;
            Ok(())
        })
    }

    fn create_user(
        &self,
        phone: &str,
        first_name: &str,
        last_name: &str,
        access_hash: i64,
    ) -> Result<User, StoreError> {
        self.read(|c| {
            let row = c
                .query_one(
                    &format!(
                        "INSERT INTO users(access_hash, phone, first_name, last_name)
                         VALUES ($1, $2, $3, $4) RETURNING {USER_COLUMNS}"
                    ),
                    &[
                        &access_hash,
                        &phone,
                        &first_name.as_bytes(),
                        &last_name.as_bytes(),
                    ],
                )
                .map_err(taken("phone"))?;
            user_from_row(&row)
        })
    }

    fn user(&self, id: i64) -> Result<Option<User>, StoreError> {
        self.read(|c| get_user(c, id))
    }

    fn users(&self, ids: &[i64]) -> Result<Vec<User>, StoreError> {
        let mut found = self.read(|c| {
            c.query(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ANY($1)"),
                &[&ids],
            )?
            .iter()
            .map(user_from_row)
            .collect::<R<Vec<User>>>()
        })?;
        found.sort_by_key(|u| u.id);
        Ok(found)
    }

    fn user_by_phone(&self, phone: &str) -> Result<Option<User>, StoreError> {
        if phone.contains('\0') {
            // No stored phone has one (and a `text` parameter cannot carry it).
            return Ok(None);
        }
        self.read(|c| {
            c.query_opt(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE phone = $1"),
                &[&phone],
            )?
            .as_ref()
            .map(user_from_row)
            .transpose()
        })
    }

    fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        if username.contains('\0') {
            // No stored username has one (and a `text` parameter cannot carry it).
            return Ok(None);
        }
        self.read(|c| {
            c.query_opt(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE lower(username) = lower($1)"),
                &[&username],
            )?
            .as_ref()
            .map(user_from_row)
            .transpose()
        })
    }

    fn update_profile(
        &self,
        id: i64,
        first_name: Option<&str>,
        last_name: Option<&str>,
        about: Option<&str>,
    ) -> Result<User, StoreError> {
        self.read(|c| {
            c.query_opt(
                &format!(
                    "UPDATE users SET first_name = coalesce($2, first_name),
                            last_name = coalesce($3, last_name), about = coalesce($4, about)
                     WHERE id = $1 RETURNING {USER_COLUMNS}"
                ),
                &[
                    &id,
                    &first_name.map(str::as_bytes),
                    &last_name.map(str::as_bytes),
                    &about.map(str::as_bytes),
                ],
            )?
            .as_ref()
            .map(user_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound { what: "user" }.into())
        })
    }

    fn set_username(&self, id: i64, username: Option<&str>) -> Result<User, StoreError> {
        self.read(|c| {
            c.query_opt(
                &format!("UPDATE users SET username = $2 WHERE id = $1 RETURNING {USER_COLUMNS}"),
                &[&id, &username],
            )
            .map_err(taken("username"))?
            .as_ref()
            .map(user_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound { what: "user" }.into())
        })
    }

    fn add_contact(
        &self,
        owner: i64,
        user_id: i64,
        first_name: &str,
        last_name: &str,
    ) -> Result<(), StoreError> {
        self.read(|c| {
            c.execute(
                "INSERT INTO contacts(owner, user_id, first_name, last_name)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT(owner, user_id) DO UPDATE
                 SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name",
                &[
                    &owner,
                    &user_id,
                    &first_name.as_bytes(),
                    &last_name.as_bytes(),
                ],
            )?;
            Ok(())
        })
    }

    fn set_last_seen(&self, id: i64, date: i32) -> Result<(), StoreError> {
        self.read(|c| {
            c.execute(
                "UPDATE users SET last_seen = $2 WHERE id = $1 AND last_seen < $2",
                &[&id, &date],
            )?;
            Ok(())
        })
    }

    fn status_watchers(&self, id: i64) -> Result<Vec<i64>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT owner FROM contacts WHERE user_id = $1 AND owner <> $1
                 UNION SELECT owner FROM dialogs WHERE peer = $1 AND owner <> $1
                 ORDER BY 1",
                &[&id],
            )?
            .iter()
            .map(|r| col(r, 0))
            .collect()
        })
    }

    fn contacts(&self, owner: i64) -> Result<Vec<i64>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT user_id FROM contacts WHERE owner = $1 ORDER BY user_id",
                &[&owner],
            )?
            .iter()
            .map(|r| col(r, 0))
            .collect()
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
        self.read(|c| {
            c.execute(
                "INSERT INTO documents(id, access_hash, file_reference, content, size, mime_type,
                                       file_name, date)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &d.id,
                    &d.access_hash,
                    &d.file_reference,
                    &d.content,
                    &d.size,
                    &d.mime_type.as_bytes(),
                    &d.file_name.as_bytes(),
                    &d.date,
                ],
            )?;
            Ok(())
        })
    }

    fn document(&self, id: i64) -> Result<Option<Document>, StoreError> {
        self.read(|c| {
            c.query_opt(
                "SELECT id, access_hash, file_reference, content, size, mime_type, file_name, date
                 FROM documents WHERE id = $1",
                &[&id],
            )?
            .map(|r| {
                Ok(Document {
                    id: col(&r, 0)?,
                    access_hash: col(&r, 1)?,
                    file_reference: col(&r, 2)?,
                    content: col(&r, 3)?,
                    size: col(&r, 4)?,
                    mime_type: text(&r, 5)?,
                    file_name: text(&r, 6)?,
                    date: col(&r, 7)?,
                })
            })
            .transpose()
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
            // Every box with a copy, locked in id order before anything changes.
            let mut boxes = vec![owner];
            if let Some(m) = get_message(tx, owner, id)? {
                boxes.extend(other_copies(tx, &m)?.iter().map(|c| c.0));
            }
            lock_users(tx, &boxes)?;
            let message = get_message(tx, owner, id)?
                .filter(|m| m.out)
                .ok_or(StoreError::NotFound { what: "message" })?;
            let copies = other_copies(tx, &message)?;
            let text = edit.text.as_deref().unwrap_or(&message.text);
            let words = server_kit_store::search::index_words(text);
            let entities = match &edit.text {
                Some(_) => &edit.entities,
                None => &message.entities,
            };
            let mut out = Vec::new();
            for (box_owner, id) in std::iter::once((owner, id)).chain(copies) {
                let edited = tx
                    .query_opt(
                        &format!(
                            "UPDATE messages SET text = $3, edit_date = $4, search = {},
                                 entities = $6, reply_markup = $7
                             WHERE owner = $1 AND id = $2 RETURNING {MESSAGE_COLUMNS}",
                            search::search_vector(5)
                        ),
                        &[
                            &box_owner,
                            &id,
                            &text.as_bytes(),
                            &date,
                            &words,
                            &rows::blob_column(entities),
                            &rows::blob_column(&edit.reply_markup),
                        ],
                    )?
                    .as_ref()
                    .map(message_from_row)
                    .transpose()?;
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

    fn set_pinned(
        &self,
        owner: i64,
        peer: i64,
        ids: Option<&[i32]>,
        pinned: bool,
        both_sides: bool,
        date: i32,
    ) -> Result<Vec<Committed>, StoreError> {
        let wanted: Option<Vec<i32>> = ids.map(<[i32]>::to_vec);
        self.tx(|tx| {
            let mut boxes = vec![owner];
            if both_sides && peer != owner {
                boxes.push(peer);
            }
            lock_users(tx, &boxes)?;
            // The owner's messages named (all of the chat's pinned ones without ids), with the
            // ids of their copies in the peer's box.
            let named: Vec<(i32, Option<i32>, bool)> = tx
                .query(
                    "SELECT id, copy_id, pinned FROM messages WHERE owner = $1 AND peer = $2
                     AND (CASE WHEN $3::INTEGER[] IS NULL THEN pinned ELSE id = ANY($3) END)
                     ORDER BY id",
                    &[&owner, &peer, &wanted],
                )?
                .iter()
                .map(|r| Ok((col(r, 0)?, col(r, 1)?, col(r, 2)?)))
                .collect::<R<_>>()?;
            if wanted.is_some() && named.is_empty() {
                return Err(StoreError::NotFound { what: "message" }.into());
            }
            let mut committed = Vec::new();
            let own: Vec<i32> = named
                .iter()
                .filter(|(_, _, was)| *was != pinned)
                .map(|(id, _, _)| *id)
                .collect();
            committed.extend(pin_in_box(tx, owner, peer, &own, pinned, date)?);
            if both_sides && peer != owner {
                let copies: Vec<i32> = match wanted {
                    Some(_) => named.iter().filter_map(|(_, copy, _)| *copy).collect(),
                    None => tx
                        .query(
                            "SELECT id FROM messages WHERE owner = $1 AND peer = $2 AND pinned",
                            &[&peer, &owner],
                        )?
                        .iter()
                        .map(|r| col(r, 0))
                        .collect::<R<_>>()?,
                };
                let changed: Vec<i32> = tx
                    .query(
                        "SELECT id FROM messages WHERE owner = $1 AND peer = $2
                         AND id = ANY($3) AND pinned <> $4 ORDER BY id",
                        &[&peer, &owner, &copies, &pinned],
                    )?
                    .iter()
                    .map(|r| col(r, 0))
                    .collect::<R<_>>()?;
                committed.extend(pin_in_box(tx, peer, owner, &changed, pinned, date)?);
            }
            Ok(committed)
        })
    }

    fn pinned(&self, owner: i64, peer: i64) -> Result<Vec<i32>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT id FROM messages WHERE owner = $1 AND peer = $2 AND pinned
                 ORDER BY id DESC",
                &[&owner, &peer],
            )?
            .iter()
            .map(|r| col(r, 0))
            .collect()
        })
    }

    fn delete_messages(
        &self,
        owner: i64,
        ids: &[i32],
        revoke: bool,
        date: i32,
    ) -> Result<Vec<Committed>, StoreError> {
        let mut unique: Vec<i32> = Vec::new();
        for id in ids {
            if !unique.contains(id) {
                unique.push(*id);
            }
        }
        self.tx(|tx| {
            // The owner's box and, when revoking, every box a copy may be in, locked in id
            // order before anything changes.
            let mut boxes = vec![owner];
            if revoke {
                for m in get_messages(tx, owner, &unique)? {
                    boxes.extend(other_copies(tx, &m)?.iter().map(|c| c.0));
                }
            }
            lock_users(tx, &boxes)?;
            let found = get_messages(tx, owner, &unique)?;
            if found.is_empty() {
                return Ok(Vec::new());
            }
            // Keyed by the copy's box and the chat it is in there.
            let mut copies = BTreeMap::<(i64, i64), Vec<i32>>::new();
            if revoke {
                for m in &found {
                    for (copy_owner, copy) in other_copies(tx, m)? {
                        tx.execute(
                            "DELETE FROM messages WHERE owner = $1 AND id = $2",
                            &[&copy_owner, &copy],
                        )?;
                        let chat = if peer_chat(m.peer).is_some() {
                            m.peer
                        } else {
                            owner
                        };
                        copies.entry((copy_owner, chat)).or_default().push(copy);
                    }
                }
            }
            let deleted: Vec<i32> = found.iter().map(|m| m.id).collect();
            tx.execute(
                "DELETE FROM messages WHERE owner = $1 AND id = ANY($2)",
                &[&owner, &deleted],
            )?;
            let chats: BTreeSet<i64> = found.iter().map(|m| m.peer).collect();
            for peer in chats {
                refresh_dialog(tx, owner, peer)?;
            }
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
            lock_users(tx, &[owner, peer])?;
            let newest_incoming: i32 = col(
                &tx.query_one(
                    "SELECT coalesce(max(id), 0) FROM messages
                     WHERE owner = $1 AND peer = $2 AND NOT out AND ($3 = 0 OR id <= $3)",
                    &[&owner, &peer, &max_id],
                )?,
                0,
            )?;
            let Some(current) = tx.query_opt(
                "SELECT read_inbox_max_id FROM dialogs WHERE owner = $1 AND peer = $2",
                &[&owner, &peer],
            )?
            else {
                return Ok(Vec::new());
            };
            let current: i32 = col(&current, 0)?;
            if newest_incoming <= current {
                return Ok(Vec::new());
            }
            tx.execute(
                "UPDATE dialogs SET read_inbox_max_id = $3 WHERE owner = $1 AND peer = $2",
                &[&owner, &peer, &newest_incoming],
            )?;
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
                let senders = tx.query(
                    "SELECT from_id, max(copy_id) FROM messages
                     WHERE owner = $1 AND peer = $2 AND NOT out AND id > $3 AND id <= $4
                     GROUP BY from_id ORDER BY from_id",
                    &[&owner, &peer, &current, &newest_incoming],
                )?;
                for row in senders {
                    let (sender, max_id): (i64, Option<i32>) = (col(&row, 0)?, col(&row, 1)?);
                    let Some(max_id) = max_id else { continue };
                    let updated = tx.execute(
                        "UPDATE dialogs SET read_outbox_max_id = $3
                         WHERE owner = $1 AND peer = $2 AND read_outbox_max_id < $3",
                        &[&sender, &peer, &max_id],
                    )?;
                    if updated > 0 {
                        let change = Change::ReadOutbox { peer, max_id };
                        out.push(log_change(tx, sender, 1, date, change, None)?);
                    }
                }
            } else if peer != owner {
                let read = get_message(tx, owner, newest_incoming)?
                    .ok_or(StoreError::NotFound { what: "message" })?;
                let outbox_max = match copy_link(tx, &read)? {
                    Some(id) => id,
                    None => col(
                        &tx.query_one(
                            "SELECT coalesce(max(id), 0) FROM messages
                             WHERE owner = $1 AND peer = $2 AND out AND date <= $3",
                            &[&peer, &owner, &read.date],
                        )?,
                        0,
                    )?,
                };
                let updated = tx.execute(
                    "UPDATE dialogs SET read_outbox_max_id = $3
                     WHERE owner = $1 AND peer = $2 AND read_outbox_max_id < $3",
                    &[&peer, &owner, &outbox_max],
                )?;
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

    fn history(
        &self,
        owner: i64,
        peer: i64,
        q: HistoryQuery,
    ) -> Result<(Vec<Message>, i32), StoreError> {
        // One snapshot: the count and the slice agree.
        self.snapshot(|c| {
            let total = count(
                &c.query_one(
                    "SELECT count(*) FROM messages WHERE owner = $1 AND peer = $2",
                    &[&owner, &peer],
                )?,
                0,
            )?;
            // Telegram's pagination: see HistoryQuery::window.
            let newer: i64 = col(
                &c.query_one(
                    "SELECT count(*) FROM messages WHERE owner = $1 AND peer = $2
                     AND NOT (id < $3::bigint AND date < $4::bigint)",
                    &[&owner, &peer, &q.below_id(), &q.below_date()],
                )?,
                0,
            )?;
            let Some((skip, take)) = q.window(newer) else {
                return Ok((Vec::new(), total));
            };
            let rows = c.query(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE owner = $1 AND peer = $2
                     ORDER BY id DESC LIMIT $3 OFFSET $4"
                ),
                &[&owner, &peer, &take, &skip],
            )?;
            let mut out = Vec::new();
            for row in &rows {
                let m = message_from_row(row)?;
                if q.keeps(m.id) {
                    out.push(m);
                }
            }
            Ok((out, total))
        })
    }

    fn dialogs_of(&self, owner: i64, peers: &[i64]) -> Result<Vec<Dialog>, StoreError> {
        let peers = peers.to_vec();
        self.snapshot(|c| {
            dialog_rows(
                c,
                "d.peer = ANY($2) ORDER BY d.top_date DESC, d.top_message DESC",
                &[&owner, &peers],
            )
        })
    }

    fn messages(&self, owner: i64, ids: &[i32]) -> Result<Vec<Message>, StoreError> {
        self.read(|c| get_messages(c, owner, ids))
    }

    fn dialogs(
        &self,
        owner: i64,
        offset: Option<DialogPosition>,
        limit: i32,
    ) -> Result<(Vec<Dialog>, i32), StoreError> {
        self.snapshot(|c| {
            let total = count(
                &c.query_one("SELECT count(*) FROM dialogs WHERE owner = $1", &[&owner])?,
                0,
            )?;
            let upper = offset.unwrap_or(DialogPosition {
                date: i32::MAX,
                id: i32::MAX,
            });
            let out = dialog_rows(
                c,
                "(d.top_date, d.top_message) < ($2, $3)
                 ORDER BY d.top_date DESC, d.top_message DESC LIMIT $4",
                &[
                    &owner,
                    &upper.date,
                    &upper.id,
                    &i64::from(limit.clamp(1, 100)),
                ],
            )?;
            Ok((out, total))
        })
    }

    fn pts(&self, owner: i64) -> Result<i32, StoreError> {
        self.read(|c| {
            Ok(
                match c.query_opt("SELECT pts FROM users WHERE id = $1", &[&owner])? {
                    Some(r) => col(&r, 0)?,
                    None => 0,
                },
            )
        })
    }

    fn changes_since(
        &self,
        owner: i64,
        pts: i32,
        limit: usize,
    ) -> Result<(Vec<LoggedChange>, Vec<Message>), StoreError> {
        // One statement (one snapshot, one round trip): each entry with the message it names.
        self.read(|c| {
            let rows = c.query(
                &format!(
                    "SELECT {}, {}
                     FROM (SELECT * FROM changes WHERE owner = $1 AND pts > $2
                           ORDER BY pts LIMIT $3) c
                     LEFT JOIN messages m
                         ON m.owner = $1 AND m.id = c.value AND c.kind IN ($4, $5)
                     ORDER BY c.pts",
                    rows::prefixed(LOG_COLUMNS, "c"),
                    rows::prefixed(MESSAGE_COLUMNS, "m")
                ),
                &[
                    &owner,
                    &pts,
                    &i64::try_from(limit).unwrap_or(i64::MAX),
                    &rows::kind::NEW,
                    &rows::kind::EDIT,
                ],
            )?;
            let mut changes = Vec::with_capacity(rows.len());
            let (mut messages, mut seen) = (Vec::new(), BTreeSet::new());
            for row in &rows {
                changes.push(change_from_row(row)?);
                if col::<Option<i64>>(row, 7)?.is_some() {
                    let message = message_at(row, 7)?;
                    if seen.insert(message.id) {
                        messages.push(message);
                    }
                }
            }
            Ok((changes, messages))
        })
    }
}
