//! Callback queries in SQLite: see [`server_kit_store::callbacks`].

use crate::{SqliteStore, copy_of, db, get_message, log_change};
use rusqlite::{OptionalExtension, params};
use server_kit_store::callbacks::{
    CallbackAnswer, CallbackQuery, CallbackStore, QUERY_LIFETIME_SECS,
};
use server_kit_store::chats::peer_chat;
use server_kit_store::{Change, Committed, StoreError};

/// The SQLite table of this module, created when the store opens.
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS bot_callback_queries(
    id INTEGER PRIMARY KEY, bot INTEGER NOT NULL, user_id INTEGER NOT NULL,
    msg_id INTEGER NOT NULL, peer INTEGER NOT NULL, data BLOB NOT NULL, date INTEGER NOT NULL,
    answered INTEGER NOT NULL DEFAULT 0, message TEXT NOT NULL DEFAULT '',
    alert INTEGER NOT NULL DEFAULT 0, url TEXT NOT NULL DEFAULT '',
    cache_time INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS bot_callback_queries_by_date ON bot_callback_queries(date);
";

impl CallbackStore for SqliteStore {
    fn add_callback_query(&self, q: &CallbackQuery) -> Result<Committed, StoreError> {
        self.tx(|tx| {
            tx.execute(
                "DELETE FROM bot_callback_queries WHERE date < ?1",
                [q.date.saturating_sub(QUERY_LIFETIME_SECS)],
            )
            .map_err(db)?;
            tx.execute(
                "INSERT INTO bot_callback_queries(id, bot, user_id, msg_id, peer, data, date)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![q.id, q.bot, q.user, q.msg_id, q.peer, q.data, q.date],
            )
            .map_err(db)?;
            let change = Change::BotCallbackQuery { query_id: q.id };
            log_change(tx, q.bot, 1, q.date, change, None)
        })
    }

    fn callback_query(&self, id: i64) -> Result<Option<CallbackQuery>, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT id, bot, user_id, msg_id, peer, data, date, answered, message, alert,
                        url, cache_time
                 FROM bot_callback_queries WHERE id = ?1",
                [id],
                |r| {
                    let answered: bool = r.get(7)?;
                    let answer = if answered {
                        Some(CallbackAnswer {
                            message: r.get(8)?,
                            alert: r.get(9)?,
                            url: r.get(10)?,
                            cache_time: r.get(11)?,
                        })
                    } else {
                        None
                    };
                    Ok(CallbackQuery {
                        id: r.get(0)?,
                        bot: r.get(1)?,
                        user: r.get(2)?,
                        msg_id: r.get(3)?,
                        peer: r.get(4)?,
                        data: r.get(5)?,
                        date: r.get(6)?,
                        answer,
                    })
                },
            )
            .optional()
        })
    }

    fn answer_callback_query(
        &self,
        id: i64,
        bot: i64,
        answer: &CallbackAnswer,
    ) -> Result<bool, StoreError> {
        let changed = self.with(|c| {
            c.execute(
                "UPDATE bot_callback_queries
                 SET answered = 1, message = ?3, alert = ?4, url = ?5, cache_time = ?6
                 WHERE id = ?1 AND bot = ?2 AND answered = 0",
                params![
                    id,
                    bot,
                    answer.message,
                    answer.alert,
                    answer.url,
                    answer.cache_time
                ],
            )
        })?;
        Ok(changed == 1)
    }

    fn peer_copy(&self, owner: i64, id: i32) -> Result<Option<i32>, StoreError> {
        self.read(|c| match get_message(c, owner, id)? {
            Some(m) if peer_chat(m.peer).is_none() => copy_of(c, &m),
            _ => Ok(None),
        })
    }
}
