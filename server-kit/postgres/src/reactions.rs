//! Message reactions in PostgreSQL (migration 12): see [`server_kit_store::reactions`].
//!
//! One row per (message, user): `reactions` for the copies of private messages, by box and
//! id; `channel_reactions` for posts. The emoji is kept as its UTF-8 bytes (`bytea`, like
//! every user text here: see `SCHEMA_V2`). Triggers remove a message's reactions with the
//! message, so a deleted message leaves none behind.

use crate::{PgStore, R, Sql, col, text};
use ::postgres::GenericClient;
use server_kit_store::StoreError;
use server_kit_store::reactions::{Reacted, Reaction, ReactionStore, Reactions, group};

/// Migration 12: the reaction tables and the triggers that delete reactions with their
/// message.
pub(crate) const SCHEMA_V14: &str = "
CREATE TABLE reactions(
    owner BIGINT NOT NULL, id INTEGER NOT NULL, user_id BIGINT NOT NULL,
    emoji BYTEA NOT NULL, date INTEGER NOT NULL, PRIMARY KEY(owner, id, user_id));
CREATE TABLE channel_reactions(
    channel BIGINT NOT NULL, id INTEGER NOT NULL, user_id BIGINT NOT NULL,
    emoji BYTEA NOT NULL, date INTEGER NOT NULL, PRIMARY KEY(channel, id, user_id));
CREATE FUNCTION reactions_of_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM reactions WHERE owner = OLD.owner AND id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER reactions_of_deleted AFTER DELETE ON messages
    FOR EACH ROW EXECUTE FUNCTION reactions_of_deleted();
CREATE FUNCTION channel_reactions_of_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM channel_reactions WHERE channel = OLD.channel AND id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER channel_reactions_of_deleted AFTER DELETE ON channel_messages
    FOR EACH ROW EXECUTE FUNCTION channel_reactions_of_deleted();
";

/// Sets or removes `user`'s reaction in `table` (`scope` naming its box or channel column);
/// whether anything changed.
fn set<C: GenericClient>(
    c: &mut Sql<'_, C>,
    table: &str,
    scope: &str,
    (at, id): (i64, i32),
    user: i64,
    emoji: Option<&str>,
    date: i32,
) -> R<bool> {
    let changed = match emoji {
        Some(emoji) => c.execute(
            &format!(
                "INSERT INTO {table}({scope}, id, user_id, emoji, date) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT({scope}, id, user_id) DO UPDATE
                 SET emoji = excluded.emoji, date = excluded.date
                 WHERE {table}.emoji <> excluded.emoji"
            ),
            &[&at, &id, &user, &emoji.as_bytes(), &date],
        )?,
        None => c.execute(
            &format!("DELETE FROM {table} WHERE {scope} = $1 AND id = $2 AND user_id = $3"),
            &[&at, &id, &user],
        )?,
    };
    Ok(changed > 0)
}

/// The reactions in `table` to messages `ids` of one box or channel.
fn read<C: GenericClient>(
    c: &mut Sql<'_, C>,
    table: &str,
    scope: &str,
    at: i64,
    ids: &[i32],
) -> R<Vec<Reactions>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = c
        .query(
            &format!(
                "SELECT id, user_id, emoji, date FROM {table} WHERE {scope} = $1 AND id = ANY($2)"
            ),
            &[&at, &ids],
        )?
        .iter()
        .map(|r| {
            Ok((
                col::<i32>(r, 0)?,
                Reaction {
                    user_id: col(r, 1)?,
                    emoji: text(r, 2)?,
                    date: col(r, 3)?,
                },
            ))
        })
        .collect::<R<Vec<_>>>()?;
    Ok(group(rows))
}

impl ReactionStore for PgStore {
    fn react(
        &self,
        owner: i64,
        peer: i64,
        id: i32,
        emoji: Option<&str>,
        date: i32,
    ) -> Result<Reacted, StoreError> {
        self.tx(|tx| {
            // The message, and its copy in the peer's box if that is still there.
            let found = tx.query_opt(
                "SELECT c.id FROM messages m LEFT JOIN messages c
                     ON m.peer <> m.owner AND c.owner = m.peer AND c.id = m.copy_id
                     AND c.peer = m.owner
                 WHERE m.owner = $1 AND m.id = $2 AND m.peer = $3",
                &[&owner, &id, &peer],
            )?;
            let Some(row) = found else {
                return Err(StoreError::NotFound { what: "message" }.into());
            };
            let copy: Option<i32> = col(&row, 0)?;
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
            let found = tx.query_opt(
                "SELECT 1 FROM channel_messages WHERE channel = $1 AND id = $2",
                &[&channel, &id],
            )?;
            if found.is_none() {
                return Err(StoreError::NotFound { what: "post" }.into());
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
