//! Scheduled messages in SQLite: see [`server_kit_store::scheduled`].

use crate::{SqliteStore, db, via};
use rusqlite::{Connection, OptionalExtension, params};
use server_kit_store::rows::{self, SCHEDULED_COLUMNS, join_ids};
use server_kit_store::scheduled::{NewScheduled, ScheduledMessage, ScheduledStore};
use server_kit_store::{DialogPeer, MediaRef, StoreError};

/// The SQLite tables of this module, created when the store opens: the messages, and each
/// author's last id handed out (so that ids are never reused).
pub(crate) const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS scheduled_messages(
    owner INTEGER NOT NULL, id INTEGER NOT NULL, peer_kind INTEGER NOT NULL,
    peer INTEGER NOT NULL, text TEXT NOT NULL, random_id INTEGER NOT NULL,
    date INTEGER NOT NULL, media_kind INTEGER NOT NULL, media_id INTEGER NOT NULL,
    reply_to INTEGER, claimed_until INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(owner, id), UNIQUE(owner, random_id));
CREATE INDEX IF NOT EXISTS scheduled_messages_due ON scheduled_messages(date);
CREATE TABLE IF NOT EXISTS scheduled_ids(owner INTEGER PRIMARY KEY, last_id INTEGER NOT NULL);
";

/// The owner's message with this random_id, if kept.
fn by_random_id(
    c: &Connection,
    owner: i64,
    random_id: i64,
) -> Result<Option<ScheduledMessage>, StoreError> {
    c.query_row(
        &format!(
            "SELECT {SCHEDULED_COLUMNS} FROM scheduled_messages WHERE owner = ?1 AND random_id = ?2"
        ),
        params![owner, random_id],
        |r| via(r, rows::scheduled_at),
    )
    .optional()
    .map_err(db)
}

/// `ids` as the JSON array `json_each` reads.
fn json_ids(ids: &[i32]) -> String {
    format!("[{}]", join_ids(ids))
}

/// Claims until `until` the rows a `WHERE` clause over `?1` (now) and the further
/// parameters picks, soonest first.
fn claim(
    c: &Connection,
    picked: &str,
    limit: usize,
    until: i32,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<ScheduledMessage>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let sql = format!(
        "UPDATE scheduled_messages SET claimed_until = {until}
         WHERE rowid IN (SELECT rowid FROM scheduled_messages
             WHERE claimed_until <= ?1 AND {picked} ORDER BY date, owner, id LIMIT {limit})
         RETURNING {SCHEDULED_COLUMNS}"
    );
    let mut stmt = c.prepare(&sql).map_err(db)?;
    let mut claimed = stmt
        .query_map(params, |r| via(r, rows::scheduled_at))
        .map_err(db)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(db)?;
    // RETURNING gives no order.
    claimed.sort_by_key(|m| (m.message.date, m.owner, m.id));
    Ok(claimed)
}

impl ScheduledStore for SqliteStore {
    fn schedule(&self, owner: i64, message: &NewScheduled) -> Result<ScheduledMessage, StoreError> {
        self.tx(|tx| {
            if let Some(kept) = by_random_id(tx, owner, message.random_id)? {
                return Ok(kept);
            }
            let id: i32 = tx
                .query_row(
                    "INSERT INTO scheduled_ids(owner, last_id) VALUES (?1, 1)
                     ON CONFLICT(owner) DO UPDATE SET last_id = last_id + 1
                     RETURNING last_id",
                    [owner],
                    |r| r.get(0),
                )
                .map_err(db)?;
            let (kind, peer) = message.peer.to_columns();
            let (media_kind, media_id) = MediaRef::to_columns(message.media);
            tx.execute(
                "INSERT INTO scheduled_messages(owner, id, peer_kind, peer, text, random_id, date,
                     media_kind, media_id, reply_to)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    owner,
                    id,
                    kind,
                    peer,
                    message.text,
                    message.random_id,
                    message.date,
                    media_kind,
                    media_id,
                    message.reply_to
                ],
            )
            .map_err(db)?;
            Ok(ScheduledMessage {
                owner,
                id,
                message: message.clone(),
            })
        })
    }

    fn scheduled(
        &self,
        owner: i64,
        peer: DialogPeer,
        ids: Option<&[i32]>,
    ) -> Result<Vec<ScheduledMessage>, StoreError> {
        let (kind, peer) = peer.to_columns();
        let wanted = ids.map(json_ids);
        self.with(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {SCHEDULED_COLUMNS} FROM scheduled_messages
                 WHERE owner = ?1 AND peer_kind = ?2 AND peer = ?3
                     AND (?4 IS NULL OR id IN (SELECT value FROM json_each(?4)))
                 ORDER BY date, id"
            ))?;
            let rows = stmt.query_map(params![owner, kind, peer, wanted], |r| {
                via(r, rows::scheduled_at)
            })?;
            rows.collect()
        })
    }

    fn delete_scheduled(
        &self,
        owner: i64,
        peer: DialogPeer,
        ids: &[i32],
    ) -> Result<Vec<i32>, StoreError> {
        let (kind, peer) = peer.to_columns();
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "DELETE FROM scheduled_messages
                 WHERE owner = ?1 AND peer_kind = ?2 AND peer = ?3
                     AND id IN (SELECT value FROM json_each(?4))
                 RETURNING id",
            )?;
            let mut deleted = stmt
                .query_map(params![owner, kind, peer, json_ids(ids)], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<i32>>>()?;
            deleted.sort_unstable();
            Ok(deleted)
        })
    }

    fn claim_due(
        &self,
        now: i32,
        until: i32,
        limit: usize,
    ) -> Result<Vec<ScheduledMessage>, StoreError> {
        self.tx(|tx| claim(tx, "date <= ?1", limit, until, &[&now]))
    }

    fn claim_scheduled(
        &self,
        owner: i64,
        peer: DialogPeer,
        ids: &[i32],
        now: i32,
        until: i32,
    ) -> Result<Vec<ScheduledMessage>, StoreError> {
        let (kind, peer) = peer.to_columns();
        let wanted = json_ids(ids);
        self.tx(|tx| {
            claim(
                tx,
                "owner = ?2 AND peer_kind = ?3 AND peer = ?4
                 AND id IN (SELECT value FROM json_each(?5))",
                ids.len(),
                until,
                &[&now, &owner, &kind, &peer, &wanted],
            )
        })
    }
}
