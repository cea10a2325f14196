//! Callback queries: a user pressed a callback button of a bot's message
//! (`messages.getBotCallbackAnswer`). The query is stored and takes an entry in the bot's
//! box ([`Change::BotCallbackQuery`](crate::Change::BotCallbackQuery)), so the bot hears of
//! it like of a message, on whatever node it is connected to (and a Bot API bot gets it in
//! order with its messages); the bot's answer is stored on the query, where the node the
//! user waits on finds it.

use crate::{Committed, StoreError};

/// Queries older than this (seconds) are forgotten when a new one is stored: their answer
/// is long past use (a user waits seconds for it) and Bot API updates live 24 hours.
pub const QUERY_LIFETIME_SECS: i32 = 48 * 60 * 60;

/// A stored callback query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackQuery {
    /// Its id (random, unique).
    pub id: i64,
    /// The bot asked.
    pub bot: i64,
    /// The user who pressed the button.
    pub user: i64,
    /// The message, by its id in the bot's box.
    pub msg_id: i32,
    /// The chat of the message as the bot sees it: the user, or a basic group's box peer.
    pub peer: i64,
    /// The button's data.
    pub data: Vec<u8>,
    /// When it was pressed.
    pub date: i32,
    /// The bot's answer, once given.
    pub answer: Option<CallbackAnswer>,
}

/// A bot's answer to a callback query (`messages.setBotCallbackAnswer`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackAnswer {
    /// The text to show (may be empty).
    pub message: String,
    /// Shown as an alert rather than a toast.
    pub alert: bool,
    /// A URL for the client to open (empty: none).
    pub url: String,
    /// How long the client may cache the answer (seconds).
    pub cache_time: i32,
}

/// Callback query storage.
pub trait CallbackStore {
    /// Stores `query` (its `answer` is ignored) and logs it in the bot's box in one
    /// transaction; queries older than [`QUERY_LIFETIME_SECS`] are forgotten.
    fn add_callback_query(&self, query: &CallbackQuery) -> Result<Committed, StoreError>;
    /// A query by id (with its answer, if any).
    fn callback_query(&self, id: i64) -> Result<Option<CallbackQuery>, StoreError>;
    /// Records `bot`'s answer to query `id`: `false` (and nothing written) if there is no such
    /// query of that bot or it was answered already.
    fn answer_callback_query(
        &self,
        id: i64,
        bot: i64,
        answer: &CallbackAnswer,
    ) -> Result<bool, StoreError>;
    /// The id of the other side's copy of private message `id` of `owner`'s box (a button
    /// is pressed on the user's copy, the bot is told of its own); `None` for no such message,
    /// a group's message or a note to oneself.
    fn peer_copy(&self, owner: i64, id: i32) -> Result<Option<i32>, StoreError>;
}
