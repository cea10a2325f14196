//! Callback queries in PostgreSQL (migration 16): see [`server_kit_store::callbacks`].

use super::{PgStore, col, copy_of, get_message, lock_users, log_change, text};
use server_kit_store::callbacks::{
    CallbackAnswer, CallbackQuery, CallbackStore, QUERY_LIFETIME_SECS,
};
use server_kit_store::chats::peer_chat;
use server_kit_store::{Change, Committed, StoreError};

impl CallbackStore for PgStore {
    fn add_callback_query(&self, q: &CallbackQuery) -> Result<Committed, StoreError> {
        self.tx(|tx| {
            lock_users(tx, &[q.bot])?;
            tx.execute(
                "DELETE FROM bot_callback_queries WHERE date < $1",
                &[&q.date.saturating_sub(QUERY_LIFETIME_SECS)],
            )?;
            tx.execute(
                "INSERT INTO bot_callback_queries(id, bot, user_id, msg_id, peer, data, date)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&q.id, &q.bot, &q.user, &q.msg_id, &q.peer, &q.data, &q.date],
            )?;
            let change = Change::BotCallbackQuery { query_id: q.id };
            log_change(tx, q.bot, 1, q.date, change, None)
        })
    }

    fn callback_query(&self, id: i64) -> Result<Option<CallbackQuery>, StoreError> {
        self.read(|c| {
            let Some(r) = c.query_opt(
                "SELECT id, bot, user_id, msg_id, peer, data, date, answered, message, alert,
                        url, cache_time
                 FROM bot_callback_queries WHERE id = $1",
                &[&id],
            )?
            else {
                return Ok(None);
            };
            let answered: bool = col(&r, 7)?;
            let answer = if answered {
                Some(CallbackAnswer {
                    message: text(&r, 8)?,
                    alert: col(&r, 9)?,
                    url: text(&r, 10)?,
                    cache_time: col(&r, 11)?,
                })
            } else {
                None
            };
            Ok(Some(CallbackQuery {
                id: col(&r, 0)?,
                bot: col(&r, 1)?,
                user: col(&r, 2)?,
                msg_id: col(&r, 3)?,
                peer: col(&r, 4)?,
                data: col(&r, 5)?,
                date: col(&r, 6)?,
                answer,
            }))
        })
    }

    fn answer_callback_query(
        &self,
        id: i64,
        bot: i64,
        answer: &CallbackAnswer,
    ) -> Result<bool, StoreError> {
        let changed = self.read(|c| {
            Ok(c.execute(
                "UPDATE bot_callback_queries
                 SET answered = TRUE, message = $3, alert = $4, url = $5, cache_time = $6
                 WHERE id = $1 AND bot = $2 AND NOT answered",
                &[
                    &id,
                    &bot,
                    &answer.message.as_bytes(),
                    &answer.alert,
                    &answer.url.as_bytes(),
                    &answer.cache_time,
                ],
            )?)
        })?;
        Ok(changed == 1)
    }

    fn peer_copy(&self, owner: i64, id: i32) -> Result<Option<i32>, StoreError> {
        self.tx(|tx| match get_message(tx, owner, id)? {
            Some(m) if peer_chat(m.peer).is_none() => copy_of(tx, &m),
            _ => Ok(None),
        })
    }
}
