//! Bot accounts: a bot is a user whose [`User::bot_info_version`] is set, with the SHA-256 of
//! its token's secret (see `server_kit::bot_token`) in a table of its own, `bot_tokens`.
//!
//! A bot has no phone number. The `users` table wants a unique phone, so a bot's row holds
//! `bot:ID`, which no phone number a client sends (digits only) can ever match; the services
//! never show it.

use crate::{StoreError, User};

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

    /// Replaces the bot's command list (`bots.setBotCommands`) and raises its
    /// `bot_info_version`, so clients refetch its info: the new version.
    /// [`StoreError::NotFound`] if `bot` is not a bot.
    fn set_bot_commands(&self, bot: i64, commands: &[BotCommand]) -> Result<i32, StoreError>;
    /// The bot's commands, in the order they were set.
    fn bot_commands(&self, bot: i64) -> Result<Vec<BotCommand>, StoreError>;
}

/// A command of a bot's menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotCommand {
    /// The command, without `/`.
    pub command: String,
    /// What it does.
    pub description: String,
}

/// A stored hash of the wrong length (never written by this store) is an error, not a panic.
pub fn hash_from_bytes(bytes: Vec<u8>) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| StoreError::Database(format!("a bot token hash of {} bytes", bytes.len())))
}
