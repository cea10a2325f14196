//! Bot accounts: a bot is a user whose [`User::bot_info_version`] is set, with the SHA-256 of
//! its token's secret (see [`crate::bot_token`]) in a table of its own, `bot_tokens`.
//!
//! A bot has no phone number. The `users` table wants a unique phone, so a bot's row holds
//! `bot:ID`, which no phone number a client sends (digits only) can ever match; the services
//! never show it.

use super::sqlite::{FIRST_USER_ID, db};
use super::{SqliteStore, Store, StoreError, User};
use rusqlite::{OptionalExtension, params};

/// The SQLite table of this module, created when the store opens (the `bot_info_version`
/// column of `users` is one of the store's column migrations).
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS bot_tokens(user_id INTEGER PRIMARY KEY, secret_hash BLOB NOT NULL);
";

/// The `bot_info_version` a new bot starts with (Telegram's clients refetch a bot's info,
/// e.g. its commands, when the number grows).
pub const FIRST_BOT_INFO_VERSION: i32 = 1;

/// The placeholder phone of the bot with this id.
pub fn bot_phone(id: i64) -> String {
    format!("bot:{id}")
}

/// Bot storage.
pub trait BotStore {
    /// Creates a bot account: a user with `username` (unique, case-insensitively, among
    /// users and bots), first name `name`, no last name, `bot_info_version`
    /// [`FIRST_BOT_INFO_VERSION`], and `secret_hash` as its token's. A taken username is
    /// [`StoreError::Taken`] and creates nothing.
    fn create_bot(
        &self,
        username: &str,
        name: &str,
        access_hash: i64,
        secret_hash: &[u8; 32],
    ) -> Result<User, StoreError>;

    /// The stored hash of a bot's token secret; `None` when `user_id` is not a bot.
    fn bot_secret_hash(&self, user_id: i64) -> Result<Option<[u8; 32]>, StoreError>;
}

/// A stored hash of the wrong length (never written by this store) is an error, not a panic.
pub(crate) fn hash_from_bytes(bytes: Vec<u8>) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| StoreError::Database(format!("a bot token hash of {} bytes", bytes.len())))
}

impl BotStore for SqliteStore {
    fn create_bot(
        &self,
        username: &str,
        name: &str,
        access_hash: i64,
        secret_hash: &[u8; 32],
    ) -> Result<User, StoreError> {
        let id = self.tx(|tx| {
            let id: i64 = tx
                .query_row(
                    "SELECT coalesce(max(id) + 1, ?1) FROM users",
                    [FIRST_USER_ID],
                    |r| r.get(0),
                )
                .map_err(db)?;
            tx.execute(
                "INSERT INTO users(id, access_hash, phone, first_name, last_name, username,
                     bot_info_version)
                 VALUES (?1, ?2, ?3, ?4, '', ?5, ?6)",
                params![
                    id,
                    access_hash,
                    bot_phone(id),
                    name,
                    username,
                    FIRST_BOT_INFO_VERSION
                ],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    StoreError::Taken { what: "username" }
                }
                other => db(other),
            })?;
            tx.execute(
                "INSERT INTO bot_tokens(user_id, secret_hash) VALUES (?1, ?2)",
                params![id, secret_hash.as_slice()],
            )
            .map_err(db)?;
            Ok(id)
        })?;
        self.user(id)?.ok_or(StoreError::NotFound { what: "user" })
    }

    fn bot_secret_hash(&self, user_id: i64) -> Result<Option<[u8; 32]>, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT secret_hash FROM bot_tokens WHERE user_id = ?1",
                [user_id],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()
        })?
        .map(hash_from_bytes)
        .transpose()
    }
}
