//! Bot accounts in SQLite: see [`server_kit_store::bots`].

use crate::{FIRST_USER_ID, SqliteStore, db};
use rusqlite::{OptionalExtension, params};
use server_kit_store::bots::{
    BotCommand, BotStore, FIRST_BOT_INFO_VERSION, bot_phone, hash_from_bytes,
};
use server_kit_store::{Store, StoreError, User};

/// The SQLite table of this module, created when the store opens (the `bot_info_version`
/// column of `users` is one of the store's column migrations).
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS bot_tokens(user_id INTEGER PRIMARY KEY, secret_hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS bot_commands(
    bot INTEGER NOT NULL, position INTEGER NOT NULL, command TEXT NOT NULL,
    description TEXT NOT NULL, PRIMARY KEY(bot, position));
";

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

    fn set_bot_commands(&self, bot: i64, commands: &[BotCommand]) -> Result<i32, StoreError> {
        self.tx(|tx| {
            let version: i32 = tx
                .query_row(
                    "UPDATE users SET bot_info_version = bot_info_version + 1
                     WHERE id = ?1 AND bot_info_version IS NOT NULL
                     RETURNING bot_info_version",
                    [bot],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?
                .ok_or(StoreError::NotFound { what: "bot" })?;
            tx.execute("DELETE FROM bot_commands WHERE bot = ?1", [bot])
                .map_err(db)?;
            for (position, c) in commands.iter().enumerate() {
                tx.execute(
                    "INSERT INTO bot_commands(bot, position, command, description)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![bot, position as i64, c.command, c.description],
                )
                .map_err(db)?;
            }
            Ok(version)
        })
    }

    fn bot_commands(&self, bot: i64) -> Result<Vec<BotCommand>, StoreError> {
        self.with(|c| {
            let mut statement = c.prepare(
                "SELECT command, description FROM bot_commands WHERE bot = ?1 ORDER BY position",
            )?;
            let rows = statement.query_map([bot], |r| {
                Ok(BotCommand {
                    command: r.get(0)?,
                    description: r.get(1)?,
                })
            })?;
            rows.collect()
        })
    }
}
