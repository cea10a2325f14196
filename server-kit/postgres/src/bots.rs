//! Bot accounts in PostgreSQL (migration 4): see [`server_kit_store::bots`].

use super::{PgStore, col, lock_users, taken, text};
use server_kit_store::bots::{BotCommand, BotStore, FIRST_BOT_INFO_VERSION, hash_from_bytes};
use server_kit_store::{Store, StoreError, User};

/// Migration 4: the `bot_info_version` of users (NULL: a person) and the hashes of bot
/// tokens.
pub(super) const SCHEMA_V4: &str = "
ALTER TABLE users ADD COLUMN bot_info_version INTEGER;
CREATE TABLE bot_tokens(user_id BIGINT PRIMARY KEY, secret_hash BYTEA NOT NULL);
";

impl BotStore for PgStore {
    fn create_bot(
        &self,
        username: &str,
        name: &str,
        access_hash: i64,
        secret_hash: &[u8; 32],
    ) -> Result<User, StoreError> {
        let empty: &[u8] = &[];
        let id = self.tx(|tx| {
            // The placeholder phone `bot:ID` (see `bot_phone`) needs the id the row takes.
            let row = tx
                .query_one(
                    "INSERT INTO users(id, access_hash, phone, first_name, last_name, username,
                         bot_info_version)
                     SELECT n, $1, 'bot:' || n, $2, $3, $4, $5
                     FROM (SELECT nextval('user_ids') AS n) AS next
                     RETURNING id",
                    &[
                        &access_hash,
                        &name.as_bytes(),
                        &empty,
                        &username,
                        &FIRST_BOT_INFO_VERSION,
                    ],
                )
                .map_err(taken("username"))?;
            let id: i64 = col(&row, 0)?;
            tx.execute(
                "INSERT INTO bot_tokens(user_id, secret_hash) VALUES ($1, $2)",
                &[&id, &secret_hash.as_slice()],
            )?;
            Ok(id)
        })?;
        self.user(id)?.ok_or(StoreError::NotFound { what: "user" })
    }

    fn bot_secret_hash(&self, user_id: i64) -> Result<Option<[u8; 32]>, StoreError> {
        self.read(|c| {
            c.query_opt(
                "SELECT secret_hash FROM bot_tokens WHERE user_id = $1",
                &[&user_id],
            )?
            .map(|r| col::<Vec<u8>>(&r, 0))
            .transpose()
        })?
        .map(hash_from_bytes)
        .transpose()
    }

    fn set_bot_commands(&self, bot: i64, commands: &[BotCommand]) -> Result<i32, StoreError> {
        self.tx(|tx| {
            lock_users(tx, &[bot])?;
            let version: i32 = match tx.query_opt(
                "UPDATE users SET bot_info_version = bot_info_version + 1
                 WHERE id = $1 AND bot_info_version IS NOT NULL
                 RETURNING bot_info_version",
                &[&bot],
            )? {
                Some(r) => col(&r, 0)?,
                None => return Err(StoreError::NotFound { what: "bot" }.into()),
            };
            tx.execute("DELETE FROM bot_commands WHERE bot = $1", &[&bot])?;
            for (position, c) in commands.iter().enumerate() {
                let position = i32::try_from(position).unwrap_or(i32::MAX);
                tx.execute(
                    "INSERT INTO bot_commands(bot, position, command, description)
                     VALUES ($1, $2, $3, $4)",
                    &[
                        &bot,
                        &position,
                        &c.command.as_bytes(),
                        &c.description.as_bytes(),
                    ],
                )?;
            }
            Ok(version)
        })
    }

    fn bot_commands(&self, bot: i64) -> Result<Vec<BotCommand>, StoreError> {
        self.read(|c| {
            c.query(
                "SELECT command, description FROM bot_commands WHERE bot = $1 ORDER BY position",
                &[&bot],
            )?
            .iter()
            .map(|r| {
                Ok(BotCommand {
                    command: text(r, 0)?,
                    description: text(r, 1)?,
                })
            })
            .collect()
        })
    }
}
