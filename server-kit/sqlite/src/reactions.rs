//! Message reactions in SQLite: see [`server_kit_store::reactions`].
//!
//! One row per (message, user): `reactions` for the copies of private messages, by box and
//! id; `channel_reactions` for posts. A trigger removes a message's reactions with the
//! message, so a deleted message leaves none behind.

use crate::{SqliteStore, copy_of, db, get_message};
use rusqlite::{Connection, params};
use server_kit_store::StoreError;
use server_kit_store::reactions::{Reacted, Reaction, ReactionStore, Reactions, group};
use server_kit_store::rows::join_ids;

/// The tables and triggers of this module, created when the store opens (an older file gets
/// them then too).
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS reactions(
    owner INTEGER NOT NULL, id INTEGER NOT NULL, user_id INTEGER NOT NULL,
    emoji TEXT NOT NULL, date INTEGER NOT NULL, PRIMARY KEY(owner, id, user_id));
CREATE TABLE IF NOT EXISTS channel_reactions(
    channel INTEGER NOT NULL, id INTEGER NOT NULL, user_id INTEGER NOT NULL,
    emoji TEXT NOT NULL, date INTEGER NOT NULL, PRIMARY KEY(channel, id, user_id));
CREATE TRIGGER IF NOT EXISTS reactions_of_deleted AFTER DELETE ON messages BEGIN
    DELETE FROM reactions WHERE owner = old.owner AND id = old.id;
END;
CREATE TRIGGER IF NOT EXISTS channel_reactions_of_deleted AFTER DELETE ON channel_messages BEGIN
    DELETE FROM channel_reactions WHERE channel = old.channel AND id = old.id;
END;
";

/// Sets or removes `user`'s reaction in `table` (`scope` naming its box or channel column);
/// whether anything changed.
fn set(
    c: &Connection,
    table: &str,
    scope: &str,
    (at, id): (i64, i32),
    user: i64,
    emoji: Option<&str>,
    date: i32,
) -> Result<bool, StoreError> {
    let changed = match emoji {
        Some(emoji) => c.execute(
            &format!(
                "INSERT INTO {table}({scope}, id, user_id, emoji, date) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT({scope}, id, user_id) DO UPDATE
                 SET emoji = excluded.emoji, date = excluded.date
                 WHERE emoji <> excluded.emoji"
            ),
            params![at, id, user, emoji, date],
        ),
        None => c.execute(
            &format!("DELETE FROM {table} WHERE {scope} = ?1 AND id = ?2 AND user_id = ?3"),
            params![at, id, user],
        ),
    }
    .map_err(db)?;
    Ok(changed > 0)
}

/// The reactions in `table` to messages `ids` of one box or channel.
fn read(
    c: &Connection,
    table: &str,
    scope: &str,
    at: i64,
    ids: &[i32],
) -> Result<Vec<Reactions>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Ids are numbers: joined into the statement, they cannot carry SQL.
    let mut stmt = c
        .prepare(&format!(
            "SELECT id, user_id, emoji, date FROM {table}
             WHERE {scope} = ?1 AND id IN ({})",
            join_ids(ids)
        ))
        .map_err(db)?;
    let rows = stmt
        .query_map([at], |r| {
            Ok((
                r.get::<_, i32>(0)?,
                Reaction {
                    user_id: r.get(1)?,
                    emoji: r.get(2)?,
                    date: r.get(3)?,
                },
            ))
        })
        .map_err(db)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db)?;
    Ok(group(rows))
}

impl ReactionStore for SqliteStore {
    fn react(
        &self,
        owner: i64,
        peer: i64,
        id: i32,
        emoji: Option<&str>,
        date: i32,
    ) -> Result<Reacted, StoreError> {
        self.tx(|tx| {
            let message = get_message(tx, owner, id)?
                .filter(|m| m.peer == peer)
                .ok_or(StoreError::NotFound { what: "message" })?;
            let copy = copy_of(tx, &message)?;
            let mut changed = set(tx, "reactions", "owner", (owner, id), owner, emoji, date)?;
            if let Some(copy) = copy {
                changed |= set(tx, "reactions", "owner", (peer, copy), owner, emoji, date)?;
            }
            Ok(Reacted { copy, changed })
        })
    }

    fn reactions(&self, owner: i64, ids: &[i32]) -> Result<Vec<Reactions>, StoreError> {
        self.read(|c| read(c, "reactions", "owner", owner, ids))
    }

    fn react_in_channel(
        &self,
        channel: i64,
        id: i32,
        user: i64,
        emoji: Option<&str>,
        date: i32,
    ) -> Result<bool, StoreError> {
        self.tx(|tx| {
            let found: i64 = tx
                .query_row(
                    "SELECT count(*) FROM channel_messages WHERE channel = ?1 AND id = ?2",
                    params![channel, id],
                    |r| r.get(0),
                )
                .map_err(db)?;
            if found == 0 {
                return Err(StoreError::NotFound { what: "post" });
            }
            set(
                tx,
                "channel_reactions",
                "channel",
                (channel, id),
                user,
                emoji,
                date,
            )
        })
    }

    fn channel_reactions(&self, channel: i64, ids: &[i32]) -> Result<Vec<Reactions>, StoreError> {
        self.read(|c| read(c, "channel_reactions", "channel", channel, ids))
    }
}
